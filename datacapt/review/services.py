"""The rules of monitoring a form's data: SDV marks, the review stamp, freeze / lock / unlock and
electronic signatures, and what a change of the data undoes.

Every operation takes a list of form instances and is all or nothing: it checks the whole
selection first, then writes. Its cost in queries does not grow with the number of forms or
items (bulk UPDATEs, audit events written together by :func:`datacapt.audit.record_many`), so a
monitor verifying a whole visit or an investigator signing twenty casebooks waits no longer than
for one form.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pyramid.i18n import TranslationString
from sqlalchemy import Select, and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.orm import Session

from datacapt import audit, personal_values
from datacapt.actor import Actor
from datacapt.ecrf.definition import Form, Item, ItemType, SdvRequirement, form_items
from datacapt.entry.events import FormRemoved, FormSaved, HistoryAsked, ValueRow
from datacapt.i18n import _
from datacapt.models import (
    AuditEvent,
    FormInstance,
    FormStatus,
    ItemValue,
    LockState,
    ReviewStatus,
    SdvStatus,
    Signature,
    SignatureScope,
    SignatureState,
    SignedForm,
    Subject,
    VisitInstance,
)
from datacapt.queries.services import open_visit_queries
from datacapt.reactions import publish
from datacapt.review.events import FormsVerified

MAX_REASON = 2000
#: Form-level events the item history shows in line with the value changes.
FORM_STATE_ACTIONS = (
    "review.done",
    "review.reset",
    "data.frozen",
    "data.locked",
    "data.unlocked",
    "signature.signed",
    "signature.broken",
)


class Refused(Exception):
    """Nothing was done; the message says why."""

    def __init__(self, message: TranslationString) -> None:
        super().__init__(str(message))
        self.message = message


def _event(instance: FormInstance, action: str, **details: Any) -> dict[str, Any]:
    """An event about a form instance, scoped to its tenant, study, site and subject."""
    return {
        "tenant_id": instance.tenant_id,
        "study_id": instance.study_id,
        "site_id": instance.site_id,
        "subject_id": instance.subject_id,
        "action": action,
        "entity_type": "form_instance",
        "entity_id": instance.id,
        **details,
    }


def _open(instances: Iterable[FormInstance]) -> list[FormInstance]:
    return [i for i in instances if i.status is not FormStatus.REMOVED]


# --- SDV -------------------------------------------------------------------------------------


def sdv_required(form: Form, item: Item) -> bool:
    """Whether the design asks monitors to verify ``item`` (calculated values have no source)."""
    if item.type is ItemType.CALCULATED or form.sdv is SdvRequirement.NONE:
        return False
    return form.sdv is SdvRequirement.ALL or item.name in form.sdv_items


def _sdv_oids(form: Form) -> set[str]:
    """The OIDs of the items of ``form`` monitors must verify, found once per save."""
    if form.sdv is SdvRequirement.NONE:
        return set()
    return {item.oid for item in form_items(form) if sdv_required(form, item)}


def _to_verify(row: ItemValue | ValueRow) -> bool:
    """A value monitors must verify: required, and holding something (or emptied since)."""
    return row.sdv_required and (
        row.value is not None
        or row.sealed_value is not None
        or row.missing_code is not None
        or row.sdv_changed
    )


def sdv_status(rows: Iterable[ItemValue | ValueRow]) -> SdvStatus:
    targets = [  # _to_verify, inlined: no call per row of a form
        row
        for row in rows
        if row.sdv_required
        and (
            row.value is not None
            or row.sealed_value is not None
            or row.missing_code is not None
            or row.sdv_changed
        )
    ]
    if not targets:
        return SdvStatus.NOT_REQUIRED
    unverified = [row for row in targets if row.verified_at is None]  # no generator resumed a row
    if not unverified:
        return SdvStatus.VERIFIED
    if [row for row in unverified if row.sdv_changed]:
        return SdvStatus.CHANGED
    return SdvStatus.AWAITING


def _rows(dbsession: Session, instances: list[FormInstance]) -> dict[int, list[ItemValue]]:
    """The values of ``instances`` by instance id, personal data opened (signatures hash the
    values themselves)."""
    found: dict[int, list[ItemValue]] = {i.id: [] for i in instances}
    if instances:
        rows = dbsession.scalars(
            select(ItemValue).where(ItemValue.form_instance_id.in_(list(found)))
        ).all()
        personal_values.open_rows(dbsession, {i.id: i.subject_id for i in instances}, rows)
        for row in rows:
            found[row.form_instance_id].append(row)
    return found


def _lock_subjects(dbsession: Session, subject_ids: set[int]) -> None:
    """Hold the subjects' chain locks, which every save takes first: what is read next is as
    the saves committed it, and none commits until this transaction ends."""
    audit.lock_chains(dbsession, [audit.chain_of(None, None, i) for i in subject_ids])


def _set_column(
    dbsession: Session, instances: list[FormInstance], column: str, values: dict[int, Any]
) -> None:
    """One UPDATE per distinct value (not per form), keeping the loaded objects in step."""
    by_value: dict[Any, list[int]] = {}
    for instance in instances:
        if getattr(instance, column) != values[instance.id]:
            by_value.setdefault(values[instance.id], []).append(instance.id)
    for value, ids in by_value.items():
        dbsession.execute(
            update(FormInstance)
            .where(FormInstance.id.in_(ids))
            .values({column: value})
            .execution_options(synchronize_session="evaluate")
        )


def _refuse_locked(instances: list[FormInstance]) -> None:
    if any(i.lock_state is LockState.LOCKED for i in instances):
        raise Refused(_("Locked forms cannot change: unlock them first."))


def verify(
    dbsession: Session,
    actor: Actor,
    instances: list[FormInstance],
    items: set[str] | None = None,
    *,
    hidden: set[str] = frozenset(),  # type: ignore[assignment]
    seen: int | None = None,
) -> int:
    """Mark the values awaiting SDV as verified (only ``items``, by OID, if given; never the
    ``hidden`` ones, which the monitor cannot see); the number marked. One audit event per
    value. The values are read holding their subjects' locks, as saves leave them; ``seen``:
    the lock of the one form as its page showed it, refused if it was saved since (the
    monitor would verify values they never saw)."""
    instances = _open(instances)
    _refuse_locked(instances)
    _lock_subjects(dbsession, {i.subject_id for i in instances})
    if seen is not None and instances:
        dbsession.refresh(instances[0], ["lock_version"])
        if instances[0].lock_version != seen:
            raise Refused(_("The form was saved since you opened it: reload it, then verify."))
    rows = _rows(dbsession, instances)
    marked: list[tuple[FormInstance, ItemValue]] = [
        (instance, row)
        for instance in instances
        for row in rows[instance.id]
        if _to_verify(row)
        and row.verified_at is None
        and (items is None or row.item_oid in items)
        and row.item_oid not in hidden
    ]
    if marked:
        _mark_verified(dbsession, actor, marked)
    _set_column(
        dbsession, instances, "sdv_status", {i.id: sdv_status(rows[i.id]) for i in instances}
    )
    if marked:
        publish(FormsVerified(dbsession, actor, instances=instances))
    return len(marked)


def _mark_verified(
    dbsession: Session, actor: Actor, marked: list[tuple[FormInstance, ItemValue]]
) -> None:
    audit.record_many(
        dbsession,
        actor,
        [
            _event(
                instance,
                "sdv.verified",
                field=row.item_oid,
                old="changed" if row.sdv_changed else "awaiting",
                new="verified",
            )
            for instance, row in marked
        ],
    )
    now = datetime.now(UTC)
    dbsession.execute(
        update(ItemValue)
        .where(ItemValue.id.in_([row.id for _i, row in marked]))
        .values(verified_at=now, verified_by_id=actor.user_id, sdv_changed=False)
        .execution_options(synchronize_session="evaluate")
    )


def review(dbsession: Session, actor: Actor, instances: list[FormInstance]) -> int:
    """Stamp the forms as reviewed by data management; the number stamped."""
    instances = _open(instances)
    _refuse_locked(instances)
    stamped = [i for i in instances if i.review_status is not ReviewStatus.REVIEWED]
    if not stamped:
        return 0
    audit.record_many(
        dbsession,
        actor,
        [
            _event(i, "review.done", field=None, old=i.review_status.value, new="reviewed")
            for i in stamped
        ],
    )
    now = datetime.now(UTC)
    dbsession.execute(
        update(FormInstance)
        .where(FormInstance.id.in_([i.id for i in stamped]))
        .values(review_status=ReviewStatus.REVIEWED, reviewed_at=now, reviewed_by_id=actor.user_id)
        .execution_options(synchronize_session="evaluate")
    )
    return len(stamped)


# --- after a change of the data ----------------------------------------------------------------


def values_changed(event: FormSaved) -> None:
    """What a save undoes, in its transaction (a reaction to :class:`FormSaved`): the SDV of
    each changed value that was verified ("changed since verified"), the review stamp, and the
    signatures covering the form."""
    instance, form, changed, marked = event.instance, event.form, event.changed, event.marked
    wanted = _sdv_oids(form)
    reset = []
    for oid, row in event.rows.items():
        required = oid in wanted
        if row.sdv_required != required:  # an unchanged row is not written again
            row.sdv_required = required
            marked.add(oid)
        if oid in changed and row.verified_at is not None:
            row.verified_at, row.verified_by_id, row.sdv_changed = None, None, True
            marked.add(oid)
            reset.append(_event(instance, "sdv.reset", field=oid, old="verified", new="changed"))
    status = sdv_status(event.rows.values())
    if instance.sdv_status is not status:  # unchanged: the form stays clean, nothing to flush
        instance.sdv_status = status
    if not changed:
        return
    if instance.review_status is ReviewStatus.REVIEWED:
        instance.review_status = ReviewStatus.CHANGED
        reset.append(_event(instance, "review.reset", field=None, old="reviewed", new="changed"))
    if reset:
        audit.record_many(event.dbsession, event.actor, reset)
    if event.signed is not False:  # a subject holding no valid signature has none to break
        break_signatures(event.dbsession, event.actor, instance, _("The signed data changed."))


def form_state_history(event: HistoryAsked) -> None:
    """A form's review, lock and signature events belong to the history of each of its items
    (a reaction to :class:`HistoryAsked`)."""
    event.conditions.append(
        (AuditEvent.entity_type == "form_instance")
        & (AuditEvent.entity_id == audit.entity_key(event.instance.id))
        & AuditEvent.action.in_(FORM_STATE_ACTIONS)
    )


def row_removed(event: FormRemoved) -> None:
    """A log row taken out changes what the signatures covering it signed."""
    break_signatures(event.dbsession, event.actor, event.instance, _("The signed data changed."))


@cache
def _covering() -> Select[tuple[Signature]]:
    """The valid signatures covering a form (its own, its visit's, its casebook's), built once
    with bound keys: every save asks, and SQLAlchemy then neither rebuilds the statement nor
    recomputes its cache key."""
    return select(Signature).where(
        Signature.subject_id == bindparam("subject_id"),
        Signature.broken_at.is_(None),
        or_(
            Signature.scope == SignatureScope.CASEBOOK,
            and_(
                Signature.scope == SignatureScope.VISIT,
                Signature.visit_instance_id == bindparam("visit_instance_id"),
            ),
            Signature.id.in_(
                select(SignedForm.signature_id).where(
                    SignedForm.form_instance_id == bindparam("form_instance_id")
                )
            ),
        ),
    )


def break_signatures(
    dbsession: Session,
    actor: Actor,
    instance: FormInstance,
    reason: TranslationString | str,
) -> list[Signature]:
    """Invalidate every valid signature whose content includes ``instance``: its own, its
    visit's and its casebook's. They are kept, marked broken, and the forms they covered show
    "signature invalidated" unless another valid signature still covers them."""
    covering = dbsession.scalars(
        _covering(),
        {
            "subject_id": instance.subject_id,
            "visit_instance_id": instance.visit_instance_id,
            "form_instance_id": instance.id,
        },
    ).all()
    if not covering:
        return []
    now = datetime.now(UTC)
    recorded = audit.record_many(
        dbsession,
        actor,
        [
            _event(
                instance,
                "signature.broken",
                entity_type="signature",
                entity_id=signature.id,
                field=str(instance.id),
                old="signed",
                new="broken",
                reason=str(reason),
            )
            for signature in covering
        ],
    )
    for signature, event in zip(covering, recorded, strict=True):
        signature.broken_at, signature.broken_event_id = now, event.id
    dbsession.flush()
    ids = [s.id for s in covering]
    covered = select(SignedForm.form_instance_id).where(SignedForm.signature_id.in_(ids))
    still = (
        select(SignedForm.form_instance_id)
        .join(Signature, Signature.id == SignedForm.signature_id)
        .where(Signature.broken_at.is_(None), SignedForm.form_instance_id.in_(covered))
    )
    dbsession.execute(
        update(FormInstance)
        .where(FormInstance.id.in_(covered), FormInstance.id.not_in(still))
        .values(signature_state=SignatureState.BROKEN)
        .execution_options(synchronize_session="fetch")
    )
    valid = exists().where(Signature.subject_id == Subject.id, Signature.broken_at.is_(None))
    dbsession.execute(
        update(Subject)
        .where(Subject.id == instance.subject_id)
        .values(signed=valid)
        .execution_options(synchronize_session="fetch")
    )
    return list(covering)


# --- freeze, lock, unlock --------------------------------------------------------------------


@dataclass(frozen=True)
class Whole:
    """The casebooks (subject ids) and visits (visit instance ids) an action takes as a whole,
    besides their forms: their state then covers what is added to them later (a visit, a log
    row, a form entered for the first time)."""

    subject_ids: frozenset[int] = frozenset()
    visit_ids: frozenset[int] = frozenset()


def freeze(
    dbsession: Session,
    actor: Actor,
    instances: list[FormInstance],
    reason: str = "",
    whole: Whole = Whole(),
) -> int:
    """No more entry; queries go on. Locked forms stay locked."""
    _move_whole(dbsession, actor, whole, LockState.FROZEN, "data.frozen", reason)
    return _move(dbsession, actor, instances, LockState.FROZEN, "data.frozen", reason)


def lock(
    dbsession: Session,
    actor: Actor,
    instances: list[FormInstance],
    reason: str = "",
    whole: Whole = Whole(),
) -> int:
    """Nothing changes any more. Refused while a form of the selection has open queries,
    counted under the subjects' chain locks, which raising a query takes: one raised after
    the forms were read and committed before the lock is counted, not locked in."""
    _lock_subjects(dbsession, _subjects_of(dbsession, instances, whole))
    blocked = [i for i in _read_again(dbsession, _open(instances)) if i.open_queries > 0]
    if blocked:
        raise Refused(
            _(
                "Forms with open queries: ${count}. Close the queries before locking.",
                mapping={"count": len(blocked)},
            )
        )
    on_visits = open_visit_queries(dbsession, whole.visit_ids)
    if on_visits:
        raise Refused(
            _(
                "Open queries on the visit: ${count}. Close them before locking.",
                mapping={"count": on_visits},
            )
        )
    _move_whole(dbsession, actor, whole, LockState.LOCKED, "data.locked", reason)
    return _move(dbsession, actor, instances, LockState.LOCKED, "data.locked", reason)


def _subjects_of(dbsession: Session, instances: list[FormInstance], whole: Whole) -> set[int]:
    """The subjects whose forms, visits or casebooks an action takes."""
    found = {i.subject_id for i in instances} | whole.subject_ids
    if whole.visit_ids:
        found.update(
            dbsession.scalars(
                select(VisitInstance.subject_id).where(VisitInstance.id.in_(whole.visit_ids))
            )
        )
    return found


def _read_again(dbsession: Session, instances: list[FormInstance]) -> list[FormInstance]:
    """``instances`` as committed now (their loaded attributes overwritten)."""
    if not instances:
        return []
    return list(
        dbsession.scalars(
            select(FormInstance)
            .where(FormInstance.id.in_([i.id for i in instances]))
            .execution_options(populate_existing=True)
        )
    )


def unlock(
    dbsession: Session,
    actor: Actor,
    instances: list[FormInstance],
    reason: str,
    whole: Whole = Whole(),
) -> int:
    """Open frozen, locked or signed forms for correction again, with a reason. A signature on
    such a form is invalidated: what it covered may now change. Their visits and casebooks are
    no longer frozen or locked as a whole either."""
    reason = reason.strip()[:MAX_REASON]
    if not reason:
        raise Refused(_("Give the reason for unlocking."))
    instances = _open(instances)
    around = Whole(
        whole.subject_ids | {i.subject_id for i in instances},
        whole.visit_ids | {i.visit_instance_id for i in instances},
    )
    _move_whole(dbsession, actor, around, LockState.OPEN, "data.unlocked", reason)
    count = _move(dbsession, actor, instances, LockState.OPEN, "data.unlocked", reason)
    for instance in instances:
        if instance.signature_state is SignatureState.SIGNED:
            break_signatures(dbsession, actor, instance, reason)
            count += 1
    return count


def _moves(current: LockState, target: LockState) -> bool:
    """Freezing leaves what is locked locked; the other moves apply to whatever differs."""
    return current is LockState.OPEN if target is LockState.FROZEN else current is not target


def _move_whole(
    dbsession: Session, actor: Actor, whole: Whole, target: LockState, action: str, reason: str
) -> None:
    """Move the state of the casebooks and visits taken as a whole (audited like a form's)."""
    rows: list[tuple[Subject | VisitInstance, int, str]] = []
    if whole.subject_ids:
        rows += [
            (subject, subject.site_id, "subject")
            for subject in dbsession.scalars(
                select(Subject).where(Subject.id.in_(whole.subject_ids))
            )
        ]
    if whole.visit_ids:
        rows += [
            (visit, site_id, "visit_instance")
            for visit, site_id in dbsession.execute(
                select(VisitInstance, Subject.site_id)
                .join(Subject, Subject.id == VisitInstance.subject_id)
                .where(VisitInstance.id.in_(whole.visit_ids))
            ).all()
        ]
    moving = [(row, site_id, kind) for row, site_id, kind in rows if _moves(row.lock_state, target)]
    if not moving:
        return
    audit.record_many(
        dbsession,
        actor,
        [
            {
                "tenant_id": row.tenant_id,
                "study_id": row.study_id,
                "site_id": site_id,
                "subject_id": row.id if isinstance(row, Subject) else row.subject_id,
                "action": action,
                "entity_type": kind,
                "entity_id": row.id,
                "field": "lock_state",
                "old": row.lock_state.value,
                "new": target.value,
                "reason": reason.strip()[:MAX_REASON] or None,
            }
            for row, site_id, kind in moving
        ],
    )
    for model in (Subject, VisitInstance):
        ids = [row.id for row, _site_id, _kind in moving if isinstance(row, model)]
        if ids:
            dbsession.execute(
                update(model)
                .where(model.id.in_(ids))
                .values(lock_state=target)
                .execution_options(synchronize_session="evaluate")
            )


def _move(
    dbsession: Session,
    actor: Actor,
    instances: list[FormInstance],
    target: LockState,
    action: str,
    reason: str,
) -> int:
    moving = [i for i in _open(instances) if _moves(i.lock_state, target)]
    if not moving:
        return 0
    audit.record_many(
        dbsession,
        actor,
        [
            _event(
                i,
                action,
                field="lock_state",
                old=i.lock_state.value,
                new=target.value,
                reason=reason.strip()[:MAX_REASON] or None,
            )
            for i in moving
        ],
    )
    _set_column(dbsession, moving, "lock_state", {i.id: target for i in moving})
    return len(moving)


# --- signatures ------------------------------------------------------------------------------


def signed_content(
    scope: SignatureScope,
    anchor: dict[str, int | None],
    forms: list[FormInstance],
    rows: dict[int, list[ItemValue]],
) -> str:
    """The canonical text a signature's hash is taken of: the scope and, for each form holding
    data, its ids, design version and every value or missing-data code by item OID (``rows``:
    the values by form instance id)."""
    listed = []
    for instance in sorted(forms, key=lambda i: i.id):
        values = sorted(
            [row.item_oid, row.value, row.missing_code]
            for row in rows[instance.id]
            if row.value is not None or row.missing_code is not None
        )
        if values:
            listed.append(
                {
                    "form_instance": instance.id,
                    "subject": instance.subject_id,
                    "visit": [instance.visit, instance.visit_repeat],
                    "form": [instance.form, instance.repeat],
                    "version": instance.version_number,
                    "items": values,
                }
            )
    document = {"scope": scope.value, **anchor, "forms": listed}
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SignTarget:
    """What one signature covers: a form, a visit or a whole casebook of one subject."""

    scope: SignatureScope
    subject_id: int
    visit_instance_id: int | None = None
    form_instance_id: int | None = None

    @property
    def anchor(self) -> dict[str, int | None]:
        return {
            "subject_id": self.subject_id,
            "visit_instance_id": self.visit_instance_id,
            "form_instance_id": self.form_instance_id,
        }


def scope_forms(
    dbsession: Session, targets: list[SignTarget]
) -> dict[SignTarget, list[FormInstance]]:
    """The forms in each target that hold data (those a signature covers). One query."""
    found: dict[SignTarget, list[FormInstance]] = {t: [] for t in targets}
    if not targets:
        return found
    with_data = select(ItemValue.form_instance_id).where(
        or_(
            ItemValue.value.is_not(None),
            ItemValue.sealed_value.is_not(None),
            ItemValue.missing_code.is_not(None),
        )
    )
    instances = dbsession.scalars(
        select(FormInstance).where(
            FormInstance.subject_id.in_({t.subject_id for t in targets}),
            FormInstance.status != FormStatus.REMOVED,
            FormInstance.id.in_(with_data),
        )
    ).all()
    for target in targets:
        found[target] = [
            i
            for i in instances
            if i.subject_id == target.subject_id
            and target.visit_instance_id in (None, i.visit_instance_id)
            and target.form_instance_id in (None, i.id)
        ]
    return found


def sign(
    dbsession: Session,
    actor: Actor,
    targets: list[SignTarget],
    *,
    signer_name: str,
    meaning: str,
) -> list[Signature]:
    """Sign every target with one credential check (done by the caller): all or nothing, in a
    number of queries that does not grow with the targets. The forms and values are read
    holding the subjects' locks: a save cannot commit between what is hashed and the
    signature (it waits, then breaks the signature)."""
    _lock_subjects(dbsession, {target.subject_id for target in targets})
    forms = scope_forms(dbsession, targets)
    if not targets or any(not forms[t] for t in targets):
        raise Refused(_("There is no data to sign yet."))
    covered = [i for t in targets for i in forms[t]]
    rows = _rows(dbsession, covered)
    hashes = {t: _hash(signed_content(t.scope, t.anchor, forms[t], rows)) for t in targets}
    first = {t: forms[t][0] for t in targets}  # tenant, study, site and subject of the target
    events = audit.record_many(
        dbsession,
        actor,
        [
            _event(
                first[t],
                "signature.signed",
                entity_type="form_instance" if t.form_instance_id else "subject",
                entity_id=t.form_instance_id or t.subject_id,
                field=t.scope.value,
                new={"meaning": meaning, "hash": hashes[t], "forms": [i.id for i in forms[t]]},
            )
            for t in targets
        ],
    )
    now = datetime.now(UTC)
    dbsession.execute(
        insert(Signature),
        [
            {
                "tenant_id": first[t].tenant_id,
                "study_id": first[t].study_id,
                "site_id": first[t].site_id,
                "subject_id": t.subject_id,
                "scope": t.scope,
                "visit_instance_id": t.visit_instance_id,
                "form_instance_id": t.form_instance_id,
                "signer_id": actor.user_id,
                "signer_name": signer_name,
                "meaning": meaning,
                "content_hash": hashes[t],
                "signed_at": now,
                "audit_event_id": event.id,
            }
            for t, event in zip(targets, events, strict=True)
        ],
    )
    by_event = {
        signature.audit_event_id: signature
        for signature in dbsession.scalars(
            select(Signature).where(Signature.audit_event_id.in_([e.id for e in events]))
        )
    }
    signatures = [by_event[e.id] for e in events]
    dbsession.execute(
        insert(SignedForm),
        [
            {
                "tenant_id": signature.tenant_id,
                "signature_id": signature.id,
                "form_instance_id": instance.id,
            }
            for t, signature in zip(targets, signatures, strict=True)
            for instance in forms[t]
        ],
    )
    _set_column(
        dbsession, covered, "signature_state", {i.id: SignatureState.SIGNED for i in covered}
    )
    dbsession.execute(
        update(Subject)
        .where(Subject.id.in_({t.subject_id for t in targets}), Subject.signed.is_(False))
        .values(signed=True)
        .execution_options(synchronize_session="evaluate")
    )
    return signatures


def intact(dbsession: Session, signature: Signature) -> bool:
    """Whether the content a signature covered still hashes to what was signed."""
    target = SignTarget(
        signature.scope,
        signature.subject_id,
        signature.visit_instance_id,
        signature.form_instance_id,
    )
    forms = scope_forms(dbsession, [target])[target]
    content = signed_content(target.scope, target.anchor, forms, _rows(dbsession, forms))
    return _hash(content) == signature.content_hash
