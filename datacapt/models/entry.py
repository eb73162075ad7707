"""What sites enter: visit instances, form instances (each also the status row dashboards read),
values item by item, and the warnings kept for monitoring.

Values are keyed by the item's OID, which never changes across versions of the design; each
value carries its canonical text, a typed copy (number or date) for queries and exports, a
missing-data code in its own column, and the audit event that set it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class FormStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    REMOVED = "removed"  # a log row taken out, with a reason (never deleted)


class SdvStatus(enum.StrEnum):
    """Source data verification of a form, from its items' verification marks."""

    NOT_REQUIRED = "not_required"
    AWAITING = "awaiting"
    VERIFIED = "verified"
    CHANGED = "changed"  # a verified value changed since: to verify again


class ReviewStatus(enum.StrEnum):
    """The data manager's / medical review stamp, separate from SDV."""

    AWAITING = "awaiting"
    REVIEWED = "reviewed"
    CHANGED = "changed"


class LockState(enum.StrEnum):
    OPEN = "open"
    FROZEN = "frozen"  # no entry; queries still possible
    LOCKED = "locked"  # no entry, no queries


class SignatureState(enum.StrEnum):
    UNSIGNED = "unsigned"
    SIGNED = "signed"
    BROKEN = "broken"  # a signature covering it was invalidated


class VisitInstance(Base):
    __tablename__ = "visit_instance"
    __table_args__ = (
        UniqueConstraint("subject_id", "visit", "repeat"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column(index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    visit: Mapped[str] = mapped_column(String(100))  # the design's visit name, or "unscheduled"
    repeat: Mapped[int] = mapped_column(default=1)
    #: The day the visit took place (a calendar day where it took place), once recorded.
    visit_date: Mapped[date | None] = mapped_column(Date)
    #: Frozen or locked as a whole: what is added to it later (a log row, a form entered for
    #: the first time) takes no entry either. Open again as soon as a form of it is unlocked.
    lock_state: Mapped[LockState] = mapped_column(
        string_enum(LockState, "visit_lock_state", 20),
        default=LockState.OPEN,
        server_default=LockState.OPEN.value,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class FormInstance(Base):
    """One form of one visit of one subject; its columns are also the status dashboards read."""

    __tablename__ = "form_instance"
    __table_args__ = (
        UniqueConstraint("visit_instance_id", "form", "repeat"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_form_instance_study_id_subject_id", "study_id", "subject_id"),
        Index("ix_form_instance_study_id_site_id_status", "study_id", "site_id", "status"),
        Index("ix_form_instance_site_id_sdv_status", "site_id", "sdv_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    site_id: Mapped[int] = mapped_column()
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    visit_instance_id: Mapped[int] = mapped_column(ForeignKey("visit_instance.id"))
    visit: Mapped[str] = mapped_column(String(100))
    visit_repeat: Mapped[int] = mapped_column(default=1)
    form: Mapped[str] = mapped_column(String(100))
    repeat: Mapped[int] = mapped_column(default=1)
    status: Mapped[FormStatus] = mapped_column(string_enum(FormStatus, "form_status", 20))
    #: The study version the form was last saved with.
    version_number: Mapped[int] = mapped_column()
    #: Queries not closed (what keeps a form from being locked), and among them those answered
    #: (waiting for the monitor): pages show ``open_queries - answered_queries`` as open, so an
    #: answered query is never called open.
    open_queries: Mapped[int] = mapped_column(default=0, server_default="0")
    answered_queries: Mapped[int] = mapped_column(default=0, server_default="0")
    open_warnings: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Raised by every save; a save naming an older value is refused (409), never merged.
    lock_version: Mapped[int] = mapped_column(default=1)
    status_reason: Mapped[str | None] = mapped_column(Text)
    #: Monitoring state, kept here so dashboards and the ACL read it without another query.
    sdv_status: Mapped[SdvStatus] = mapped_column(
        string_enum(SdvStatus, "sdv_status", 20),
        default=SdvStatus.NOT_REQUIRED,
        server_default=SdvStatus.NOT_REQUIRED.value,
    )
    review_status: Mapped[ReviewStatus] = mapped_column(
        string_enum(ReviewStatus, "review_status", 20),
        default=ReviewStatus.AWAITING,
        server_default=ReviewStatus.AWAITING.value,
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    lock_state: Mapped[LockState] = mapped_column(
        string_enum(LockState, "lock_state", 20),
        default=LockState.OPEN,
        server_default=LockState.OPEN.value,
    )
    signature_state: Mapped[SignatureState] = mapped_column(
        string_enum(SignatureState, "signature_state", 20),
        default=SignatureState.UNSIGNED,
        server_default=SignatureState.UNSIGNED.value,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    __mapper_args__ = {"version_id_col": lock_version}


class ItemValue(Base):
    """One item's value. A personal-data item's value is only sealed (``sealed_*``, bound to the
    subject, form instance and item) with a keyed fingerprint; its ``value`` and typed copies
    stay NULL (see :mod:`datacapt.personal_values`)."""

    __tablename__ = "item_value"
    __table_args__ = (
        UniqueConstraint("form_instance_id", "item_oid"),
        Index(
            "ix_item_value_value_fingerprint",
            "value_fingerprint",
            postgresql_where=text("value_fingerprint IS NOT NULL"),
            sqlite_where=text("value_fingerprint IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    form_instance_id: Mapped[int] = mapped_column(ForeignKey("form_instance.id"))
    item_oid: Mapped[str] = mapped_column(String(120))
    value: Mapped[str | None] = mapped_column(Text)  # canonical text; None when blank
    value_number: Mapped[Decimal | None] = mapped_column(Numeric(38, 10))
    value_date: Mapped[date | None] = mapped_column(Date)
    missing_code: Mapped[str | None] = mapped_column(String(10))
    sealed_key_id: Mapped[str | None] = mapped_column(String(40))
    sealed_nonce: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    sealed_value: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: HMAC-SHA-256 of a personal-data value (hex): equality without opening it.
    value_fingerprint: Mapped[str | None] = mapped_column(String(64))
    audit_event_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: Whether the design (of the version the form was saved with) asks to verify this item.
    sdv_required: Mapped[bool] = mapped_column(default=True, server_default=true())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: The value changed after it was verified ("changed since verified").
    sdv_changed: Mapped[bool] = mapped_column(default=False, server_default=false())


class WarningKind(enum.StrEnum):
    SOFT_RANGE = "soft_range"
    EDIT_CHECK = "edit_check"


class EntryWarning(Base):
    """A warning raised on save (soft range, warning edit check), kept until the data no longer
    raises it. Monitoring turns open ones into queries."""

    __tablename__ = "entry_warning"
    __table_args__ = (
        Index("ix_entry_warning_form_instance_id_open", "form_instance_id", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    form_instance_id: Mapped[int] = mapped_column(ForeignKey("form_instance.id"))
    item_oid: Mapped[str] = mapped_column(String(120))
    kind: Mapped[WarningKind] = mapped_column(string_enum(WarningKind, "warning_kind", 20))
    check_oid: Mapped[str | None] = mapped_column(String(120))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
