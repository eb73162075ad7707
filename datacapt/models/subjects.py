"""Subjects enrolled in a study at one of its sites."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.entry import LockState
from datacapt.models.types import UTCDateTime, string_enum


class SubjectStatus(enum.StrEnum):
    SCREENING = "screening"
    INCLUDED = "included"
    SCREEN_FAILURE = "screen_failure"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class Subject(Base):
    __tablename__ = "subject"
    __table_args__ = (
        UniqueConstraint("study_id", "label"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        Index("ix_subject_study_id_site_id", "study_id", "site_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    study_id: Mapped[int] = mapped_column()
    site_id: Mapped[int] = mapped_column()
    label: Mapped[str] = mapped_column(String(40))
    status: Mapped[SubjectStatus] = mapped_column(
        string_enum(SubjectStatus, "subject_status", length=20),
        default=SubjectStatus.SCREENING,
    )
    #: Why and when the status last changed (withdrawal, screen failure ...).
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_date: Mapped[date | None] = mapped_column(Date)
    #: Day 0 of the visit schedule, set when the subject is included.
    included_on: Mapped[date | None] = mapped_column(Date)
    #: Frozen or locked as a whole casebook: no visit or log row may be added, no form started.
    #: Open again as soon as a form of it is unlocked.
    lock_state: Mapped[LockState] = mapped_column(
        string_enum(LockState, "subject_lock_state", 20),
        default=LockState.OPEN,
        server_default=LockState.OPEN.value,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: Holds at least one valid (unbroken) signature of any scope: set by signing, recomputed
    #: when signatures break, so a save of a subject never signed asks no signature to break.
    signed: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Why eConsent holds data entry back, kept by eConsent under the subject's lock from its
    #: records so that a save asks no statement of a subject it does not hold: ``withdrawn``
    #: (consent to further data withdrawn), ``reconsent`` (a re-consent pending, which holds
    #: entry when the study's consent settings say so), NULL (nothing).
    consent_hold: Mapped[str | None] = mapped_column(String(20))

    def __repr__(self) -> str:
        return f"<Subject {self.label}>"


class SubjectContact(Base):
    """A subject's personal contact details (name, e-mail, phone), encrypted (AES-GCM) under
    the subject's own data key (:class:`SubjectKey`); every read is logged (see
    :mod:`datacapt.subjects.contacts`).

    ``key_id`` names a tenant-wide key of ``datacapt.encryption_keys`` only on a row sealed
    before subjects had data keys, until ``datacapt db upgrade`` (``keys rekey``) re-seals it;
    NULL: under the subject's data key.
    """

    __tablename__ = "subject_contact"

    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    key_id: Mapped[str | None] = mapped_column(String(40))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(16))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
