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

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from pyramid.i18n import TranslationString
from pyramid.registry import Registry
from sqlalchemy import (
    JSON,
    DateTime,
    String,
    Text,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from datacapt import audit, personal_values
from datacapt.actor import Actor
from datacapt.ecrf.action_tags import action_tags
from datacapt.ecrf.definition import Definition, Form, Item, ItemType, form_items
from datacapt.ecrf.page_values import Who, choice_labels, smart_values
from datacapt.ecrf.runtime import FormState, Page, evaluate_form
from datacapt.ecrf.values import REWRITTEN, Parsed, Typed, shown, typed
from datacapt.entry.events import SDV_COLUMNS, EntryAsked, FormRemoved, FormSaved, ValueRow
from datacapt.expressions import ExpressionError, parse
from datacapt.expressions.references import references
from datacapt.i18n import _
from datacapt.json_text import json_text
from datacapt.models import (
    EntryWarning,
    FormInstance,
    FormStatus,
    ItemValue,
    LockState,
    SignatureState,
    Study,
    Subject,
    VisitInstance,
    WarningKind,
)
from datacapt.models.types import UTCDateTime
from datacapt.numbers import in_range
from datacapt.plain_rows import plain_rows, plain_write
from datacapt.reactions import Reactions
from datacapt.subjects.services import entered_visit_instance

if TYPE_CHECKING:
    from datacapt.resources import FormEntryResource

MAX_REASON = 2000
_ITEMS_READ: dict[tuple[int, str | None], tuple[Definition, dict[str, Item]]] = {}


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """An item's saved state: the canonical value or a missing-data code (never both)."""

    value: str | None = None
    missing: str | None = None


def stored_values(
    dbsession: Session, instance: FormInstance | None, *, fresh: bool = False
) -> dict[str, ItemValue]:
    """The saved values of a form instance, by item OID (personal data opened, in memory).
    ``fresh``: as committed now, over the rows this session loaded (a save overtaken at its
    write reads what the other one stored)."""
    if instance is None:
        return {}
    rows = dbsession.scalars(
        select(ItemValue)
        .where(ItemValue.form_instance_id == instance.id)
        .execution_options(populate_existing=fresh)
    ).all()
    personal_values.open_rows(dbsession, {instance.id: instance.subject_id}, rows)
    return {row.item_oid: row for row in rows}


_SAVED_TABLE = ItemValue.__table__
_UTC = UTCDateTime()
#: The columns :func:`saved_rows` reads: :class:`ValueRow`'s fields in their order, then what
#: opens a sealed value; Core columns, read on the connection by position.
_SAVED = select(
    _SAVED_TABLE.c.id,
    _SAVED_TABLE.c.item_oid,
    _SAVED_TABLE.c.value,
    _SAVED_TABLE.c.missing_code,
    _SAVED_TABLE.c.sealed_value,
    _SAVED_TABLE.c.audit_event_id,
    _SAVED_TABLE.c.sdv_required,
    _SAVED_TABLE.c.sdv_changed,
    # read as the driver gives it, made UTC below only when set (not two calls a row)
    type_coerce(_SAVED_TABLE.c.verified_at, DateTime(timezone=True)),
    _SAVED_TABLE.c.verified_by_id,
    _SAVED_TABLE.c.form_instance_id,
    _SAVED_TABLE.c.sealed_key_id,
    _SAVED_TABLE.c.sealed_nonce,
).where(_SAVED_TABLE.c.form_instance_id == bindparam("form_instance_id"))


def saved_rows(dbsession: Session, instance: FormInstance | None) -> dict[str, ValueRow]:
    """The saved values of a form instance as a save reads them, by item OID: plain rows
    (personal data opened, in memory), which the save and its reactions change and the save
    writes by statements. Read as plain rows on the session's connection, the session flushed
    first as the ORM's query would (no ORM execution or row loading to set up)."""
    if instance is None:
        return {}
    found: dict[str, ValueRow] = {}
    registry = None
    rows = plain_rows(dbsession, _SAVED, {"form_instance_id": instance.id})
    for row in rows:
        columns = row[:10]
        if columns[4] is not None and columns[2] is None:  # sealed: opened in memory
            registry = registry or personal_values.registry_of(dbsession)
            opened = personal_values.open_value(registry, instance.subject_id, row)
            columns = (*columns[:2], opened, *columns[3:])
        if columns[8] is not None:
            columns = (*columns[:8], _UTC.process_result_value(columns[8], None), columns[9])
        found[row[1]] = ValueRow(*columns)
    return found


class ShownValue(NamedTuple):
    """What a form page reads of a saved value: the columns of :func:`shown_values`' rows."""

    form_instance_id: int
    item_oid: str
    value: str | None
    missing_code: str | None
    sdv_required: bool
    sdv_changed: bool
    verified_at: datetime | None
    sealed_key_id: str | None
    sealed_nonce: bytes | None
    sealed_value: bytes | None


_SHOWN = select(*(getattr(ItemValue, name) for name in ShownValue._fields)).where(
    ItemValue.form_instance_id == bindparam("form_instance_id")
)


def shown_values(dbsession: Session, instance: FormInstance | None) -> dict[str, Any]:
    """The saved values of a form instance as a page reads them, by item OID: plain rows with
    the attributes of :class:`ShownValue` (personal data opened), not ORM objects, which a page
    that only reads them would build, track and key by identity for nothing."""
    if instance is None:
        return {}
    found: dict[str, Any] = {}
    registry = None
    # plain rows: the ORM's execution would cost ~150 calls for a form of 50 values
    for row in plain_rows(dbsession, _SHOWN, {"form_instance_id": instance.id}):
        if row.sealed_value is not None and row.value is None:
            registry = registry or personal_values.registry_of(dbsession)
            plain = personal_values.open_value(registry, instance.subject_id, row)
            row = ShownValue(*row)._replace(value=plain)
        found[row.item_oid] = row
    return found


def subject_values(
    dbsession: Session, definition: Definition, subject: Subject, form: Form | None = None
) -> dict[tuple[str, int], dict[str, Typed]]:
    """The values of the subject, typed, by (visit, repeat) then item name: what expressions
    read across forms and visits. With ``form``, only those its expressions read (none: no
    query at all); else every one. One query at most."""
    items = _items_read(definition, form)
    found: dict[tuple[str, int], dict[str, Typed]] = {}
    if not items:
        return found
    statement = (
        select(
            FormInstance.visit,
            FormInstance.visit_repeat,
            ItemValue.form_instance_id,
            ItemValue.item_oid,
            ItemValue.value,
            ItemValue.sealed_key_id,
            ItemValue.sealed_nonce,
            ItemValue.sealed_value,
        )
        .join(ItemValue, ItemValue.form_instance_id == FormInstance.id)
        .where(
            FormInstance.subject_id == subject.id,
            FormInstance.status != FormStatus.REMOVED,
            or_(ItemValue.value.is_not(None), ItemValue.sealed_value.is_not(None)),
        )
    )
    if form is not None:
        statement = statement.where(ItemValue.item_oid.in_(sorted(items)))
    for row in dbsession.execute(statement):
        item = items.get(row.item_oid)
        if item is not None:
            value = row.value
            if row.sealed_value is not None:
                registry = personal_values.registry_of(dbsession)
                value = personal_values.open_value(registry, subject.id, row)
            found.setdefault((row.visit, row.visit_repeat), {})[item.name] = typed(item, value)
    return found


def _items_read(definition: Definition, form: Form | None) -> dict[str, Item]:
    """By OID, the items whose stored values ``form``'s expressions may read (every item of the
    design without a form, or when an expression does not parse). Depends on the published
    version only: computed once per process."""
    key = (id(definition), form.oid if form is not None else None)
    cached = _ITEMS_READ.get(key)
    if cached is not None and cached[0] is definition:
        return cached[1]
    items = {item.oid: item for _form, item in definition.items()}
    names = _names_read_elsewhere(form) if form is not None else None
    if names is not None:
        items = {oid: item for oid, item in items.items() if item.name in names}
    if len(_ITEMS_READ) >= 1024:
        _ITEMS_READ.clear()
    _ITEMS_READ[key] = (definition, items)
    return items


def _names_read_elsewhere(form: Form) -> frozenset[str] | None:
    """The names ``form``'s expressions read from other forms or visits (None: unknown)."""
    own = {item.name for item in form_items(form)}
    texts: list[str | None] = []
    for section in form.sections:
        texts.append(section.show_if)
        for subsection in section.subsections:
            texts.append(subsection.show_if)
            for block in subsection.blocks:
                texts.append(block.show_if)
                if isinstance(block, Item):
                    texts.append(block.calculation)
                    texts.extend(check.condition for check in block.edit_checks)
                    texts.extend(action_tags(block.annotation).expressions())
    names: set[str] = set()
    for text in filter(None, texts):
        try:
            found = references(parse(text))
        except ExpressionError:
            return None
        names.update(
            r.field
            for r in found
            if r.visit is not None or r.instance is not None or r.field not in own
        )
    return frozenset(names)


def context_values(
    everything: dict[tuple[str, int], dict[str, Typed]], visit: str, repeat: int
) -> tuple[dict[str, Typed], dict[str, dict[str, Typed]]]:
    """What [field] and [visit][field] read from a form of visit (``visit``, ``repeat``)."""
    here = dict(everything.get((visit, repeat), {}))
    visits = {name: values for (name, number), values in everything.items() if number == 1}
    return here, visits


def posted_from_stored(form: Form, values: Mapping[str, Any]) -> dict[str, list[str]]:
    """The raw inputs that reproduce saved values (to show a saved form); ``values``: ORM rows
    or those of :func:`shown_values`."""
    posted: dict[str, list[str]] = {}
    for block in form_items(form):  # read by ``in`` and subscript: no call per item
        if block.oid not in values or (row := values[block.oid]) is None or row.value is None:
            continue
        posted[block.name] = (
            row.value.split("|")
            if block.type is ItemType.MULTIPLE_CHOICE
            else [shown(block, row.value) if block.validation in REWRITTEN else row.value]
        )
    return posted


def over_stored(
    form: Form,
    rows: Mapping[str, ValueRow],
    values: Mapping[str, str],
    missing: Mapping[str, str],
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The inputs of a save that keeps what the form holds but for ``values`` (by item name,
    as stored: ISO dates, choices joined by ``|``; empty clears) and ``missing`` (item name →
    missing-data code): what an import or an API call sends over the saved form."""
    items = {item.name: item for item in form_items(form)}
    posted = posted_from_stored(form, rows)
    kept = {
        item.name: code
        for item in items.values()
        if item.oid in rows and (code := rows[item.oid].missing_code)
    }
    for name, value in values.items():
        kept.pop(name, None)
        if not value:
            posted.pop(name, None)
        elif items[name].type is ItemType.MULTIPLE_CHOICE:
            posted[name] = value.split("|")
        else:
            posted[name] = [value]
    for name, code in missing.items():
        posted.pop(name, None)
        kept[name] = code
    return posted, kept


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
    """The form is frozen, locked or signed, or would be added to a visit or casebook frozen
    or locked as a whole: it takes no entry (the ACL says so first; this is the same rule where
    no request is involved)."""


class EntryBlocked(FormClosed):
    """Another capability refused entry for the subject (see :class:`EntryAsked`)."""

    def __init__(self, refusals: list[TranslationString]) -> None:
        super().__init__("entry blocked")
        self.refusals = refusals


def is_closed(instance: FormInstance | None) -> bool:
    return instance is not None and (
        instance.lock_state is not LockState.OPEN
        or instance.signature_state is SignatureState.SIGNED
    )


def adds_to_closed(subject: Subject, visit: VisitInstance | None) -> bool:
    """Whether something new under ``visit`` (or a new visit of ``subject``) would enter a
    visit or casebook frozen or locked as a whole."""
    return subject.lock_state is not LockState.OPEN or (
        visit is not None and visit.lock_state is not LockState.OPEN
    )


@dataclass
class Change:
    item: Item
    old: Stored
    new: Stored
    #: The parse that gave ``new.value`` when it is the item's own reading of what was typed
    #: (not a calculation): its typed value is ``typed(item, new.value)``, read again for free.
    parsed: Parsed | None = None


@dataclass
class SaveResult:
    instance: FormInstance | None  # None: nothing entered on a form never started
    changes: list[Change] = field(default_factory=list)
    replayed: bool = False  # the same save arrived twice; the second changed nothing
    notes: list[TranslationString] = field(default_factory=list)  # from the reactions


@dataclass(frozen=True)
class EntryRequest:
    """What one save asks for."""

    posted: Mapping[str, list[str]]
    missing: Mapping[str, str]  # item name → missing-data code chosen
    complete: bool
    reason: str
    lock: int | None  # the instance's lock_version the page showed (None: a new instance)
    today: date  # the date expressions read as today(), where whoever saves is
    #: Item name → why the file sent for it was not taken (the item keeps its saved value).
    refused: Mapping[str, TranslationString] = field(default_factory=dict)
    who: Who = field(default_factory=Who)  # for the smart variables
    now: datetime | None = None  # the time where whoever saves is, for @NOW


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
    instances: tuple[VisitInstance | None, FormInstance | None] | None = None


def form_scope(context: FormEntryResource) -> EntryScope:
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
        instances=(visit.instance, context.instance),
    )


def audited_value(
    registry: Registry | None, item: Item, stored: Stored, owner: personal_values.Owner
) -> str | None:
    """An item's value as the audit trail records it: personal data only sealed (see
    :mod:`datacapt.personal_values`)."""
    if stored.missing:
        return f"missing:{stored.missing}"
    if item.identifier:
        return personal_values.audited(personal_values.keys(registry), owner, stored.value)
    return stored.value


def _missing_codes(
    state: FormState, request: EntryRequest, codes: set[str], errors: dict[str, TranslationString]
) -> dict[str, str]:
    chosen: dict[str, str] = {}
    items = {s.name: s.block for s in state.items()}  # the form's items, listed by the state
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


def _typed_columns(
    item: Item, value: str | None, parsed: Parsed | None = None
) -> tuple[Decimal | None, date | None]:
    """The typed copies kept beside the canonical text, for queries and exports (the column
    holds 28 integer digits; larger numbers keep only their text). Personal data has none: its
    value is only kept sealed. ``parsed``: the parse that gave ``value``, whose typed value is
    the one ``typed`` would read from it again."""
    if item.identifier:
        return None, None
    result = typed(item, value) if parsed is None else parsed.value
    kind = result.__class__  # the kernel's own types, no subclasses
    if kind is Decimal:
        return (result if in_range(result) else None), None
    if kind is datetime:
        return None, result.date()
    if kind is date:
        return None, result
    return None, None


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
    instance = FormInstance(
        **_form_columns(
            subject, visit, form, repeat, status, version_number, actor.user_id, datetime.now(UTC)
        )
    )
    dbsession.add(instance)
    dbsession.flush()
    return instance


#: The lock of a form instance added but never saved (:func:`new_form_instance`: a log row). A
#: first save inserts its form one past it, claimed at once; a save that found no form and
#: whose insert meets one claims that one at this lock, and fails if a save was there first.
FIRST_LOCK = 1


def _form_columns(
    subject: Subject,
    visit: VisitInstance,
    form: str,
    repeat: int,
    status: FormStatus,
    version_number: int,
    actor_id: int | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "tenant_id": subject.tenant_id,
        "study_id": subject.study_id,
        "site_id": subject.site_id,
        "subject_id": subject.id,
        "visit_instance_id": visit.id,
        "visit": visit.visit,
        "visit_repeat": visit.repeat,
        "form": form,
        "repeat": repeat,
        "status": status,
        "version_number": version_number,
        "created_at": now,
        "updated_at": now,
        "updated_by_id": actor_id,
    }


def _started(
    dbsession: Session, plan: SavePlan, visit: VisitInstance, now: datetime, actor_id: int | None
) -> tuple[FormInstance, bool]:
    """The form instance a first save writes to, and whether this save inserted it (claimed, as
    :func:`_claim` leaves a form). When another one was inserted since this save read, that
    one, unclaimed here: ``ON CONFLICT DO NOTHING`` meets it without a unique violation, whose
    only answer would be a retry."""
    scope = plan.scope
    columns = _form_columns(
        scope.subject,
        visit,
        scope.form.name,
        scope.form_repeat,
        plan.status,
        scope.version_number,
        actor_id,
        now,
    )
    dialect = postgresql if dbsession.get_bind().dialect.name == "postgresql" else sqlite
    inserted = dbsession.scalars(
        dialect.insert(FormInstance)
        .values(columns | {"open_warnings": len(plan.warnings), "lock_version": FIRST_LOCK + 1})
        .on_conflict_do_nothing(index_elements=["visit_instance_id", "form", "repeat"])
        .returning(FormInstance)
    ).one_or_none()
    if inserted is not None:
        return inserted, True
    existing = dbsession.scalars(
        select(FormInstance).where(
            FormInstance.visit_instance_id == visit.id,
            FormInstance.form == scope.form.name,
            FormInstance.repeat == scope.form_repeat,
        )
    ).one()
    return existing, False


@dataclass(frozen=True)
class SaveReads:
    """What a save reads before it plans: the instances, the form's stored values and open
    warnings, and every value of the subject (what expressions read across forms)."""

    visit: VisitInstance | None = None
    instance: FormInstance | None = None
    rows: dict[str, ValueRow] = field(default_factory=dict)
    open_warnings: list[EntryWarning] = field(default_factory=list)
    everything: dict[tuple[str, int], dict[str, Typed]] = field(default_factory=dict)


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
        saved_rows(dbsession, instance),
        warnings,
        subject_values(dbsession, definition, scope.subject, scope.form),
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
    return _target(state, missing)[0]


def _target(
    state: FormState, missing: dict[str, str]
) -> tuple[dict[str, Stored], dict[str, Parsed], dict[str, Item]]:
    """:func:`stored_target`, and by item OID the parse that gave each value stored when it is
    the item's own reading of what was typed (a calculation's value is not: its text may be
    rounded), for the typed copies (:attr:`Change.parsed`), and the items (the form's, as the
    state lists them: not listed again)."""
    target: dict[str, Stored] = {}
    parses: dict[str, Parsed] = {}
    items: dict[str, Item] = {}
    stored = state.stored()
    calculated = ItemType.CALCULATED
    for block_state in state.items():
        item = block_state.block
        assert isinstance(item, Item)
        value = stored.get(item.name)
        code = missing.get(item.name) if block_state.visible and value is None else None
        target[item.oid] = Stored(value=value, missing=code)
        items[item.oid] = item
        parsed = block_state.parsed
        if value is not None and parsed.stored == value and item.type is not calculated:
            parses[item.oid] = parsed
    return target, parses, items


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
    target: dict[str, Stored] = field(default_factory=dict)  # every item as the save leaves it


def _evaluate(
    definition: Definition,
    form: Form,
    posted: Mapping[str, list[str]],
    everything: dict[tuple[str, int], dict[str, Typed]],
    place: tuple[str, int],
    today: date,
    page: Page,
    who: Who,
) -> FormState:
    """The form's state at visit ``place`` (name, repeat); ``page`` gives whether it is saved,
    opened, and when (its smart variables, repeats and labels are added here)."""
    visit, repeat = place
    here, visits = context_values(everything, visit, repeat)
    if here:  # this form's own values come from the request
        for item in form_items(form):
            here.pop(item.name, None)
    repeats = {
        (None if name == visit else name, number): values
        for (name, number), values in everything.items()
        if (name, number) != place
    }
    page = replace(
        page,
        smart=smart_values(definition, form, visit, repeat, everything, who),
        repeats=repeats,
        labels=choice_labels(definition),
    )
    return evaluate_form(form, posted, others=here, visits=visits, today=today, page=page)


def entry_state(
    dbsession: Session,
    definition: Definition,
    subject: Subject,
    place: tuple[str, int],
    form: Form,
    posted: Mapping[str, list[str]],
    *,
    today: date,
    page: Page,
    who: Who,
) -> FormState:
    """The state of a form of visit ``place`` (name, repeat) for ``posted`` on ``today``,
    reading the subject's other values only when an expression of the form reaches them."""
    everything = subject_values(dbsession, definition, subject, form)
    return _evaluate(definition, form, posted, everything, place, today, page, who)


