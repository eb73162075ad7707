"""Saving what sites enter, so that no value is ever lost or silently changed.

A save is all or nothing: refused values, blocking edit checks, a missing reason for changing a
completed form, or a stale page (409) save nothing. An accepted save writes each changed value
with its own audit event (old → new, reason), keeps the warnings for monitoring, and updates the
form instance, which is also the status row dashboards read, in the same transaction.

It is read (:func:`read_for_save`), planned without touching the database (:func:`plan_save`)
and applied (:func:`apply_save`), which publishes :class:`~datacapt.entry.events.FormSaved` for
the capabilities that react to it (review, queries); the benchmark's loader writes the same plan
in bulk.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pyramid.i18n import TranslationString
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from datacapt import audit
from datacapt.actor import Actor
from datacapt.design.definition import Definition, Form, Item, ItemType, form_items, from_json
from datacapt.design.runtime import FormState, evaluate_form
from datacapt.design.values import Typed, typed
from datacapt.entry.events import FormRemoved, FormSaved
from datacapt.expressions import ExpressionError, parse, references
from datacapt.i18n import _
from datacapt.models import (
    EntryWarning,
    FormInstance,
    FormStatus,
    ItemValue,
    LockState,
    SignatureState,
    Study,
    StudyVersion,
    Subject,
    VersionState,
    VisitInstance,
    WarningKind,
)
from datacapt.numbers import in_range
from datacapt.reactions import Reactions

if TYPE_CHECKING:
    from datacapt.resources import FormEntryResource

MAX_REASON = 2000
_DEFINITIONS: dict[tuple[int, str], Definition] = {}


@dataclass(frozen=True)
class PublishedDesign:
    number: int
    definition: Definition  # shared and cached: read it, never change it


def published_design(dbsession: Session, study: Study) -> PublishedDesign | None:
    """The version sites enter data with: the latest published one, parsed once per process
    (published versions never change; the content hash is part of the cache key)."""
    row = dbsession.execute(
        select(StudyVersion.id, StudyVersion.number, StudyVersion.content_hash)
        .where(StudyVersion.study_id == study.id, StudyVersion.state == VersionState.PUBLISHED)
        .order_by(StudyVersion.number.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    key = (row.id, row.content_hash or "")
    definition = _DEFINITIONS.get(key)
    if definition is None:
        document = dbsession.scalar(
            select(StudyVersion.definition).where(StudyVersion.id == row.id)
        )
        if len(_DEFINITIONS) >= 64:
            _DEFINITIONS.clear()
        definition = _DEFINITIONS[key] = from_json(document)
    return PublishedDesign(row.number, definition)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """An item's saved state: the canonical value or a missing-data code (never both)."""

    value: str | None = None
    missing: str | None = None


def stored_values(dbsession: Session, instance: FormInstance | None) -> dict[str, ItemValue]:
    """The saved values of a form instance, by item OID."""
    if instance is None:
        return {}
    rows = dbsession.scalars(select(ItemValue).where(ItemValue.form_instance_id == instance.id))
    return {row.item_oid: row for row in rows}


def subject_values(
    dbsession: Session, definition: Definition, subject: Subject
) -> dict[tuple[str, int], dict[str, Typed]]:
    """Every value of the subject, typed, by (visit, repeat) then item name: what expressions
    read across forms and visits. One query."""
    items = {item.oid: item for _form, item in definition.items()}
    found: dict[tuple[str, int], dict[str, Typed]] = {}
    rows = dbsession.execute(
        select(FormInstance.visit, FormInstance.visit_repeat, ItemValue.item_oid, ItemValue.value)
        .join(ItemValue, ItemValue.form_instance_id == FormInstance.id)
        .where(
            FormInstance.subject_id == subject.id,
            FormInstance.status != FormStatus.REMOVED,
            ItemValue.value.is_not(None),
        )
    )
    for visit, repeat, oid, value in rows:
        item = items.get(oid)
        if item is not None:
            found.setdefault((visit, repeat), {})[item.name] = typed(item, value)
    return found


def context_values(
    everything: dict[tuple[str, int], dict[str, Typed]], visit: str, repeat: int
) -> tuple[dict[str, Typed], dict[str, dict[str, Typed]]]:
    """What [field] and [visit][field] read from a form of visit (``visit``, ``repeat``)."""
    here = dict(everything.get((visit, repeat), {}))
    visits = {name: values for (name, number), values in everything.items() if number == 1}
    return here, visits


