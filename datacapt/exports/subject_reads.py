"""What a subject's casebook shows beside its values: the forms' monitoring states, each value's
SDV mark, the queries with their threads, the signatures, and (when asked) each value's audit
trail. Read in a fixed number of queries per subject, whatever its number of forms or values."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.models import (
    AuditEvent,
    FormInstance,
    ItemValue,
    Query,
    QueryMessage,
    Signature,
    Site,
    Study,
    Subject,
    User,
)
from datacapt.models.entry import ReviewStatus, SdvStatus, SignatureState
from datacapt.models.queries import QueryState, QueryStep
from datacapt.models.review import SignatureScope

#: (visit, visit repeat, form, form repeat): how an exported record finds its form instance.
FormKey = tuple[str, int, str, int]
#: The audit action of a value entered, corrected or cleared (a save, a query's correction).
VALUE_CHANGED = "entry.value_changed"


@dataclass(frozen=True)
class FormState:
    id: int
    visit_instance_id: int
    version_number: int
    sdv_status: SdvStatus
    review_status: ReviewStatus
    signature_state: SignatureState


@dataclass(frozen=True)
class Verification:
    """A value's source data verification mark."""

    required: bool
    changed: bool  # changed since it was verified: to verify again
    verified_at: datetime | None
    verified_by: str | None


@dataclass(frozen=True)
class Message:
    step: QueryStep
    body: str
    author: str | None  # None: the system
    at: datetime
    wording: dict[str, Any] | None = None  # see QueryMessage.wording


@dataclass
class Thread:
    """A query and every step of it, in order."""

    number: int
    item_oid: str | None  # None: about the whole form
    state: QueryState
    messages: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class SignatureRecord:
    scope: SignatureScope
    visit_instance_id: int | None
    form_instance_id: int | None
    signer_name: str
    meaning: str
    signed_at: datetime
    broken_at: datetime | None

    @property
    def anchor(self) -> int | None:
        """What it signs in its scope: a form instance, a visit instance, or (None) the
        whole casebook."""
        return {
            SignatureScope.FORM: self.form_instance_id,
            SignatureScope.VISIT: self.visit_instance_id,
        }.get(self.scope)


@dataclass(frozen=True)
class Change:
    """One step of a value's audit trail; values as stored (``missing:CODE`` for a code)."""

    at: datetime
    by: str | None
    old: str | None
    new: str | None
    reason: str | None


@dataclass
class SubjectReads:
    subject_id: int
    site_name: str
    forms: dict[FormKey, FormState]
    marks: dict[tuple[int, str], Verification]  # (form instance id, item OID)
    threads: dict[int, list[Thread]]  # by form instance id, by query number
    signatures: list[SignatureRecord]  # oldest first
    changes: dict[tuple[int, str], list[Change]]  # (form instance id, item OID), oldest first


def read_subject(
    dbsession: Session, study: Study, label: str, *, with_changes: bool
) -> SubjectReads:
    """Six queries (five without the audit trail), whatever the size of the casebook."""
    subject_id, site_name = dbsession.execute(
        select(Subject.id, Site.name)
        .join(Site, Site.id == Subject.site_id)
        .where(Subject.study_id == study.id, Subject.label == label)
    ).one()
    return SubjectReads(
        subject_id,
        site_name,
        _forms(dbsession, subject_id),
        _marks(dbsession, subject_id),
        _threads(dbsession, subject_id),
        _signatures(dbsession, subject_id),
        _changes(dbsession, subject_id) if with_changes else {},
    )


def _forms(dbsession: Session, subject_id: int) -> dict[FormKey, FormState]:
    rows = dbsession.execute(
        select(
            FormInstance.visit,
            FormInstance.visit_repeat,
            FormInstance.form,
            FormInstance.repeat,
            FormInstance.id,
            FormInstance.visit_instance_id,
            FormInstance.version_number,
            FormInstance.sdv_status,
            FormInstance.review_status,
            FormInstance.signature_state,
        ).where(FormInstance.subject_id == subject_id)
    )
    return {tuple(row[:4]): FormState(*row[4:]) for row in rows}  # type: ignore[misc]


def _marks(dbsession: Session, subject_id: int) -> dict[tuple[int, str], Verification]:
    rows = dbsession.execute(
        select(
            ItemValue.form_instance_id,
            ItemValue.item_oid,
            ItemValue.sdv_required,
            ItemValue.sdv_changed,
            ItemValue.verified_at,
            User.name,
        )
        .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
        .outerjoin(User, User.id == ItemValue.verified_by_id)
        .where(FormInstance.subject_id == subject_id)
    )
    return {(row[0], row[1]): Verification(*row[2:]) for row in rows}


def _threads(dbsession: Session, subject_id: int) -> dict[int, list[Thread]]:
    rows = dbsession.execute(
        select(
            Query.id,
            Query.form_instance_id,
            Query.number,
            Query.item_oid,
            Query.state,
            QueryMessage.step,
            QueryMessage.body,
            User.name,
            QueryMessage.created_at,
            QueryMessage.wording,
        )
        .join(QueryMessage, QueryMessage.query_id == Query.id)
        .outerjoin(User, User.id == QueryMessage.author_id)
        .where(Query.subject_id == subject_id)
        .order_by(Query.number, QueryMessage.id)
    )
    found: dict[int, list[Thread]] = defaultdict(list)
    threads: dict[int, Thread] = {}
    for query_id, instance_id, number, oid, state, *message in rows:
        if query_id not in threads:
            threads[query_id] = Thread(number, oid, state)
            found[instance_id].append(threads[query_id])
        threads[query_id].messages.append(Message(*message))
    return dict(found)


def _signatures(dbsession: Session, subject_id: int) -> list[SignatureRecord]:
    rows = dbsession.execute(
        select(
            Signature.scope,
            Signature.visit_instance_id,
            Signature.form_instance_id,
            Signature.signer_name,
            Signature.meaning,
            Signature.signed_at,
            Signature.broken_at,
        )
        .where(Signature.subject_id == subject_id)
        .order_by(Signature.signed_at, Signature.id)
    )
    return [SignatureRecord(*row) for row in rows]


def _changes(dbsession: Session, subject_id: int) -> dict[tuple[int, str], list[Change]]:
    rows = dbsession.execute(
        select(
            AuditEvent.entity_id,
            AuditEvent.field,
            AuditEvent.occurred_at,
            User.name,
            AuditEvent.old_value,
            AuditEvent.new_value,
            AuditEvent.reason,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.subject_id == subject_id,
            AuditEvent.action == VALUE_CHANGED,
            AuditEvent.entity_type == "form_instance",
        )
        .order_by(AuditEvent.id)
    )
    found: dict[tuple[int, str], list[Change]] = defaultdict(list)
    for entity_id, oid, *change in rows:
        found[(int(entity_id), oid)].append(Change(*change))
    return dict(found)
