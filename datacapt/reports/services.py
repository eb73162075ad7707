"""The numbers of a study's reports, from aggregate SQL over the status rows.

Whatever the study's size the reports cost three statements: the subjects grouped by site,
status and quarter hour of enrolment; the form status rows grouped by site, visit and states;
the queries not closed grouped by site and age. Nothing is loaded per subject: every figure is
a sum of these groups, made in Python for the reader's zone and the design's schedule.
"""

from __future__ import annotations

import enum
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    extract,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from datacapt.ecrf.casebook import is_log
from datacapt.models import (
    FormInstance,
    FormStatus,
    Query,
    QueryState,
    SdvStatus,
    SignatureState,
    Site,
    Study,
    Subject,
    SubjectStatus,
)

#: Enrolment times are grouped by quarter hour (UTC), then each group is placed on its day in
#: the reader's zone: every zone's offset is a whole number of quarter hours.
QUARTER_HOUR = 900
#: Queries not closed, by days since they were raised: (label, first day, last day or None).
AGES = (("0-7", 0, 7), ("8-30", 8, 30), ("31+", 31, None))
SDV_STATES = (SdvStatus.VERIFIED, SdvStatus.AWAITING, SdvStatus.CHANGED)
SIGNATURE_STATES = (SignatureState.SIGNED, SignatureState.UNSIGNED, SignatureState.BROKEN)


@dataclass(frozen=True)
class Scope:
    """What the reports count: the study's sites in ``site_ids``, and with ``start``/``end``
    (UTC, end exclusive) only the subjects enrolled then, and their forms and queries."""

    study: Study
    site_ids: tuple[int, ...]
    start: datetime | None = None
    end: datetime | None = None


@dataclass
class Figures:
    """The grouped rows the reports are summed from."""

    #: (site id, subject status, quarter hour since 1970 UTC) → subjects
    subjects: Counter[tuple[int, str, int]] = field(default_factory=Counter)
    #: (site id, visit, form, status, SDV, signature) → form instances
    forms: Counter[tuple[int, str, str, str, str, str]] = field(default_factory=Counter)
    #: the same, counting only each visit's and form's first occurrence (no repeats, no rows)
    first_forms: Counter[tuple[int, str, str, str, str, str]] = field(default_factory=Counter)
    #: (site id, age label) → queries not closed
    queries: Counter[tuple[int, str]] = field(default_factory=Counter)


def quarter_hour(column: Any, dialect: str) -> ColumnElement[int]:
    """The quarter hour of a UTC time, counted from 1970, as a whole number. Written with the
    plain SQL operator (SQLAlchemy's ``/`` would divide integers as decimals on SQLite) and
    without bound parameters, so PostgreSQL sees the grouped expression and the selected one as
    the same."""
    quarter = literal_column(str(QUARTER_HOUR))
    if dialect == "postgresql":
        return cast(func.floor(extract("epoch", column).op("/")(quarter)), BigInteger)
    return cast(func.strftime(literal_column("'%s'"), column), Integer).op("/")(quarter)


def _subject_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    conditions = [Subject.study_id == scope.study.id, Subject.site_id.in_(scope.site_ids)]
    if scope.start is not None:
        conditions.append(Subject.created_at >= scope.start)
    if scope.end is not None:
        conditions.append(Subject.created_at < scope.end)
    return conditions


def _of_subjects_in_scope(column: Any, scope: Scope) -> list[ColumnElement[bool]]:
    """Rows of the subjects the dates keep (no condition without dates)."""
    if scope.start is None and scope.end is None:
        return []
    return [column.in_(select(Subject.id).where(*_subject_conditions(scope)))]


def _counted_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _ages(now: datetime) -> list[ColumnElement[int]]:
    """A count per age of :data:`AGES`: queries raised within its days before ``now``."""
    counts = []
    for _label, first, last in AGES:
        conditions = [Query.raised_at <= now - timedelta(days=first)] if first else []
        if last is not None:
            conditions.append(Query.raised_at > now - timedelta(days=last + 1))
        counts.append(_counted_if(and_(*conditions)) if conditions else func.count())
    return counts


def _stored(column: Any) -> ColumnElement[str]:
    """An enum column read as the text it stores, the sums' keys: thousands of grouped rows
    are not each made a member and turned back into its value."""
    return type_coerce(column, String)


def figures(dbsession: Session, scope: Scope, now: datetime) -> Figures:
    """The three grouped statements of :class:`Figures` for ``scope``."""
    found = Figures()
    if not scope.site_ids:
        return found
    quarter = quarter_hour(Subject.created_at, dbsession.get_bind().dialect.name)
    status = _stored(Subject.status)
    for site_id, state, hour, count in dbsession.execute(
        select(Subject.site_id, status, quarter, func.count())
        .where(*_subject_conditions(scope))
        .group_by(Subject.site_id, status, quarter)
    ):
        found.subjects[site_id, state, int(hour)] += count
    form_columns = (
        FormInstance.site_id,
        FormInstance.visit,
        FormInstance.form,
        _stored(FormInstance.status),
        _stored(FormInstance.sdv_status),
        _stored(FormInstance.signature_state),
    )
    first = and_(FormInstance.visit_repeat == 1, FormInstance.repeat == 1)
    for site_id, visit, form, status, sdv, signature, count, firsts in dbsession.execute(
        select(*form_columns, func.count(), _counted_if(first))
        .where(
            FormInstance.study_id == scope.study.id,
            FormInstance.site_id.in_(scope.site_ids),
            FormInstance.status != FormStatus.REMOVED,
            *_of_subjects_in_scope(FormInstance.subject_id, scope),
        )
        .group_by(*form_columns)
    ):
        key = (site_id, visit, form, status, sdv, signature)
        found.forms[key] += count
        found.first_forms[key] += int(firsts or 0)
    for site_id, *counts in dbsession.execute(
        select(Query.site_id, *_ages(now))
        .where(
            Query.study_id == scope.study.id,
            Query.site_id.in_(scope.site_ids),
            Query.state != QueryState.CLOSED,
            *_of_subjects_in_scope(Query.subject_id, scope),
        )
        .group_by(Query.site_id)
    ):
        for (label, _first, _last), count in zip(AGES, counts, strict=True):
            found.queries[site_id, label] += int(count or 0)
    return found


