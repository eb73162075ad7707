"""People and what they may do: users, tenant roles, study roles and their site restrictions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum
from datacapt.permissions import StudyRole, TenantRole


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_system_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set when a TOTP authenticator is confirmed; kept on the user row because every sign-in
    #: and every signature asks, and it must cost no query.
    two_factor_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class TenantRoleAssignment(Base):
    __tablename__ = "tenant_role"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[TenantRole] = mapped_column(string_enum(TenantRole, "tenant_role_name"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class StudyRoleAssignment(Base):
    """A user's role in a study; with site rows it only applies at those sites."""

    __tablename__ = "study_role"
    __table_args__ = (
        UniqueConstraint("study_id", "user_id", "role"),
        UniqueConstraint("study_id", "id"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[StudyRole] = mapped_column(string_enum(StudyRole, "study_role_name"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())

    sites: Mapped[list[StudyRoleSite]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="StudyRoleSite.site_id"
    )


class StudyRoleSite(Base):
    __tablename__ = "study_role_site"
    __table_args__ = (
        ForeignKeyConstraint(
            ["study_id", "study_role_id"],
            ["study_role.study_id", "study_role.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    study_role_id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()


class LoginAttempt(Base):
    """One sign-in attempt, kept for throttling. The account is stored as a keyed hash, not
    the address typed, so the table holds no e-mail addresses."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_account_key_at", "account_key", "at"),
        Index("ix_login_attempt_bucket_ip_at", "bucket", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: What the attempt was for (:class:`datacapt.accounts.services.Bucket`): each purpose
    #: slows an address down on its own count.
    bucket: Mapped[str] = mapped_column(String(20), server_default="sign-in")
    account_key: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(45))
    succeeded: Mapped[bool] = mapped_column(Boolean)


class TotpSecret(Base):
    """A user's TOTP secret, sealed with AES-GCM like personal data (the user id is bound as
    associated data). ``confirmed_at`` is empty while enrolment waits for a first code."""

    __tablename__ = "totp_secret"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The last time step whose code was accepted: a code is never accepted twice.
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(Base):
    """A single-use recovery code, stored as a keyed hash; shown once, when generated."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """A signed-in session, kept on the server so it can be listed and ended.

    The browser's cookie carries a random token; only its SHA-256 is stored, so a copy of the
    table opens no session. A session ends by sign-out, by its owner, by a password change, or
    by the idle and absolute timeouts (checked on every request).
    """

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_user_id_ended_at", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    #: A keyed digest of the password hash the session was opened (or last confirmed) with:
    #: whatever path changes a password, the sessions opened with the old one stop working.
    password_stamp: Mapped[str] = mapped_column(String(32))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(30))


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"  # never stored: a pending invitation past ``expires_at``


class Invitation(Base):
    """An invitation to join a study with a role (and optional site restriction).

    The address is kept here, because the mail must reach it, and never in the audit trail.
    The link's token is made by the job that sends the mail and only its SHA-256 is stored;
    sending again makes a new token, so older links stop working.
    """

    __tablename__ = "invitation"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_invitation_study_id_status", "study_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[StudyRole] = mapped_column(string_enum(StudyRole, "invitation_role_name"))
    #: The sites the role is restricted to; None: every site of the study.
    site_ids: Mapped[list[int] | None] = mapped_column(JSON)
    locale: Mapped[str] = mapped_column(String(10))
    status: Mapped[InvitationStatus] = mapped_column(
        string_enum(InvitationStatus, "invitation_status", 20)
    )
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    send_count: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    def status_at(self, now: datetime) -> InvitationStatus:
        if self.status is InvitationStatus.PENDING and now >= self.expires_at:
            return InvitationStatus.EXPIRED
        return self.status
