"""The audit trail: one append-only table of events, each in a SHA-256 hash chain of its own
scope (a subject's casebook, a study, a tenant, the platform), and the checkpoints that hash
every chain's head so that a whole chain deleted or cut short is noticed.

Database triggers refuse UPDATE and DELETE on all three tables (see the migrations);
:mod:`datacapt.audit` writes the rows and verifies them. Scope columns hold plain ids without
foreign keys: the trail must outlive whatever it speaks of.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_audit_event_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        Index("ix_audit_event_entity", "entity_type", "entity_id"),
        # A study's or a tenant's trail, newest first, by keyset on the id.
        Index("ix_audit_event_study_id_id", "study_id", "id"),
        Index("ix_audit_event_tenant_id_id", "tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    #: ``subject:<id>``, ``study:<id>``, ``tenant:<id>`` or ``platform``; before December 2026
    #: one chain per tenant, named by the tenant's id alone (``0`` for the platform): closed.
    chain: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column()  # 1, 2, 3 ... within the chain
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)  # from the database clock
    tenant_id: Mapped[int | None] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column()
    study_id: Mapped[int | None] = mapped_column()
    site_id: Mapped[int | None] = mapped_column()
    subject_id: Mapped[int | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    field: Mapped[str | None] = mapped_column(String(120))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(36))
    ip: Mapped[str | None] = mapped_column(String(45))
    #: The person a job or another person acted for (a scheduled export: its owner).
    on_behalf_of_id: Mapped[int | None] = mapped_column()
    #: The subject who acted themself (a questionnaire filled through their link): the
    #: originator of what they entered. No person's account acts then (``actor_id`` NULL).
    by_subject_id: Mapped[int | None] = mapped_column()
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A hashed record of every chain's head, itself chained to the checkpoint before it."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)  # 1, 2, 3 ...
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # from the database clock
    chains: Mapped[int] = mapped_column()  # how many chains the root covers
    events: Mapped[int] = mapped_column(BigInteger)  # the sum of their lengths
    root: Mapped[str] = mapped_column(String(64))  # Merkle root over every chain's head
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpointHead(Base):
    """A chain's head as a checkpoint saw it; only the heads that moved since the last one."""

    __tablename__ = "audit_checkpoint_head"

    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("audit_checkpoint.id"), primary_key=True)
    chain: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    tenant_id: Mapped[int | None] = mapped_column()
    seq: Mapped[int] = mapped_column()
    hash: Mapped[str] = mapped_column(String(64))
