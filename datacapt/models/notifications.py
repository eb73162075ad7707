"""Staff notifications and each person's choice of how to receive them.

A notification stores a *kind* and the few parameters its sentence needs (subject ID, visit and
form names, a query or export number), never a rendered sentence: it is worded in the reader's
language when shown, and holds no personal data.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class NotificationKind(enum.StrEnum):
    QUERY_RAISED = "query_raised"
    QUERY_ANSWERED = "query_answered"
    FORM_TO_VERIFY = "form_to_verify"
    FORM_TO_LOCK = "form_to_lock"
    FORM_TO_SIGN = "form_to_sign"
    EXPORT_READY = "export_ready"
    MESSAGE_POSTED = "message_posted"


class Notification(Base):
    """One thing one person is told of, in one study (and at one site, when it is a site's)."""

    __tablename__ = "notification"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_notification_user_id_read_at", "user_id", "read_at"),
        Index("ix_notification_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    #: None: about the study as a whole (an export), seen by anyone with a role in it.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[NotificationKind] = mapped_column(
        string_enum(NotificationKind, "notification_kind")
    )
    #: What the sentence names: ``subject``, ``visit``, ``form``, ``query``, ``export``, ``study``.
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The path of what it is about, below the application's URL (``/acme/demo/queries/3/``).
    path: Mapped[str] = mapped_column(String(500))
    #: The form instance it is about, so a form still unread is not told twice.
    form_instance_id: Mapped[int | None] = mapped_column(ForeignKey("form_instance.id"))
    #: How the person chose to hear of this kind when it was made: in the app, in the digest.
    in_app: Mapped[bool] = mapped_column(Boolean)
    by_mail: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When a daily digest counted it (None: not yet, or never for ``by_mail`` False).
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationChoice(Base):
    """A person's choice for one kind; without a row, in the app and not by mail."""

    __tablename__ = "notification_choice"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(
        string_enum(NotificationKind, "notification_choice_kind"), primary_key=True
    )
    in_app: Mapped[bool] = mapped_column(Boolean)
    by_mail: Mapped[bool] = mapped_column(Boolean)