# --- sums ------------------------------------------------------------------------------------


class Period(enum.StrEnum):
    """How enrolments are added up over time: by day over two months at most, by week (from
    Monday) over a year at most, else by month, so a chart and its table stay readable."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def period_for(first: date, last: date) -> Period:
    span = (last - first).days
    return Period.DAY if span <= 62 else Period.WEEK if span <= 366 else Period.MONTH


def period_start(day: date, period: Period) -> date:
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day


def enrolment(
    found: Figures, site_ids: Iterable[int], zone: ZoneInfo
) -> tuple[Period, list[date], dict[int, list[int]]]:
    """The periods (days, weeks or months in ``zone``, by their first day) in which subjects
    were enrolled, and for each site the number enrolled by the end of each (cumulative)."""
    per_day: Counter[tuple[int, date]] = Counter()
    for (site_id, _status, quarter), count in found.subjects.items():
        day = datetime.fromtimestamp(quarter * QUARTER_HOUR, UTC).astimezone(zone).date()
        per_day[site_id, day] += count
    days = {day for _site, day in per_day}
    period = period_for(min(days), max(days)) if days else Period.DAY
    per_period: Counter[tuple[int, date]] = Counter()
    for (site_id, day), count in per_day.items():
        per_period[site_id, period_start(day, period)] += count
    starts = sorted({start for _site, start in per_period})
    cumulative: dict[int, list[int]] = {}
    for site_id in site_ids:
        running, values = 0, []
        for start in starts:
            running += per_period[site_id, start]
            values.append(running)
        cumulative[site_id] = values
    return period, starts, cumulative


def subjects_by_site(found: Figures, status: str | None = None) -> Counter[int]:
    """Subjects per site (of one status only, with ``status``)."""
    counts: Counter[int] = Counter()
    for (site_id, subject_status, _quarter), count in found.subjects.items():
        if status is None or subject_status == status:
            counts[site_id] += count
    return counts


@dataclass(frozen=True)
class Completion:
    complete: int
    in_progress: int
    not_started: int


def completion(found: Figures, definition: Any, subjects: int) -> dict[str, Completion]:
    """For each visit of the schedule: its forms (log forms aside) complete, in progress and
    not started, counting each form once per subject (the visit's first occurrence)."""
    log_forms = {form.name for form in definition.forms if is_log(form)}
    started: Counter[tuple[str, str]] = Counter()
    for (_site, visit, form, status, _sdv, _sign), count in found.first_forms.items():
        if form not in log_forms:
            started[visit, status] += count
    result = {}
    for visit in definition.schedule.visits:
        forms = [name for name in visit.forms if name not in log_forms]
        complete = started[visit.name, FormStatus.COMPLETE.value]
        in_progress = started[visit.name, FormStatus.IN_PROGRESS.value]
        expected = subjects * len(forms)
        result[visit.name] = Completion(
            complete, in_progress, max(expected - complete - in_progress, 0)
        )
    return result


def forms_by_site(found: Figures, position: int) -> dict[int, Counter[str]]:
    """Form instances per site by one of their states: ``position`` 4 is SDV, 5 signature."""
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for key, count in found.forms.items():
        counts[key[0]][key[position]] += count
    return counts


SDV = 4
SIGNATURE = 5


def queries_by_site(found: Figures) -> dict[int, Counter[str]]:
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for (site_id, label), count in found.queries.items():
        counts[site_id][label] += count
    return counts


def total_target(sites: Collection[Site]) -> int | None:
    """The target of ``sites`` together: the sum of theirs, when every one has one (with one
    missing the total would claim a goal nobody set)."""
    known = [site.target_enrolment for site in sites if site.target_enrolment is not None]
    return sum(known) if known and len(known) == len(sites) else None


@dataclass(frozen=True)
class Summary:
    """What the study's home page shows of the reports."""

    enrolled: int
    screen_failures: int
    open_queries: int
    awaiting_sdv: int
    target: int | None = None


def summary(found: Figures, target: int | None = None) -> Summary:
    sdv: Counter[str] = Counter()
    for key, count in found.forms.items():
        sdv[key[SDV]] += count
    return Summary(
        enrolled=sum(found.subjects.values()),
        screen_failures=sum(subjects_by_site(found, SubjectStatus.SCREEN_FAILURE.value).values()),
        open_queries=sum(found.queries.values()),
        awaiting_sdv=sdv[SdvStatus.AWAITING.value] + sdv[SdvStatus.CHANGED.value],
        target=target,
    )


def in_scope(site_ids: Collection[int], chosen: int | None) -> tuple[int, ...]:
    """The sites a report counts: the chosen one if the reader may see it, else all theirs."""
    return (chosen,) if chosen in site_ids else tuple(site_ids)