def posted_from_stored(form: Form, values: Mapping[str, ItemValue]) -> dict[str, list[str]]:
    """The raw inputs that reproduce saved values (to show a saved form)."""
    posted: dict[str, list[str]] = {}
    for section in form.sections:
        for subsection in section.subsections:
            for block in subsection.blocks:
                row = values.get(block.oid)
                if isinstance(block, Item) and row is not None and row.value is not None:
                    posted[block.name] = (
                        row.value.split("|")
                        if block.type is ItemType.MULTIPLE_CHOICE
                        else [row.value]
                    )
    return posted


# --- saving: a plan, then its application ------------------------------------------------------


class SaveRefused(Exception):
    """Nothing was saved; the messages say why, by input name."""

    def __init__(self, state: FormState, errors: dict[str, TranslationString]) -> None:
        super().__init__("save refused")
        self.state = state
        self.errors = errors


class StaleForm(Exception):
    """Someone saved this form since the page was loaded."""

    def __init__(self, instance: FormInstance) -> None:
        super().__init__("stale form")
        self.instance = instance


class FormClosed(Exception):
    """The form is frozen, locked or signed: it takes no entry (the ACL says so first; this is
    the same rule where no request is involved)."""


def is_closed(instance: FormInstance | None) -> bool:
    return instance is not None and (
        instance.lock_state is not LockState.OPEN
        or instance.signature_state is SignatureState.SIGNED
    )


@dataclass
class Change:
    item: Item
    old: Stored
    new: Stored


@dataclass
class SaveResult:
    instance: FormInstance | None  # None: nothing entered on a form never started
    changes: list[Change] = field(default_factory=list)
    replayed: bool = False  # the same save arrived twice; the second changed nothing


@dataclass(frozen=True)
class EntryRequest:
    """What one save asks for."""

    posted: Mapping[str, list[str]]
    missing: Mapping[str, str]  # item name → missing-data code chosen
    complete: bool
    reason: str
    lock: int | None  # the instance's lock_version the page showed (None: a new instance)


@dataclass(frozen=True)
class EntryScope:
    """Where a save goes. ``instances``: the visit and form instances as already read in this
    transaction (by traversal), which the save then does not read again."""

    study: Study
    subject: Subject
    visit: str
    visit_repeat: int
    form: Form
    form_repeat: int
    version_number: int
    secret: str  # keys the fingerprints of personal values in the audit trail
    instances: tuple[VisitInstance | None, FormInstance | None] | None = None


def form_scope(context: FormEntryResource, secret: str) -> EntryScope:
    """The scope of a save of the form at ``context``, with the instances traversal read."""
    visit = context.visit_node
    return EntryScope(
        study=context.study,
        subject=context.subject,
        visit=visit.name,
        visit_repeat=visit.repeat,
        form=context.form,
        form_repeat=context.repeat,
        version_number=visit.design.number,
        secret=secret,
        instances=(visit.instance, context.instance),
    )


def _fingerprint(secret: str, value: str | None) -> str | None:
    """Personal values never enter the audit trail's text; a keyed fingerprint shows whether
    they changed, and to what a known value corresponds."""
    if value is None:
        return None
    return "pii:" + hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()[:16]


def _audited(item: Item, stored: Stored, secret: str) -> str | None:
    if stored.missing:
        return f"missing:{stored.missing}"
    return _fingerprint(secret, stored.value) if item.identifier else stored.value


def _missing_codes(
    form: Form, request: EntryRequest, codes: set[str], errors: dict[str, TranslationString]
) -> dict[str, str]:
    chosen: dict[str, str] = {}
    items = {item.name: item for item in form_items(form)}
    for name, code in request.missing.items():
        item = items.get(name)
        if not code or item is None:
            continue
        if not item.missing_codes_allowed or code not in codes:
            errors[f"missing-{name}"] = _("Choose one of the missing-data codes offered.")
        elif any(value.strip() for value in request.posted.get(name, [])):
            errors[f"missing-{name}"] = _("Give a value or a missing-data code, not both.")
        else:
            chosen[name] = code
    return chosen