def _state(
    scope: EntryScope, definition: Definition, request: EntryRequest, reads: SaveReads
) -> FormState:
    saved = None if reads.instance is None else posted_from_stored(scope.form, reads.rows)
    state = _evaluate(
        definition,
        scope.form,
        request.posted,
        reads.everything,
        (scope.visit, scope.visit_repeat),
        request.today,
        Page(saved=saved, now=request.now),
        request.who,
    )
    if request.refused:  # files refused: rarely, so no look per item otherwise
        for block_state in state.items():
            message = request.refused.get(block_state.name or "")
            if message is not None:
                block_state.parsed = Parsed(None, None, error=message)
    return state


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
    state = _state(scope, definition, request, reads)
    errors: dict[str, TranslationString] = dict(state.errors)
    missing = _missing_codes(state, request, missing_codes, errors)
    for block_state, check in state.blocking_checks:
        errors.setdefault(
            block_state.name or "",
            TranslationString(check.message.get(definition.default_language, "")),
        )
    target, parses, items = _target(state, missing)
    instance = reads.instance
    if is_closed(instance) or (instance is None and adds_to_closed(scope.subject, reads.visit)):
        raise FormClosed()
    changes = []
    rows = reads.rows
    for oid, new in target.items():  # compared field by field: no Stored made, no look per item
        if oid not in rows:
            if new.value is not None or new.missing is not None:
                changes.append(Change(items[oid], Stored(), new, parses.get(oid)))
            continue
        row = rows[oid]
        if row.value != new.value or row.missing_code != new.missing:
            old = Stored(row.value, row.missing_code)
            changes.append(Change(items[oid], old, new, parses.get(oid)))
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
            "old": change.old,
            "new": change.new,
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
        target=target,
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


