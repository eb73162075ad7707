"""Paying volunteers: a study's compensation plan, subjects' bank details (sealed), payment
orders and their lines, and the append-only ledger of every amount credited or paid.

Amounts are integer minor units (cents) of one ISO 4217 currency per plan and per order. A
subject's bank details are stored only as AES-GCM ciphertext under the subject's own data key
(see :mod:`datacapt.payments.bank`), with a masked hint (country, check digits, last four
characters) that lists may show without opening them."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class PaymentPlan(Base):
    """What a study pays its volunteers, and the account it pays from (the debtor)."""

    __tablename__ = "payment_plan"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    study_id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    #: Paid once when the subject completes the study (None: nothing).
    completion_cents: Mapped[int | None] = mapped_column(BigInteger)
    debtor_name: Mapped[str] = mapped_column(String(70), default="", server_default="")
    debtor_iban: Mapped[str] = mapped_column(String(34), default="", server_default="")
    debtor_bic: Mapped[str] = mapped_column(String(11), default="", server_default="")
    #: The remittance text the volunteers' banks show (never clinical data).
    reference: Mapped[str] = mapped_column(String(100), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class PaymentPlanVisit(Base):
    """The amount paid for one completed visit of the study's schedule."""

    __tablename__ = "payment_plan_visit"

    study_id: Mapped[int] = mapped_column(ForeignKey("payment_plan.study_id"), primary_key=True)
    visit: Mapped[str] = mapped_column(String(100), primary_key=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)


class SubjectBankAccount(Base):
    """A subject's IBAN and account holder, sealed (AES-GCM) under the subject's own data key
    (:class:`SubjectKey`), as their contact details are.

    ``key_id`` names a tenant-wide key of ``datacapt.encryption_keys`` only on a row sealed
    before subjects had data keys, until ``datacapt db upgrade`` (``keys rekey``) re-seals it;
    NULL: under the subject's data key.
    """

    __tablename__ = "subject_bank_account"

    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    key_id: Mapped[str | None] = mapped_column(String(40))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(16))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    #: ``FR76 •••• •••• 1234``: what may be shown without opening the details.
    masked: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class OrderState(enum.StrEnum):
    DRAFT = "draft"
    VALIDATED = "validated"
    EXPORTED = "exported"
    PAID = "paid"


class PaymentOrder(Base):
    __tablename__ = "payment_order"
    __table_args__ = (
        UniqueConstraint("study_id", "number"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    number: Mapped[int] = mapped_column()
    state: Mapped[OrderState] = mapped_column(
        string_enum(OrderState, "payment_order_state", 20), default=OrderState.DRAFT
    )
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_on: Mapped[date | None] = mapped_column(Date)


class PaymentLine(Base):
    """One amount earned by one subject: a completed visit (``visit:<name>:<repeat>``) or the
    study's completion (``completion``). An earning is in one order at most, ever."""

    __tablename__ = "payment_line"
    __table_args__ = (UniqueConstraint("study_id", "subject_id", "earning"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_order.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    earning: Mapped[str] = mapped_column(String(120))
    #: What the plan said when the order was made, and what will be paid.
    planned_cents: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)


class LedgerKind(enum.StrEnum):
    CREDITED = "credited"  # owed to the subject: the order was validated
    PAID = "paid"  # paid out: the order was marked paid


class PaymentLedgerEntry(Base):
    """Append-only: database triggers refuse UPDATE and DELETE."""

    __tablename__ = "payment_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column(index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_order.id"))
    line_id: Mapped[int] = mapped_column(ForeignKey("payment_line.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    kind: Mapped[LedgerKind] = mapped_column(string_enum(LedgerKind, "payment_ledger_kind", 20))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
