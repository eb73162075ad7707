"""What every export reads: the study's items across its published versions, and its forms with
their values, streamed from the database a form at a time in a stable order.

Values are read as they are now, or as the audit trail says they were at ``options.as_of``: the
latest ``entry.value_changed`` event of each (form, item) up to then, picked in the database by
a window function (PostgreSQL and SQLite alike), with the form's status and lock state of that
moment from its own events; forms created later are absent, forms removed later present."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

from pyramid.registry import Registry
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from datacapt import personal_values
from datacapt.actor import Actor
from datacapt.ecrf.definition import (
    Item,
    ItemType,
    Validation,
    form_items,
    text_in,
)
from datacapt.ecrf.versions import published_designs
from datacapt.exports.options import ExportOptions
from datacapt.exports.subject_columns import SubjectTable
from datacapt.models import (
    AuditEvent,
    FormInstance,
    ItemValue,
    Site,
    Study,
    Subject,
    User,
)
from datacapt.models.entry import FormStatus, LockState
from datacapt.models.types import UTCDateTime
from datacapt.numbers import in_range
from datacapt.uploads import services as uploads

#: Rows fetched per round trip; the database cursor streams the rest.
BATCH = 2000
CHOICE_TYPES = frozenset(
    {
        ItemType.SINGLE_CHOICE,
        ItemType.MULTIPLE_CHOICE,
        ItemType.YES_NO,
        ItemType.TRUE_FALSE,
        ItemType.ACKNOWLEDGEMENT,
    }
)
DATED = frozenset({Validation.DATE, Validation.DATETIME, Validation.PARTIAL_DATE})
NUMERIC = frozenset({Validation.INTEGER, Validation.NUMBER})
DAYS = frozenset({Validation.DATE, Validation.DATETIME})
#: What the audit trail records for a missing-data code in place of a value.
MISSING_PREFIX = "missing:"
BOOLEAN_LABELS = {
    ItemType.YES_NO: {"1": "Yes", "0": "No"},
    ItemType.TRUE_FALSE: {"1": "True", "0": "False"},
    ItemType.ACKNOWLEDGEMENT: {"1": "Acknowledged"},
}


@dataclass
class Column:
    """An item as exports show it, as the latest published version that has it defines it."""

    form: str
    item: Item
    language: str
    versions: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return text_in(self.item.label, self.language, self.language)

    @property
    def coded(self) -> bool:
        return self.item.type in CHOICE_TYPES

    @property
    def dated(self) -> bool:
        """A date, a date and time or a partial date: what date shifting moves."""
        return self.item.type is ItemType.TEXT and self.item.validation in DATED

    def code_labels(self) -> dict[str, str]:
        fixed = BOOLEAN_LABELS.get(self.item.type)
        if fixed is not None:
            return fixed
        return {c.code: text_in(c.label, self.language, self.language) for c in self.item.choices}

    def decoded(self, value: str) -> str:
        """The labels of a stored code (codes of a multiple choice joined by ``|``)."""
        labels = self.code_labels()
        return "|".join(labels.get(code, code) for code in value.split("|"))


@dataclass
class Catalogue:
    """The forms and their items over every published version (the latest's order first, then
    what only earlier versions had, so data saved under an earlier version still has a column).
    Personal-data items are left out unless asked for (``personal``), by those allowed."""

    forms: dict[str, list[Column]] = field(default_factory=dict)
    visits: list[str] = field(default_factory=list)
    #: Personal-data items kept, and dates shifted per subject: what the codebook tells.
    personal: bool = False
    dates_shifted: bool = False

    def columns(self) -> Iterator[Column]:
        for columns in self.forms.values():
            yield from columns


def catalogue(dbsession: Session, study: Study, *, personal: bool = False) -> Catalogue:
    found = Catalogue(personal=personal)
    by_oid: dict[str, Column] = {}
    left_out: set[str] = set()
    for design in published_designs(dbsession, study):  # parsed once per process, not per page
        number, definition = design.number, design.definition
        for form in definition.forms:
            columns = found.forms.setdefault(form.name, [])
            for item in form_items(form):
                if item.identifier and not personal:
                    left_out.add(item.oid)
                column = by_oid.get(item.oid)
                if column is None:
                    column = by_oid[item.oid] = Column(form.name, item, definition.default_language)
                    columns.append(column)
                column.versions.append(number)
        found.visits.extend(
            v.name for v in definition.schedule.visits if v.name not in found.visits
        )
    for name, columns in found.forms.items():
        found.forms[name] = [column for column in columns if column.item.oid not in left_out]
    return found


class StoredValue(NamedTuple):
    """A value as stored; a tuple, as millions of them are made per export."""

    text: str | None
    number: Decimal | None
    day: date | None
    missing_code: str | None
    updated_at: datetime | None
    updated_by: str | None

    @property
    def as_number(self) -> Decimal | None:
        """The value as a number: its typed copy, or its canonical text (a calculation's
        result is stored as text); None for a text that is not a number."""
        if self.number is not None or self.text is None:
            return self.number
        try:
            number = Decimal(self.text)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None


@dataclass(frozen=True)
class FormRecord:
    """One form of one visit of one subject, with its values by item OID."""

    subject: str
    site: str
    visit: str
    visit_repeat: int
    form: str
    form_repeat: int
    status: FormStatus
    lock_state: LockState
    values: dict[str, StoredValue]
    subject_id: int | None = None  # what a subject's date shift is derived from
    #: The form instance's id and the study version it was last saved with.
    instance_id: int = 0
    version: int = 0


STATE_FIELDS = ("status", "lock_state")


def _state_events(study: Study, as_of: datetime, before: bool) -> Any:
    """Each form's last status and lock-state event until ``as_of`` (its new value), or its
    first one after (its old value), ranked 1 by a window function."""
    kind = case(
        (AuditEvent.action == "entry.form_started", literal("status")), else_=AuditEvent.field
    )
    when = AuditEvent.occurred_at <= as_of if before else AuditEvent.occurred_at > as_of
    order = (
        (AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        if before
        else (AuditEvent.occurred_at, AuditEvent.id)
    )
    return (
        select(
            AuditEvent.entity_id,
            kind.label("kind"),
            (AuditEvent.new_value if before else AuditEvent.old_value).label("state"),
            func.row_number()
            .over(partition_by=(AuditEvent.entity_id, kind), order_by=order)
            .label("rank"),
        )
        .where(
            AuditEvent.study_id == study.id,
            AuditEvent.entity_type == "form_instance",
            or_(AuditEvent.field.in_(STATE_FIELDS), AuditEvent.action == "entry.form_started"),
            when,
        )
        .subquery("before" if before else "after")
    )


def _selected(
    query: Select[Any], study: Study, options: ExportOptions, forms: list[str]
) -> tuple[Select[Any], ColumnElement[Any], ColumnElement[Any]]:
    """``query`` over form instances narrowed to what the options select, and the forms'
    status and lock state as exported: now, or at ``options.as_of`` (what the last event until
    then set, else what the first one after found, else what it is now)."""
    query = query.join(Subject, Subject.id == FormInstance.subject_id).join(
        Site, Site.id == FormInstance.site_id
    )
    status: ColumnElement[Any] = FormInstance.status
    lock_state: ColumnElement[Any] = FormInstance.lock_state
    if options.as_of is not None:
        found = {}
        for before in (True, False):
            events = _state_events(study, options.as_of, before)
            for name in STATE_FIELDS:
                ranked = events.alias(f"{name}_{'before' if before else 'after'}")
                query = query.outerjoin(
                    ranked,
                    and_(
                        ranked.c.entity_id == cast(FormInstance.id, String),
                        ranked.c.kind == name,
                        ranked.c.rank == 1,
                    ),
                )
                found[name, before] = ranked.c.state
        status, lock_state = (
            type_coerce(
                func.coalesce(found[name, True], found[name, False], cast(current, String)),
                current.type,
            )
            for name, current in zip(STATE_FIELDS, (status, lock_state), strict=True)
        )
        query = query.where(FormInstance.created_at <= options.as_of)
    query = query.where(
        FormInstance.study_id == study.id,
        Subject.study_id == study.id,
        status != FormStatus.REMOVED,
        FormInstance.form.in_(forms),
    )
    if options.sites:
        query = query.where(Site.code.in_(options.sites))
    if options.subjects:
        query = query.where(Subject.label.in_(options.subjects))
    if options.visits:
        query = query.where(FormInstance.visit.in_(options.visits))
    if options.statuses:
        query = query.where(status.in_(options.statuses))
    if options.lock_states:
        query = query.where(lock_state.in_(options.lock_states))
    return query, status, lock_state


def count_forms(dbsession: Session, study: Study, options: ExportOptions, wanted: Catalogue) -> int:
    """How many forms an export writes: what its progress counts against."""
    query = _selected(select(func.count(FormInstance.id)), study, options, list(wanted.forms))[0]
    return dbsession.scalar(query) or 0


def _typed_copies(item: Item, text: str | None) -> tuple[Decimal | None, date | None]:
    """The typed copies a save keeps beside a canonical text (see ``entry.services``): a number
    for numbers and sliders, a day for dates and date-times, none for personal data. Read
    straight from the canonical form, which is what a save wrote."""
    if text is None or item.identifier:
        return None, None
    try:
        if item.type is ItemType.SLIDER or item.validation in NUMERIC:
            number = Decimal(text)
            return (number if in_range(number) else None), None
        if item.validation in DAYS:
            return None, date.fromisoformat(text[:10])
    except (InvalidOperation, ValueError):
        pass
    return None, None


def _value_columns(
    query: Select[Any], study: Study, options: ExportOptions, kept: set[str]
) -> Select[Any]:
    """``query`` joined to the values of its forms: the stored rows, or at ``options.as_of``
    the last value event of each item until then (with the row's own time when the row still
    holds that event's value, so an export as of now is the export of now)."""
    if options.as_of is None:
        return (
            query.add_columns(
                ItemValue.item_oid,
                ItemValue.value,
                ItemValue.value_number,
                ItemValue.value_date,
                ItemValue.missing_code,
                # raw: each distinct time is converted once (see _Times), not once per value
                type_coerce(ItemValue.updated_at, DateTime(timezone=True)).label("updated_at"),
                User.email,
                ItemValue.sealed_key_id,
                ItemValue.sealed_nonce,
                ItemValue.sealed_value,
            )
            .outerjoin(ItemValue, ItemValue.form_instance_id == FormInstance.id)
            .outerjoin(User, User.id == ItemValue.updated_by_id)
        )
    latest = func.row_number().over(
        partition_by=(AuditEvent.entity_id, AuditEvent.field),
        order_by=(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()),
    )
    events = (
        select(
            AuditEvent.id,
            AuditEvent.entity_id,
            AuditEvent.field,
            AuditEvent.new_value,
            AuditEvent.occurred_at,
            AuditEvent.actor_id,
            latest.label("rank"),
        )
        .where(
            AuditEvent.study_id == study.id,
            AuditEvent.entity_type == "form_instance",
            AuditEvent.action == "entry.value_changed",
            AuditEvent.occurred_at <= options.as_of,
            AuditEvent.field.in_(sorted(kept)),
        )
        .subquery("events")
    )
    same = ItemValue.audit_event_id == events.c.id
    changed_at = case((same, ItemValue.updated_at), else_=events.c.occurred_at)
    changed_by = case((same, ItemValue.updated_by_id), else_=events.c.actor_id)
    return (
        query.add_columns(
            events.c.field.label("item_oid"),
            events.c.new_value.label("value"),
            *(null().label(name) for name in ("value_number", "value_date", "missing_code")),
            type_coerce(changed_at, UTCDateTime()).label("updated_at"),
            User.email,
            *(null().label(name) for name in ("sealed_key_id", "sealed_nonce", "sealed_value")),
        )
        .outerjoin(
            events,
            and_(events.c.entity_id == cast(FormInstance.id, String), events.c.rank == 1),
        )
        .outerjoin(
            ItemValue,
            and_(
                ItemValue.form_instance_id == FormInstance.id,
                ItemValue.item_oid == events.c.field,
            ),
        )
        .outerjoin(User, User.id == changed_by)
    )


class _Times:
    """Stored times as the aware UTC times the model gives, each distinct one converted once:
    the values of one save share their time, and this runs for every value exported."""

    def __init__(self) -> None:
        self.known: dict[datetime | None, datetime | None] = {None: None}

    def __call__(self, moment: datetime | None) -> datetime | None:
        known = self.known.get(moment)
        if known is None and moment is not None:
            if len(self.known) > BATCH:
                self.known = {None: None}
            utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
            known = self.known[moment] = utc
        return known


def _value_reader(
    options: ExportOptions, registry: Registry | None, by_oid: dict[str, Column]
) -> Callable[[Any], StoredValue]:
    """What makes a :class:`StoredValue` of a row of :func:`form_records`' query: the row's
    columns as they are (the common case, kept lean), with personal data opened, or the value
    an audit event recorded (``options.as_of``)."""
    times = _Times()
    if options.as_of is None and not options.personal:
        return lambda row: StoredValue(*row[11:15], times(row[15]), row[16])
    if options.as_of is None:

        def opened(row: Any) -> StoredValue:
            text = row.value
            if row.sealed_value is not None:
                keys = personal_values.keys(registry)
                text = personal_values.open_value(keys, row.subject_id, row)
            return StoredValue(text, *row[12:15], times(row[15]), row[16])

        return opened

    def recorded(row: Any) -> StoredValue:
        item = by_oid[row.item_oid].item
        text, missing = row.value, None
        if text is not None and item.missing_codes_allowed and text.startswith(MISSING_PREFIX):
            text, missing = None, text[len(MISSING_PREFIX) :]
        elif text is not None and item.identifier and personal_values.is_audited(text):
            text = personal_values.open_audited(
                personal_values.keys(registry),
                text,
                row.subject_id,
                row.form_instance_id,
                row.item_oid,
            )
        return StoredValue(text, *_typed_copies(item, text), missing, times(row[15]), row[16])

    return recorded


def form_records(
    dbsession: Session, study: Study, options: ExportOptions, wanted: Catalogue
) -> Iterator[FormRecord]:
    """The selected forms, subject by subject, streamed; only the catalogue's items' values.

    Read as plain rows on the session's connection (no ORM loading; statuses converted once
    per form, times once per distinct time): this loop runs for every value."""
    columns = select(
        FormInstance.id.label("form_instance_id"),
        Subject.label,
        Site.code,
        FormInstance.visit,
        FormInstance.visit_repeat,
        FormInstance.form,
        FormInstance.repeat,
    ).select_from(FormInstance)
    selected, status, lock_state = _selected(columns, study, options, list(wanted.forms))
    selected = selected.add_columns(
        type_coerce(status, String).label("status"),
        type_coerce(lock_state, String).label("lock_state"),
        FormInstance.subject_id,
    )
    by_oid = {column.item.oid: column for column in wanted.columns()}
    query = (
        _value_columns(selected, study, options, set(by_oid))
        .add_columns(FormInstance.version_number)
        .order_by(
            Subject.label,
            FormInstance.visit_instance_id,
            FormInstance.form,
            FormInstance.repeat,
            FormInstance.id,
            "item_oid",
        )
        .execution_options(yield_per=BATCH)
    )
    if options.as_of is not None and dbsession.get_bind().dialect.name == "postgresql":
        # Every row is read: plan for the whole result (hash joins over the ranked events),
        # not for the first rows a cursor usually wants (nested loops over them).
        dbsession.execute(sql_text("SET LOCAL cursor_tuple_fraction = 1"))
    read = _value_reader(options, dbsession.info.get("registry"), by_oid)
    file_oids = {oid for oid, column in by_oid.items() if column.item.type is ItemType.FILE}
    files = uploads.described(dbsession, study.id) if file_oids else {}
    for _instance, group in groupby(dbsession.connection().execute(query), key=itemgetter(0)):
        first, *rest = group
        values = {row[10]: read(row) for row in (first, *rest) if row[10] in by_oid}
        for oid in file_oids & values.keys():
            text = values[oid].text
            if text is not None:
                values[oid] = values[oid]._replace(text=files.get(text, text))
        yield FormRecord(
            *first[1:7],
            FormStatus(first.status),
            LockState(first.lock_state),
            values=values,
            subject_id=first.subject_id,
            instance_id=first[0],
            version=first.version_number,
        )


@dataclass
class StudyData:
    """What a writer reads: the catalogue of what is exported, and the records of its forms
    (of all of them, or of some, for formats that write one form at a time)."""

    dbsession: Session
    study: Study
    options: ExportOptions
    catalogue: Catalogue
    #: Told the share of the forms written so far (0-100), as the writer reads them.
    progress: Callable[[int], None] = field(default=lambda percent: None)
    #: Records read so far, against :func:`count_forms`.
    read: int = 0
    total: int = 0
    #: What moves a record's dates (``options.shift_dates``, see :mod:`.shifting`).
    shift: Callable[[FormRecord], FormRecord] | None = None
    #: Who exports (the PDF casebooks name them on their cover).
    actor: Actor | None = None
    #: Subject-level columns other capabilities contribute (:mod:`.subject_columns`).
    subject_columns: SubjectTable = field(default_factory=SubjectTable)

    def records(self, forms: list[str] | None = None) -> Iterator[FormRecord]:
        if not self.total:
            self.total = count_forms(self.dbsession, self.study, self.options, self.catalogue)
        wanted = self.catalogue
        if forms is not None:
            wanted = Catalogue({name: self.catalogue.forms[name] for name in forms})
        shift = self.shift
        step = max(1, self.total // 100)
        for found in form_records(self.dbsession, self.study, self.options, wanted):
            record = shift(found) if shift is not None else found
            self.read += 1
            if self.read % step == 0:
                self.progress(min(99, 100 * self.read // self.total))
            yield record