def recorded_events(
    registry: Registry | None, plan: SavePlan, instance_id: int
) -> list[dict[str, Any]]:
    """The plan's events as the audit trail records them, once the form instance is known:
    placed on the form, a value change's states as :func:`audited_value` gives them (personal
    data sealed to the instance)."""
    where = event_scope(plan.scope, instance_id)
    tenant_id, subject_id = where["tenant_id"], where["subject_id"]
    personal = {change.item.oid: change.item for change in plan.changes if change.item.identifier}
    recorded = []
    for event in plan.events:
        if event["action"] == "entry.value_changed":
            old, new = event["old"], event["new"]
            item = personal.get(event["field"]) if personal else None
            if item is not None:  # sealed to its owner
                owner = personal_values.Owner(tenant_id, subject_id, instance_id, item.oid)
                event = event | {
                    "old": audited_value(registry, item, old, owner),
                    "new": audited_value(registry, item, new, owner),
                }
            else:  # audited_value's plain case, without a call per value
                event = event | {
                    "old": f"missing:{old.missing}" if old.missing else old.value,
                    "new": f"missing:{new.missing}" if new.missing else new.value,
                }
        recorded.append(where | event)
    return recorded


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
    previous = instance.status if instance is not None else None
    chain = audit.chain_of(scope.study.tenant_id, scope.study.id, scope.subject.id)
    if audit.lock_chains(dbsession, [chain]):  # every writer of a subject: its chain, then rows
        check_entry_allowed(dbsession, scope.subject, actor, reactions, locked=True)
        if instance is None and _closed_meanwhile(dbsession, scope.subject, visit, None):
            raise FormClosed()
    if visit is None:
        visit = entered_visit_instance(
            dbsession, scope.subject, scope.visit, scope.visit_repeat, actor
        )
    now = datetime.now(UTC)
    expected, claimed, signed, heads = FIRST_LOCK, False, None, None
    if instance is None:
        instance, claimed = _started(dbsession, plan, visit, now, actor.user_id)
    else:
        expected = instance.lock_version
    if not claimed:
        claim = _claim(dbsession, plan, instance, expected, now, actor.user_id)
        if claim is None:
            if _closed_meanwhile(dbsession, scope.subject, visit, instance):
                raise FormClosed()
            if _as_planned(dbsession, plan, instance):
                return SaveResult(instance, replayed=True)
            raise StaleForm(instance)
        signed, heads = claim
    registry = dbsession.info.get("registry")
    events = audit.record_ids(
        dbsession, actor, recorded_events(registry, plan, instance.id), heads=heads
    )
    rows = dict(reads.rows)
    added = _store_values(
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
    saved = FormSaved(
        dbsession,
        actor,
        instance=instance,
        form=scope.form,
        definition=plan.definition,
        rows=rows,
        changed=frozenset(change.item.oid for change in plan.changes),
        opened=opened,
        resolved=list(plan.to_resolve),
        previous_status=previous,
        signed=signed,
    )
    reactions.publish(saved)
    _store_marks(dbsession, instance, rows, saved.marked, added)
    dbsession.flush()
    return SaveResult(instance, plan.changes, notes=saved.notes)


@functools.lru_cache(maxsize=2)
def _claim_update(postgresql: bool) -> Any:
    """:func:`_claim`'s statement, built once per database and run on the session's connection
    (a Core statement of fixed text: no ORM update to set up on every save), returning whether
    the subject holds a valid signature and, as the events' chain is locked, the database clock
    and the chain's last link (:func:`audit.head_columns`): no statement of their own."""
    table, subject = FormInstance.__table__, Subject.__table__
    visit = VisitInstance.__table__
    signed = select(subject.c.signed).where(subject.c.id == table.c.subject_id).scalar_subquery()
    names = ("status", "version_number", "open_warnings", "updated_at", "updated_by_id")
    names += ("lock_version",)  # the where clause's bound lock is "expected"
    chain = bindparam("chain", type_=String())
    is_open = literal(LockState.OPEN.value)
    return (
        update(table)
        .where(
            table.c.id == bindparam("instance_id"),
            table.c.lock_version == bindparam("expected"),
            # frozen or locked since traversal read it open (which does not raise its lock);
            # signed meanwhile, it is saved and the signature broken (review's reaction)
            table.c.lock_state == is_open,
            ~exists().where(subject.c.id == table.c.subject_id, subject.c.lock_state != is_open),
            ~exists().where(visit.c.id == table.c.visit_instance_id, visit.c.lock_state != is_open),
        )
        .values({name: bindparam(name, type_=table.c[name].type) for name in names})
        .returning(signed, *audit.head_columns(chain, postgresql))
    )


def _claim(
    dbsession: Session,
    plan: SavePlan,
    instance: FormInstance,
    expected: int,
    now: datetime,
    actor_id: int | None,
) -> tuple[bool, audit.Heads] | None:
    """The form's status row written first, by a conditional UPDATE (``WHERE lock_version`` =
    ``expected``, the lock the plan was checked against, :data:`FIRST_LOCK` for a form never
    started) whose row count decides, so that of two saves that read the same lock the second
    writes nothing (False, ``instance`` as the other left it), never a 500 after half its
    statements. The caller holds the subject's chain lock, taken by a statement before this
    one, so the save appends its events to the chain as this statement reads it. Returns
    whether the subject holds a valid signature, read in the same statement under that lock
    (signing takes it too), and the clock and chain's last link for the save's events; None if
    the row was not written."""
    columns = {
        "status": plan.status,
        "version_number": plan.scope.version_number,
        "open_warnings": len(plan.warnings),
        "updated_at": now,
        "updated_by_id": actor_id,
        "lock_version": expected + 1,
    }
    dbsession.flush()  # the statement below does not flush the session as the ORM's would
    scope = plan.scope
    chain = audit.chain_of(scope.study.tenant_id, scope.study.id, scope.subject.id)
    parameters = {"instance_id": instance.id, "expected": expected, "chain": chain}
    claim = _claim_update(dbsession.connection().dialect.name == "postgresql")
    written = next(iter(plain_rows(dbsession, claim, parameters | columns, flush=False)), None)
    if written is None:
        dbsession.refresh(instance)  # the lock and status the other save left
        return None
    for name, value in columns.items():
        set_committed_value(instance, name, value)
    signed, *head = written
    return bool(signed), audit.read_heads(chain, *head)


def _closed_meanwhile(
    dbsession: Session,
    subject: Subject,
    visit: VisitInstance | None,
    instance: FormInstance | None,
) -> bool:
    """Whether the form (``instance`` as read again), its visit or its casebook was frozen or
    locked since traversal read them open, which the save learns holding the subject's lock
    (freezing takes it too): read again, a statement each, only for a form's first save or a
    claim that wrote nothing."""
    dbsession.refresh(subject, ["lock_state"])
    if visit is not None and visit in dbsession:
        dbsession.refresh(visit, ["lock_state"])
    frozen = instance is not None and instance.lock_state is not LockState.OPEN
    return frozen or adds_to_closed(subject, visit)


def _as_planned(dbsession: Session, plan: SavePlan, instance: FormInstance) -> bool:
    """Whether the save that overtook this one left the form as this one would have (its
    status and every item): the same values sent twice, the second overtaken at its write, is
    saved as when sent one after the other, with no events of its own."""
    if instance.status is not plan.status:
        return False
    stored = stored_values(dbsession, instance, fresh=True)
    return all(
        (Stored(row.value, row.missing_code) if (row := stored.get(oid)) else Stored()) == mine
        for oid, mine in plan.target.items()
    )


def check_entry_allowed(
    dbsession: Session,
    subject: Subject,
    actor: Actor,
    reactions: Reactions,
    *,
    locked: bool = False,
) -> None:
    """Raise EntryBlocked when a capability refuses entry for ``subject`` (see
    :class:`EntryAsked`): every write path (pages, questionnaires, API, imports) asks first,
    and :func:`apply_save` asks again, ``locked``, once it holds the subject's lock and before
    it writes (a withdrawal committed in between is not overtaken)."""
    asked = EntryAsked(dbsession, actor, subject=subject, locked=locked)
    reactions.publish(asked)
    if asked.refusals:
        raise EntryBlocked(asked.refusals)


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
    (409) or FormClosed (EntryBlocked when a capability refuses), having written nothing."""
    check_entry_allowed(dbsession, scope.subject, actor, reactions)
    reads = read_for_save(dbsession, scope, definition)
    plan = plan_save(scope, definition, request, reads, missing_codes=missing_codes)
    return apply_save(dbsession, plan, actor, reactions)


def value_columns(
    registry: Registry | None,
    place: tuple[int, int, int],
    change: Change,
    audit_event_id: int,
    now: datetime,
    actor_id: int | None,
) -> dict[str, Any]:
    """The ``item_value`` columns a change writes, personal data sealed, plain otherwise, with
    the typed copies: the one place a value is written (a save, and the benchmark's bulk
    loader). ``place``: the value's tenant, subject and form instance."""
    return _changed_columns(registry, place, change, audit_event_id) | {
        "updated_at": now,
        "updated_by_id": actor_id,
    }


def _changed_columns(
    registry: Registry | None, place: tuple[int, int, int], change: Change, audit_event_id: int
) -> dict[str, Any]:
    """:func:`value_columns` but the time and actor, which a save's rows share; the owner a
    personal value is sealed to made only for such a value."""
    item, value = change.item, change.new.value
    number, day = _typed_columns(item, value, change.parsed)
    if item.identifier:
        owner = personal_values.Owner(*place, item.oid)
        text = personal_values.stored_columns(personal_values.keys(registry), owner, value)
        return text | {
            "missing_code": change.new.missing,
            "value_number": number,
            "value_date": day,
            "audit_event_id": audit_event_id,
        }
    return {  # the same columns, plain
        "value": value,
        "sealed_key_id": None,
        "sealed_nonce": None,
        "sealed_value": None,
        "value_fingerprint": None,
        "missing_code": change.new.missing,
        "value_number": number,
        "value_date": day,
        "audit_event_id": audit_event_id,
    }


#: The ``item_value`` columns a save writes (those :func:`value_columns` gives).
_VALUE_COLUMNS = (
    "value",
    *personal_values.SEALED_COLUMNS,
    "missing_code",
    "value_number",
    "value_date",
    "audit_event_id",
    "updated_at",
    "updated_by_id",
)


def _value_update() -> Any:
    """The UPDATE of one stored value by its id, every column a save writes: sent as one
    batch (executemany) of plain rows, not through the ORM's unit of work."""
    table = ItemValue.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(name, type_=table.c[name].type) for name in _VALUE_COLUMNS})
    )


