"""eConsent: consent documents in versions, and each subject's consent record.

A version's content (per language: its sections of sanitised HTML and its comprehension
questions) is frozen once it goes live: a trigger refuses any change to a live version but its
move to ``superseded`` (written in the migration, for PostgreSQL and SQLite alike).

A record is one subject's consent to one version: its identity check, the subject's signature
(printed name, UTC and local time, meaning, SHA-256 of the document as rendered), the optional
legally authorised representative and impartial witness, the investigator's countersignature,
and the final PDF with its SHA-256. Records are never deleted.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class IdentityMethod(enum.StrEnum):
    IN_PERSON = "in_person"
    REMOTE = "remote"


class VersionState(enum.StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    SUPERSEDED = "superseded"


class ConsentStatus(enum.StrEnum):
    NEEDS_SIGNATURE = "needs_signature"
    NEEDS_COUNTERSIGNATURE = "needs_countersignature"
    SIGNED = "signed"
    REJECTED = "rejected"


class ConsentSettings(Base):
    """A study's consent settings: how subjects' identity is checked, and whether data entry
    waits for a re-consent."""

    __tablename__ = "consent_settings"

    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    identity_method: Mapped[IdentityMethod] = mapped_column(
        string_enum(IdentityMethod, "consent_identity_method", 20),
        default=IdentityMethod.IN_PERSON,
    )
    block_entry: Mapped[bool] = mapped_column(Boolean, default=False)


class ConsentDocument(Base):
    __tablename__ = "consent_document"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class ConsentVersion(Base):
    __tablename__ = "consent_version"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        UniqueConstraint("document_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column(index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("consent_document.id"))
    number: Mapped[str] = mapped_column(String(20))
    state: Mapped[VersionState] = mapped_column(
        string_enum(VersionState, "consent_version_state", 20), default=VersionState.DRAFT
    )
    version_date: Mapped[date] = mapped_column(Date)
    ethics_approved_on: Mapped[date | None] = mapped_column(Date)
    #: The sites it applies to (None: every site of the study).
    site_ids: Mapped[list[int] | None] = mapped_column(JSON)
    #: language → {"title", "sections": [{"title", "html"}], "questions": [{"question",
    #: "choices", "answer", "explanation"}]}
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class ConsentRecord(Base):
    __tablename__ = "consent_record"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_consent_record_study_id_site_id", "study_id", "site_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("consent_version.id"))
    language: Mapped[str] = mapped_column(String(10))
    status: Mapped[ConsentStatus] = mapped_column(
        string_enum(ConsentStatus, "consent_status", 30), default=ConsentStatus.NEEDS_SIGNATURE
    )
    identity_method: Mapped[IdentityMethod] = mapped_column(
        string_enum(IdentityMethod, "consent_record_identity_method", 20)
    )
    #: In person: the staff member who confirmed the subject's identity, and when.
    identity_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    identity_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Remote: the subject session that passed the code and date-of-birth check (only it signs).
    identity_session_id: Mapped[int | None] = mapped_column(ForeignKey("subject_session.id"))
    #: Remote: the date of birth on file, sealed (AES-256-GCM, bound to the record).
    birth_key_id: Mapped[str | None] = mapped_column(String(40))
    birth_nonce: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    birth_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    #: The subject's way through: sections read, questions passed, the hash reviewed.
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    document_hash: Mapped[str | None] = mapped_column(String(64))
    document_html: Mapped[str | None] = mapped_column(Text)
    signer_name: Mapped[str | None] = mapped_column(String(200))
    meaning: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_local: Mapped[str | None] = mapped_column(String(40))  # ISO 8601 with offset
    signed_timezone: Mapped[str | None] = mapped_column(String(60))
    representative_name: Mapped[str | None] = mapped_column(String(200))
    representative_relation: Mapped[str | None] = mapped_column(String(100))
    witness_name: Mapped[str | None] = mapped_column(String(200))
    countersigner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    countersigner_name: Mapped[str | None] = mapped_column(String(200))
    countersign_meaning: Mapped[str | None] = mapped_column(String(200))
    countersigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    pdf_hash: Mapped[str | None] = mapped_column(String(64))
    requires_reconsent: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    withdrawal_scope: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
