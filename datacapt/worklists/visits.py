"""The overdue visits: scheduled visits of included subjects whose window closed before the
reader's today without a visit date. One SELECT per scheduled visit (UNION ALL), each with the
visit's overdue test (:func:`datacapt.subjects.visit_dates.overdue_tests`): the cost does not
grow with the rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Integer, Select, String, cast, false, literal, select, union_all

from datacapt.ecrf.timing import Timing, offset, window
from datacapt.i18n import _
from datacapt.models import Site, Subject, SubjectStatus
from datacapt.permissions import Permission
from datacapt.subjects.visit_dates import overdue_tests
from datacapt.worklists.registry import Scope, Worklist


def _columns(visit: str, rank: int, anchor_date: Any) -> tuple[Any, ...]:
    return (
        Subject.label,
        Site.code.label("site_code"),
        cast(literal(visit), String(100)).label("visit"),
        cast(literal(rank), Integer).label("rank"),
        anchor_date.label("anchor_date"),
    )


def overdue_visits(scope: Scope) -> Select[Any]:
    tests = overdue_tests(scope.definition.schedule, scope.today) if scope.definition else []
    parts = [
        select(*_columns(test.visit.name, test.rank, test.anchor_date))
        .outerjoin(Site, Site.id == Subject.site_id)
        .where(
            Subject.study_id == scope.study.id,
            Subject.site_id.in_(scope.site_ids),
            Subject.status == SubjectStatus.INCLUDED,
            test.overdue,
        )
        for test in tests
    ] or [
        select(*_columns("", 0, Subject.included_on))
        .outerjoin(Site, Site.id == Subject.site_id)
        .where(false())
    ]
    rows = union_all(*parts).subquery()
    return select(rows).order_by(rows.c.label, rows.c.rank)


@dataclass(frozen=True)
class OverdueVisit:
    label: str
    site_code: str
    visit: str
    timing: Timing


def overdue_shown(scope: Scope, rows: Sequence[Any]) -> list[OverdueVisit]:
    """Each row's target date and window, from its anchor's date."""
    schedule = scope.definition.schedule
    visits = {visit.name: visit for visit in schedule.visits}
    shown = []
    for row in rows:
        visit = visits[row.visit]
        _anchor, days = offset(schedule, visit)  # type: ignore[misc]
        target = row.anchor_date + timedelta(days=days)
        shown.append(OverdueVisit(row.label, row.site_code, row.visit, window(target, visit)))
    return shown


OVERDUE_VISITS = Worklist(
    "overdue-visits",
    _("Overdue visits"),
    Permission.ENTER_DATA,
    overdue_visits,
    "worklists/_visits.jinja2",
    order=20,
    shown=overdue_shown,
)