def _typed_columns(item: Item, value: str | None) -> tuple[Decimal | None, date | None]:
    """The typed copies kept beside the canonical text, for queries and exports (the column
    holds 28 integer digits; larger numbers keep only their text)."""
    result = typed(item, value)
    if isinstance(result, Decimal):
        return (result if in_range(result) else None), None
    if isinstance(result, datetime):
        return None, result.date()
    if isinstance(result, date):
        return None, result
    return None, None


def value_columns(
    change: Change, audit_event_id: int, now: datetime, actor_id: int | None
) -> dict[str, Any]:
    """The columns an item value row takes from a change: the one place a value is written
    (a save, and the benchmark's bulk loader)."""
    number, day = _typed_columns(change.item, change.new.value)
    return {
        "value": change.new.value,
        "missing_code": change.new.missing,
        "value_number": number,
        "value_date": day,
        "audit_event_id": audit_event_id,
        "updated_at": now,
        "updated_by_id": actor_id,
    }


def new_visit_instance(
    dbsession: Session, subject: Subject, visit: str, repeat: int, actor: Actor
) -> VisitInstance:
    """A visit of ``subject`` entered for the first time (scheduled, repeated or unscheduled)."""
    instance = VisitInstance(
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        subject_id=subject.id,
        visit=visit,
        repeat=repeat,
        created_by_id=actor.user_id,
    )
    dbsession.add(instance)
    dbsession.flush()
    return instance


def new_form_instance(
    dbsession: Session,
    subject: Subject,
    visit: VisitInstance,
    form: str,
    repeat: int,
    *,
    status: FormStatus,
    version_number: int,
    actor: Actor,
) -> FormInstance:
    """A form of a visit entered for the first time; it is also the form's status row."""
    now = datetime.now(UTC)
    instance = FormInstance(
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        site_id=subject.site_id,
        subject_id=subject.id,
        visit_instance_id=visit.id,
        visit=visit.visit,
        visit_repeat=visit.repeat,
        form=form,
        repeat=repeat,
        status=status,
        version_number=version_number,
        created_at=now,
        updated_at=now,
        updated_by_id=actor.user_id,
    )
    dbsession.add(instance)
    dbsession.flush()
    return instance


@dataclass(frozen=True)
class SaveReads:
    """What a save reads before it plans: the instances, the form's stored values and open
    warnings, and every value of the subject (what expressions read across forms)."""

    visit: VisitInstance | None = None
    instance: FormInstance | None = None
    rows: dict[str, ItemValue] = field(default_factory=dict)
    open_warnings: list[EntryWarning] = field(default_factory=list)
    everything: dict[tuple[str, int], dict[str, Typed]] = field(default_factory=dict)


_REACHES: dict[int, tuple[Form, bool]] = {}


def reads_other_forms(form: Form) -> bool:
    """Whether an expression of ``form`` (a condition, a calculation, an edit check) reads a
    value outside it: only then does a save read the subject's other values. Known once per
    form of a cached design; an expression that does not parse counts as reaching out."""
    known = _REACHES.get(id(form))
    if known is not None and known[0] is form:
        return known[1]
    own = {item.name for item in form_items(form)}
    texts = [section.show_if for section in form.sections]
    texts += [sub.show_if for section in form.sections for sub in section.subsections]
    for section in form.sections:
        for sub in section.subsections:
            for block in sub.blocks:
                texts.append(block.show_if)
                if isinstance(block, Item):
                    texts.append(block.calculation)
                    texts += [check.condition for check in block.edit_checks]
    try:
        found = {ref for text in texts if text for ref in references(parse(text))}
        reaches = any(ref.visit is not None or ref.field not in own for ref in found)
    except ExpressionError:
        reaches = True
    if len(_REACHES) >= 1024:
        _REACHES.clear()
    _REACHES[id(form)] = (form, reaches)
    return reaches


def read_for_save(dbsession: Session, scope: EntryScope, definition: Definition) -> SaveReads:
    """The reads of a save: its stored values, and when they matter, its open warnings (the
    status row counts them) and the subject's other values. One to three queries when
    traversal gave the instances."""
    if scope.instances is not None:
        visit, instance = scope.instances
    else:
        visit, instance = _instances(dbsession, scope)
    warnings: list[EntryWarning] = []
    if instance is not None and instance.open_warnings:
        warnings = list(
            dbsession.scalars(
                select(EntryWarning)
                .where(
                    EntryWarning.form_instance_id == instance.id,
                    EntryWarning.resolved_at.is_(None),
                )
                .order_by(EntryWarning.id)
            )
        )
    return SaveReads(
        visit,
        instance,
        stored_values(dbsession, instance),
        warnings,
        subject_values(dbsession, definition, scope.subject)
        if reads_other_forms(scope.form)
        else {},
    )