_VALUE_UPDATE = _value_update()
#: The changed columns of each row travel as one JSON array (PostgreSQL), the shared time and
#: actor beside it.
_RECORDSET_COLUMNS = ("id", *_VALUE_COLUMNS[:-2])


def _value_recordset_update() -> Any:
    """PostgreSQL's UPDATE of a save's values in one statement of one parameter: the rows made
    of the table's own type by ``json_populate_recordset`` (each value read by its column's
    type), instead of a batch of one UPDATE per row the driver sends and encodes row by row."""
    table = ItemValue.__table__
    rows = (
        func.json_populate_recordset(
            literal_column(f"NULL::{table.name}"), cast(bindparam("rows", type_=Text()), JSON)
        )
        .table_valued(*_RECORDSET_COLUMNS)
        .alias("changed")
    )
    return (
        update(table)
        .where(table.c.id == rows.c.id)
        .values(
            {name: rows.c[name] for name in _RECORDSET_COLUMNS[1:]}
            | {
                "updated_at": bindparam("updated_at", type_=table.c.updated_at.type),
                "updated_by_id": bindparam("updated_by_id", type_=table.c.updated_by_id.type),
            }
        )
    )


_VALUE_RECORDSET_UPDATE = _value_recordset_update()


def _encode_rows(rows: list[dict[str, Any]]) -> str:
    """The rows of :data:`_VALUE_RECORDSET_UPDATE` as JSON: a typed copy is its text as its
    column reads it (a date in ISO 8601, a ``Decimal`` by ``str``); the bytes of a sealed value
    are made text first (:func:`_json_row`)."""
    return json_text(rows, default=str)


