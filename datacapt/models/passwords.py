"""Password reset: the links sent by mail, and the requests for them (kept for throttling)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime


class PasswordResetToken(Base):
    """One reset link. Only the SHA-256 of its random token is stored: a copy of the table
    cannot be turned into working links."""

    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordResetRequest(Base):
    """One request for a reset link, known account or not, kept a day for throttling. The
    address is stored as a keyed hash (as for sign-in attempts), never as typed."""

    __tablename__ = "password_reset_request"
    __table_args__ = (
        Index("ix_password_reset_request_account_key_at", "account_key", "at"),
        Index("ix_password_reset_request_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    account_key: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(45))
