"""What every export reads: the study's items across its published versions, and its forms with
their values, streamed from the database a form at a time in a stable order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import DateTime, Select, String, func, select, type_coerce
from sqlalchemy.orm import Session

from datacapt.ecrf.definition import Definition, Item, ItemType, form_items, from_json, text_in
from datacapt.exports.options import ExportOptions
from datacapt.models import FormInstance, ItemValue, Site, Study, StudyVersion, Subject, User
from datacapt.models.design import VersionState
from datacapt.models.entry import FormStatus, LockState

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
    Personal-data items are left out: clinical exports never carry them."""

    forms: dict[str, list[Column]] = field(default_factory=dict)
    visits: list[str] = field(default_factory=list)

    def columns(self) -> Iterator[Column]:
        for columns in self.forms.values():
            yield from columns


def catalogue(dbsession: Session, study: Study) -> Catalogue:
    versions = dbsession.execute(
        select(StudyVersion.number, StudyVersion.definition)
        .where(StudyVersion.study_id == study.id, StudyVersion.state == VersionState.PUBLISHED)
        .order_by(StudyVersion.number.desc())
    ).all()
    found = Catalogue()
    by_oid: dict[str, Column] = {}
    personal: set[str] = set()
    for number, document in versions:
        definition: Definition = from_json(document)
        for form in definition.forms:
            columns = found.forms.setdefault(form.name, [])
            for item in form_items(form):
                if item.identifier:
                    personal.add(item.oid)
                column = by_oid.get(item.oid)
                if column is None:
                    column = by_oid[item.oid] = Column(form.name, item, definition.default_language)
                    columns.append(column)
                column.versions.append(number)
        found.visits.extend(
            v.name for v in definition.schedule.visits if v.name not in found.visits
        )
    for name, columns in found.forms.items():
        found.forms[name] = [column for column in columns if column.item.oid not in personal]
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


def _selected(
    query: Select[Any], study: Study, options: ExportOptions, forms: list[str]
) -> Select[Any]:
    """``query`` over form instances narrowed to what the options select."""
    query = query.join(Subject, Subject.id == FormInstance.subject_id).join(
        Site, Site.id == FormInstance.site_id
    )
    query = query.where(
        FormInstance.study_id == study.id,
        Subject.study_id == study.id,
        FormInstance.status != FormStatus.REMOVED,
        FormInstance.form.in_(forms),
    )
    if options.sites:
        query = query.where(Site.code.in_(options.sites))
    if options.visits:
        query = query.where(FormInstance.visit.in_(options.visits))
    if options.statuses:
        query = query.where(FormInstance.status.in_(options.statuses))
    if options.lock_states:
        query = query.where(FormInstance.lock_state.in_(options.lock_states))
    return query


def count_forms(dbsession: Session, study: Study, options: ExportOptions, wanted: Catalogue) -> int:
    """How many forms an export writes: what its progress counts against."""
    query = _selected(select(func.count(FormInstance.id)), study, options, list(wanted.forms))
    return dbsession.scalar(query) or 0


def _utc(moment: datetime) -> datetime:
    """A stored time as the aware UTC time the model gives (read raw for speed: the values of
    one save share their time, so the caller converts each distinct time once)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def form_records(
    dbsession: Session, study: Study, options: ExportOptions, wanted: Catalogue
) -> Iterator[FormRecord]:
    """The selected forms, subject by subject, streamed; only the catalogue's items' values.

    Read as plain rows on the session's connection (no ORM loading, statuses and times
    converted once per form rather than once per value): this loop runs for every value."""
    columns = select(
        FormInstance.id,
        Subject.label,
        Site.code,
        FormInstance.visit,
        FormInstance.visit_repeat,
        FormInstance.form,
        FormInstance.repeat,
        type_coerce(FormInstance.status, String),
        type_coerce(FormInstance.lock_state, String),
        ItemValue.item_oid,
        ItemValue.value,
        ItemValue.value_number,
        ItemValue.value_date,
        ItemValue.missing_code,
        type_coerce(ItemValue.updated_at, DateTime(timezone=True)),
        User.email,
    ).select_from(FormInstance)
    query = (
        _selected(columns, study, options, list(wanted.forms))
        .outerjoin(ItemValue, ItemValue.form_instance_id == FormInstance.id)
        .outerjoin(User, User.id == ItemValue.updated_by_id)
        .order_by(
            Subject.label,
            FormInstance.visit_instance_id,
            FormInstance.form,
            FormInstance.repeat,
            FormInstance.id,
            ItemValue.id,
        )
    )
    kept = {column.item.oid for column in wanted.columns()}
    rows = dbsession.connection().execute(query.execution_options(yield_per=BATCH))
    times: dict[datetime | None, datetime | None] = {None: None}
    for _instance, group in groupby(rows, key=itemgetter(0)):
        first, *rest = group
        values = {}
        for row in (first, *rest):
            if row[9] in kept:
                if row[14] not in times:
                    if len(times) > BATCH:
                        times = {None: None}
                    times[row[14]] = _utc(row[14])
                values[row[9]] = StoredValue(*row[10:14], times[row[14]], row[15])
        yield FormRecord(*first[1:7], FormStatus(first[7]), LockState(first[8]), values=values)


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

    def records(self, forms: list[str] | None = None) -> Iterator[FormRecord]:
        if not self.total:
            self.total = count_forms(self.dbsession, self.study, self.options, self.catalogue)
        wanted = self.catalogue
        if forms is not None:
            wanted = Catalogue({name: self.catalogue.forms[name] for name in forms})
        step = max(1, self.total // 100)
        for record in form_records(self.dbsession, self.study, self.options, wanted):
            self.read += 1
            if self.read % step == 0:
                self.progress(min(99, 100 * self.read // self.total))
            yield record
