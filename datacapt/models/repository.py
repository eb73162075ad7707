"""The subject repository: persons (identity and contacts) kept apart from the pseudonymous
trial data, each sealed under a data key of their own, wrapped by the tenant's key-encryption
key; the log of every read of their personal data; their rights requests; retention.

No export reads these tables (a test walks the exports' imports and their SQL).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class RepositoryKek(Base):
    """One generation of a tenant's key-encryption key. The key itself never touches the
    database: the key service derives it from a master key (named here) and the generation."""

    __tablename__ = "repository_kek"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    master_key_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Person(Base):
    """A person of the repository: their identity, sealed under their own data key; searchable
    through keyed blind indexes only. ``shredded_at`` set: the data key is gone for good."""

    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reference"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        Index("ix_person_tenant_id_name_index", "tenant_id", "name_index"),
        Index("ix_person_tenant_id_last_name_index", "tenant_id", "last_name_index"),
        Index("ix_person_tenant_id_email_index", "tenant_id", "email_index"),
        Index("ix_person_tenant_id_name_birth_index", "tenant_id", "name_birth_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    #: The site that registered the person: its staff (and the study's) keep them.
    study_id: Mapped[int] = mapped_column()
    site_id: Mapped[int] = mapped_column()
    #: A random reference that says nothing about the person (shown without PII permission).
    reference: Mapped[str] = mapped_column(String(20))
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    name_index: Mapped[str | None] = mapped_column(String(64))
    last_name_index: Mapped[str | None] = mapped_column(String(64))
    email_index: Mapped[str | None] = mapped_column(String(64))
    #: Full name and birth date together (empty without a birth date): finds a person again.
    name_birth_index: Mapped[str | None] = mapped_column(String(64))
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    legal_hold_reason: Mapped[str | None] = mapped_column(Text)
    #: The person agreed to be contacted about future studies (campaigns mail only them).
    contact_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PersonKey(Base):
    """A person's data key, wrapped (AES-GCM) by one generation of the tenant's KEK. Deleting
    this row is crypto-shredding."""

    __tablename__ = "person_key"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "kek_generation"],
            ["repository_kek.tenant_id", "repository_kek.generation"],
        ),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    kek_generation: Mapped[int] = mapped_column(Integer)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(16))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class SubjectKey(Base):
    """A study subject's data key for their personal data kept beside the trial data (their
    contact and bank details), wrapped by one generation of the tenant's KEK like a person's.
    Deleting this row is crypto-shredding those details; the trial data is under no such key."""

    __tablename__ = "subject_key"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "kek_generation"],
            ["repository_kek.tenant_id", "repository_kek.generation"],
        ),
    )

    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    kek_generation: Mapped[int] = mapped_column(Integer)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(16))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class PersonLink(Base):
    """Platform ID → study subject ID: the only bridge between the two stores."""

    __tablename__ = "person_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class PiiAccess(Base):
    """One read of personal data: who, which person, which fields, why."""

    __tablename__ = "pii_access"
    __table_args__ = (Index("ix_pii_access_tenant_id_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    #: Who, when no user acted (a job, the command line).
    actor: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    #: A study subject whose sealed contact details were read (no person of the repository).
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    fields: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class ErasureState(enum.StrEnum):
    PENDING = "pending"
    ERASED = "erased"
    REFUSED = "refused"


class ErasureRequest(Base):
    __tablename__ = "erasure_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    state: Mapped[ErasureState] = mapped_column(
        string_enum(ErasureState, "erasure_state", 20), default=ErasureState.PENDING
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: Whether the person had study subjects when the DPO decided (kept: Art. 17(3) GDPR).
    enrolled: Mapped[bool | None] = mapped_column(Boolean)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)


class BundleState(enum.StrEnum):
    QUEUED = "queued"
    READY = "ready"
    RELEASED = "released"
    FAILED = "failed"


class AccessBundle(Base):
    """An Art. 15 access bundle (JSON + PDF), sealed under the person's data key."""

    __tablename__ = "access_bundle"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    state: Mapped[BundleState] = mapped_column(
        string_enum(BundleState, "bundle_state", 20), default=BundleState.QUEUED
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    json_nonce: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    json_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    pdf_nonce: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    pdf_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)


class RetentionPolicy(Base):
    __tablename__ = "retention_policy"
    __table_args__ = (UniqueConstraint("tenant_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))
    category: Mapped[str] = mapped_column(String(40))
    days: Mapped[int] = mapped_column(Integer)


class RetentionRun(Base):
    """What one retention run did (or would have done, dry): counts per category, no PII."""

    __tablename__ = "retention_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"), index=True)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(200))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    results: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON)
