"""Electronic signatures (21 CFR Part 11 §11.50/§11.70): who signed what, meaning what, when.

A signature is never deleted: when the content it covers changes it is marked broken, with the
time and the audit event that recorded why. The forms it covers are listed, so a change to any
of them finds the signatures to break in one query.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class SignatureScope(enum.StrEnum):
    FORM = "form"
    VISIT = "visit"
    CASEBOOK = "casebook"


class Signature(Base):
    __tablename__ = "signature"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_signature_subject_id", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    site_id: Mapped[int] = mapped_column()
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    scope: Mapped[SignatureScope] = mapped_column(
        string_enum(SignatureScope, "signature_scope", 20)
    )
    visit_instance_id: Mapped[int | None] = mapped_column(ForeignKey("visit_instance.id"))
    form_instance_id: Mapped[int | None] = mapped_column(ForeignKey("form_instance.id"))
    signer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    #: The signer's printed name at the time of signing (§11.50), kept even if the account changes.
    signer_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(Text)
    #: SHA-256 of the canonical serialisation of the signed content.
    content_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    audit_event_id: Mapped[int] = mapped_column(BigInteger)
    broken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    broken_event_id: Mapped[int | None] = mapped_column(BigInteger)


class SignedForm(Base):
    """A form instance a signature covers."""

    __tablename__ = "signed_form"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"))
    signature_id: Mapped[int] = mapped_column(ForeignKey("signature.id"), primary_key=True)
    form_instance_id: Mapped[int] = mapped_column(
        ForeignKey("form_instance.id"), primary_key=True, index=True
    )