def _instances(
    dbsession: Session, scope: EntryScope
) -> tuple[VisitInstance | None, FormInstance | None]:
    visit = dbsession.scalar(
        select(VisitInstance).where(
            VisitInstance.subject_id == scope.subject.id,
            VisitInstance.visit == scope.visit,
            VisitInstance.repeat == scope.visit_repeat,
        )
    )
    instance = None
    if visit is not None:
        instance = dbsession.scalar(
            select(FormInstance).where(
                FormInstance.visit_instance_id == visit.id,
                FormInstance.form == scope.form.name,
                FormInstance.repeat == scope.form_repeat,
            )
        )
    return visit, instance


def stored_target(state: FormState, missing: dict[str, str]) -> dict[str, Stored]:
    """What the save stores per item OID: hidden items are blank, a code replaces a blank."""
    target: dict[str, Stored] = {}
    stored = state.stored()
    for block_state in state.items():
        item = block_state.block
        assert isinstance(item, Item)
        value = stored.get(item.name)
        code = missing.get(item.name) if block_state.visible and value is None else None
        target[item.oid] = Stored(value=value, missing=code)
    return target


#: A warning kept for monitoring: the item, its kind, the check behind it, its message.
Warning = tuple[Item, WarningKind, str | None, str]


def _warnings(
    state: FormState, language: str
) -> dict[tuple[str, WarningKind, str | None], Warning]:
    """Warnings to keep for monitoring, one per item, kind and check: soft ranges out, warning
    and info checks fired."""
    found: dict[tuple[str, WarningKind, str | None], Warning] = {}
    for block_state in state.items():
        item = block_state.block
        assert isinstance(item, Item)
        if not block_state.visible:
            continue
        if block_state.warning is not None:
            message = block_state.warning.interpolate()
            found[(item.oid, WarningKind.SOFT_RANGE, None)] = (
                item,
                WarningKind.SOFT_RANGE,
                None,
                message,
            )
        for check in block_state.fired:
            if check.severity != "blocking":
                message = check.message.get(language) or next(iter(check.message.values()), "")
                found[(item.oid, WarningKind.EDIT_CHECK, check.oid)] = (
                    item,
                    WarningKind.EDIT_CHECK,
                    check.oid,
                    message,
                )
    return found


@dataclass(frozen=True)
class SavePlan:
    """What a save will write, decided without writing: the changes, the audit events (without
    the form instance's id, unknown for a form never saved), the status, the warnings to open
    and those to resolve. ``outcome`` "write", or "nothing" (a form never started stays so), or
    "replayed" (the same save arrived twice)."""

    scope: EntryScope
    definition: Definition
    reads: SaveReads
    state: FormState
    outcome: str = "write"
    status: FormStatus = FormStatus.IN_PROGRESS
    changes: list[Change] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # the form's, then one a change
    warnings: list[Warning] = field(default_factory=list)  # every warning the data now raise
    to_open: list[Warning] = field(default_factory=list)
    to_resolve: list[EntryWarning] = field(default_factory=list)


def _evaluate(
    form: Form,
    posted: Mapping[str, list[str]],
    everything: dict[tuple[str, int], dict[str, Typed]],
    visit: str,
    repeat: int,
) -> FormState:
    here, visits = context_values(everything, visit, repeat)
    for item in form_items(form):  # this form's own values come from the request
        here.pop(item.name, None)
    return evaluate_form(form, posted, others=here, visits=visits)


def entry_state(
    dbsession: Session,
    definition: Definition,
    subject: Subject,
    visit: str,
    repeat: int,
    form: Form,
    posted: Mapping[str, list[str]],
) -> FormState:
    """The state of a form of visit (``visit``, ``repeat``) for ``posted``, reading the
    subject's other values only when an expression of the form reaches them."""
    everything = subject_values(dbsession, definition, subject) if reads_other_forms(form) else {}
    return _evaluate(form, posted, everything, visit, repeat)