def _json_row(row_id: int | None, columns: dict[str, Any]) -> dict[str, Any]:
    """A changed row for :func:`_encode_rows`: a sealed value's bytes as ``bytea``'s text."""
    row = {"id": row_id} | columns
    for name, value in columns.items():
        if isinstance(value, bytes):
            row[name] = "\\x" + value.hex()
    return row


def _store_values(
    dbsession: Session,
    instance: FormInstance,
    rows: dict[str, ValueRow],
    changes: list[Change],
    event_ids: list[int],
    now: datetime,
    actor_id: int | None,
) -> dict[str, dict[str, Any]]:
    """The changed values updated in one statement (one round trip, where the ORM would send
    one UPDATE per row); the columns of the values entered the first time returned by item
    OID, inserted by :func:`_store_marks` once the reactions set their SDV marks. ``rows`` ends
    up holding every value as stored, for what follows the save in the same transaction (SDV,
    signatures); personal data is sealed in the database and plain only in memory."""
    registry = dbsession.info.get("registry")
    updates: list[tuple[int | None, dict[str, Any]]] = []
    added: dict[str, dict[str, Any]] = {}
    place = (instance.tenant_id, instance.subject_id, instance.id)  # read once, not per value
    shared = {"updated_at": now, "updated_by_id": actor_id}
    for change, event_id in zip(changes, event_ids, strict=True):
        oid = change.item.oid
        columns = _changed_columns(registry, place, change, event_id)
        if oid in rows:
            row = rows[oid]
            updates.append((row.id, columns))
        else:
            rows[oid] = row = ValueRow(None, oid)
            added[oid] = columns | shared
        # the row as the save leaves it; a personal value plain in memory only
        row.value, row.missing_code = change.new.value, change.new.missing
        row.sealed_value, row.audit_event_id = columns["sealed_value"], event_id
    if not updates:
        return added
    connection = dbsession.connection()  # plain rows: no ORM execution to set up
    if connection.dialect.name != "postgresql":
        rows_of = [{"row_id": row_id} | columns | shared for row_id, columns in updates]
        connection.execute(_VALUE_UPDATE, rows_of)
        return added
    plain_write(
        dbsession,
        _VALUE_RECORDSET_UPDATE,
        {
            "rows": _encode_rows(
                [
                    {"id": row_id} | columns
                    if columns["sealed_value"] is None
                    else _json_row(row_id, columns)
                    for row_id, columns in updates
                ]
            ),
            **shared,
        },
    )
    return added


