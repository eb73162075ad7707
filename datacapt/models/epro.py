"""What subjects reach by link: questionnaire occurrences, the one-time links to them and the
short sessions a link is exchanged for.

A link's token and a session's cookie are stored only as their SHA-256 (hex): the database
alone opens nothing. Every row carries its tenant, study and subject, so a lookup by hash
already names the only subject it may reach.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class OccurrenceStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    STARTED = "started"
    COMPLETED = "completed"
    MISSED = "missed"


class EproOccurrence(Base):
    """One questionnaire a subject is to fill once, within its window: the form ``form`` of
    visit (``visit``, ``visit_repeat``) of their casebook."""

    __tablename__ = "epro_occurrence"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_epro_occurrence_subject_id_opens_at", "subject_id", "opens_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column(index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    visit: Mapped[str] = mapped_column(String(100))
    visit_repeat: Mapped[int] = mapped_column(default=1)
    form: Mapped[str] = mapped_column(String(100))
    status: Mapped[OccurrenceStatus] = mapped_column(
        string_enum(OccurrenceStatus, "epro_occurrence_status", 20),
        default=OccurrenceStatus.SCHEDULED,
    )
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Where mailed links point (the address staff scheduled it from); None: never mailed by
    #: the worker, only handed.
    application_url: Mapped[str | None] = mapped_column(String(300))
    #: Links mailed so far (the first when the window opens, then reminders) and the last time.
    mails_sent: Mapped[int] = mapped_column(default=0, server_default="0")
    last_mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A staff member who entered the answers on the subject's behalf (a phone interview, a
    #: paper transcription), and why; None: the subject answered themself.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    entry_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class SubjectLink(Base):
    """A one-time link handed to a subject: used once (its Start), or expired, it opens
    nothing."""

    __tablename__ = "subject_link"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("epro_occurrence.id"))
    #: Where the Start leads in the subject's area (``messages/12/``) when not to a
    #: questionnaire; None: the area's home page.
    landing: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class SubjectSession(Base):
    """The short session a link's Start (or a subject account's sign-in) opens: it reaches
    that subject's questionnaires only."""

    __tablename__ = "subject_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    #: The link whose Start opened it; None: a sign-in with a subject account.
    link_id: Mapped[int | None] = mapped_column(ForeignKey("subject_link.id"))
    #: How the subject proved who they are: ``link`` or ``account``.
    method: Mapped[str] = mapped_column(String(20), default="link", server_default="link")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SubjectAccount(Base):
    """A subject's own sign-in for a long study: a login that names nobody (shown once), a
    password (argon2) and, optionally, an authenticator (TOTP secret sealed like personal
    data, bound to the subject)."""

    __tablename__ = "subject_account"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    login: Mapped[str] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_key_id: Mapped[str | None] = mapped_column(String(40))
    totp_nonce: Mapped[bytes | None] = mapped_column(LargeBinary(12))
    totp_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary(100))
    #: None while an authenticator waits for its first code (or none is set).
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