def _state(scope: EntryScope, request: EntryRequest, reads: SaveReads) -> FormState:
    return _evaluate(scope.form, request.posted, reads.everything, scope.visit, scope.visit_repeat)


def plan_save(
    scope: EntryScope,
    definition: Definition,
    request: EntryRequest,
    reads: SaveReads,
    *,
    missing_codes: set[str],
) -> SavePlan:
    """Parse, check and compare, touching no database; raises SaveRefused (422), StaleForm
    (409) or FormClosed."""
    state = _state(scope, request, reads)
    errors: dict[str, TranslationString] = dict(state.errors)
    missing = _missing_codes(scope.form, request, missing_codes, errors)
    for block_state, check in state.blocking_checks:
        errors.setdefault(
            block_state.name or "",
            TranslationString(check.message.get(definition.default_language, "")),
        )
    target = stored_target(state, missing)
    instance = reads.instance
    if is_closed(instance):
        raise FormClosed()
    current = {oid: Stored(row.value, row.missing_code) for oid, row in reads.rows.items()}
    items = {item.oid: item for item in form_items(scope.form)}
    changes = [
        Change(items[oid], current.get(oid, Stored()), new)
        for oid, new in target.items()
        if current.get(oid, Stored()) != new
    ]
    if instance is not None and request.lock != instance.lock_version:
        if not errors and not changes:
            return SavePlan(scope, definition, reads, state, "replayed")
        raise StaleForm(instance)
    was_complete = instance is not None and instance.status is FormStatus.COMPLETE
    reason = request.reason.strip()[:MAX_REASON] or None
    if was_complete and changes and not reason:
        errors["reason"] = _("This form was complete: give the reason for the change.")
    if request.complete:
        for block_state in state.items():
            if block_state.missing and not missing.get(block_state.name or ""):
                errors.setdefault(
                    block_state.name or "",
                    _("Required to complete the form: enter a value or a missing-data code."),
                )
    if errors:
        raise SaveRefused(state, errors)
    if instance is None and not changes and not request.complete:
        return SavePlan(scope, definition, reads, state, "nothing")
    status = FormStatus.COMPLETE if request.complete else FormStatus.IN_PROGRESS
    events = []
    if instance is None:
        events.append({"action": "entry.form_started", "new": status.value})
    elif instance.status is not status:
        events.append(
            {
                "action": "entry.form_status_changed",
                "field": "status",
                "old": instance.status.value,
                "new": status.value,
                "reason": reason,
            }
        )
    events += [
        {
            "action": "entry.value_changed",
            "field": change.item.oid,
            "old": _audited(change.item, change.old, scope.secret),
            "new": _audited(change.item, change.new, scope.secret),
            "reason": reason,
        }
        for change in changes
    ]
    warnings = _warnings(state, definition.default_language)
    still = {(row.item_oid, row.kind, row.check_oid) for row in reads.open_warnings}
    return SavePlan(
        scope,
        definition,
        reads,
        state,
        status=status,
        changes=changes,
        events=events,
        warnings=list(warnings.values()),
        to_open=[warning for key, warning in warnings.items() if key not in still],
        to_resolve=[
            row
            for row in reads.open_warnings
            if (row.item_oid, row.kind, row.check_oid) not in warnings
        ],
    )


def event_scope(scope: EntryScope, instance_id: int) -> dict[str, Any]:
    """Where a form's events belong: its tenant, study, site, subject and the form itself."""
    return {
        "tenant_id": scope.study.tenant_id,
        "study_id": scope.study.id,
        "site_id": scope.subject.site_id,
        "subject_id": scope.subject.id,
        "entity_type": "form_instance",
        "entity_id": instance_id,
    }


