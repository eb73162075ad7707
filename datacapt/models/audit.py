"""The audit trail: one append-only table, a SHA-256 hash chain per tenant.

Database triggers refuse UPDATE and DELETE (see the migration); :mod:`datacapt.audit` writes the
rows and verifies the chains. Scope columns hold plain ids without foreign keys: the trail must
outlive whatever it speaks of.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_audit_event_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        Index("ix_audit_event_entity", "entity_type", "entity_id"),
        # A study's trail, newest first, by keyset: never a walk through the tenant's chain.
        Index("ix_audit_event_study_id_seq", "study_id", "seq"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chain: Mapped[int] = mapped_column()  # the tenant's id; 0 for platform events
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
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