#: A row's SDV marks, as the save writes them.
_marks = attrgetter(*SDV_COLUMNS)


_MARKS_UPDATE = (
    update(ItemValue.__table__)
    .where(ItemValue.__table__.c.id == bindparam("row_id"))
    .values({name: bindparam(name) for name in SDV_COLUMNS})
)


def _store_marks(
    dbsession: Session,
    instance: FormInstance,
    rows: dict[str, ValueRow],
    marked: set[str],
    added: dict[str, dict[str, Any]],
) -> None:
    """After the reactions: the values entered the first time inserted with the SDV marks the
    reactions gave them (one statement), and the stored ones whose marks they changed
    (``marked``, as they said: no reading of every row's marks before and after) updated (one
    batch, none in the common case)."""
    if added:
        dbsession.execute(
            insert(ItemValue.__table__),
            [
                {
                    "tenant_id": instance.tenant_id,
                    "form_instance_id": instance.id,
                    "item_oid": oid,
                    **columns,
                    **dict(zip(SDV_COLUMNS, _marks(rows[oid]), strict=True)),
                }
                for oid, columns in added.items()
            ],
        )
    changed = [
        {"row_id": row.id, **dict(zip(SDV_COLUMNS, _marks(row), strict=True))}
        for oid, row in rows.items()
        if oid in marked and row.id is not None
    ]
    if changed:
        dbsession.execute(_MARKS_UPDATE, changed)
    _expire_loaded(dbsession, instance.id)


def _expire_loaded(dbsession: Session, instance_id: int) -> None:
    """Values of the form this session loaded as ORM objects before the save (another reader
    in the same transaction) are read again when next used: the save writes by statements."""
    for loaded in list(dbsession.identity_map.values()):
        if isinstance(loaded, ItemValue) and loaded.form_instance_id == instance_id:
            dbsession.expire(loaded)


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
    current = stored_values(dbsession, instance, fresh=True)
    found = []
    for oid, mine in posted_target.items():
        row = current.get(oid)
        theirs = Stored(row.value, row.missing_code) if row else Stored()
        if theirs != mine:
            found.append((oid, mine, theirs))
    return found