def apply_save(
    dbsession: Session, plan: SavePlan, actor: Actor, reactions: Reactions
) -> SaveResult:
    """Write a plan: the instances if new, the audit events in one batch, the values in one,
    the warnings and the status row; then the reactions to :class:`FormSaved` (SDV, review,
    signatures, system queries) in this transaction, before the one flush of the form."""
    scope, reads = plan.scope, plan.reads
    if plan.outcome == "replayed":
        return SaveResult(reads.instance, replayed=True)
    if plan.outcome == "nothing":
        return SaveResult(None)
    visit, instance = reads.visit, reads.instance
    if visit is None:
        visit = new_visit_instance(dbsession, scope.subject, scope.visit, scope.visit_repeat, actor)
    if instance is None:
        instance = new_form_instance(
            dbsession,
            scope.subject,
            visit,
            scope.form.name,
            scope.form_repeat,
            status=plan.status,
            version_number=scope.version_number,
            actor=actor,
        )
    where = event_scope(scope, instance.id)
    events = audit.record_many(dbsession, actor, [where | event for event in plan.events])
    now = datetime.now(UTC)
    rows = dict(reads.rows)
    _store_values(
        dbsession,
        instance,
        rows,
        plan.changes,
        events[len(events) - len(plan.changes) :],
        now,
        actor.user_id,
    )
    for row in plan.to_resolve:
        row.resolved_at = now
    opened = [
        EntryWarning(
            tenant_id=instance.tenant_id,
            form_instance_id=instance.id,
            item_oid=item.oid,
            kind=kind,
            check_oid=check,
            message=message,
        )
        for item, kind, check, message in plan.to_open
    ]
    dbsession.add_all(opened)
    instance.open_warnings = len(plan.warnings)
    instance.status, instance.version_number = plan.status, scope.version_number
    instance.updated_at, instance.updated_by_id = now, actor.user_id  # also raises the lock
    reactions.publish(
        FormSaved(
            dbsession,
            actor,
            instance=instance,
            form=scope.form,
            definition=plan.definition,
            rows=rows,
            changed=frozenset(change.item.oid for change in plan.changes),
            opened=opened,
            resolved=list(plan.to_resolve),
        )
    )
    dbsession.flush()
    return SaveResult(instance, plan.changes)


def save_form(
    dbsession: Session,
    scope: EntryScope,
    definition: Definition,
    request: EntryRequest,
    *,
    missing_codes: set[str],
    actor: Actor,
    reactions: Reactions,
) -> SaveResult:
    """Validate and store one form: read, plan, apply. Raises SaveRefused (422), StaleForm
    (409) or FormClosed, having written nothing."""
    reads = read_for_save(dbsession, scope, definition)
    plan = plan_save(scope, definition, request, reads, missing_codes=missing_codes)
    return apply_save(dbsession, plan, actor, reactions)


def _store_values(
    dbsession: Session,
    instance: FormInstance,
    rows: dict[str, ItemValue],
    changes: list[Change],
    events: list[Any],
    now: datetime,
    actor_id: int | None,
) -> None:
    """New rows for values entered the first time; the changed ones updated in one batch (one
    round trip, where the ORM would send one UPDATE per row). ``rows`` ends up holding every
    value as stored, for what follows the save in the same transaction (SDV, signatures)."""
    updates = []
    for change, event in zip(changes, events, strict=True):
        columns = value_columns(change, event.id, now, actor_id)
        row = rows.get(change.item.oid)
        if row is None:
            rows[change.item.oid] = row = ItemValue(
                tenant_id=instance.tenant_id,
                form_instance_id=instance.id,
                item_oid=change.item.oid,
                **columns,
            )
            dbsession.add(row)
        else:
            updates.append({"id": row.id, **columns})
            for key, value in columns.items():  # the batch below bypasses the loaded row
                set_committed_value(row, key, value)
    if updates:
        dbsession.execute(update(ItemValue), updates)


def remove_row(
    dbsession: Session,
    subject: Subject,
    instance: FormInstance,
    reason: str,
    actor: Actor,
    reactions: Reactions,
) -> None:
    """Take a log row out (never deleted), audited with its reason; what covered its data
    reacts (:class:`FormRemoved`)."""
    old = instance.status
    instance.status, instance.status_reason = FormStatus.REMOVED, reason
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="entry.row_removed",
        entity_type="form_instance",
        entity_id=instance.id,
        field="status",
        old=old.value,
        new=FormStatus.REMOVED.value,
        reason=reason,
    )
    reactions.publish(FormRemoved(dbsession, actor, instance=instance, reason=reason))


def changes_since(
    dbsession: Session, instance: FormInstance, posted_target: Mapping[str, Stored]
) -> list[tuple[str, Stored, Stored]]:
    """For a refused stale save: the items whose saved state differs from what was posted."""
    current = stored_values(dbsession, instance)
    found = []
    for oid, mine in posted_target.items():
        row = current.get(oid)
        theirs = Stored(row.value, row.missing_code) if row else Stored()
        if theirs != mine:
            found.append((oid, mine, theirs))
    return found
