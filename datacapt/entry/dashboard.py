"""The record status dashboard: subjects × forms, grouped by visit, from the status rows.

Whatever the number of subjects, a page costs the same queries: the count, the page of
subjects, and the status rows of those subjects (one indexed query on form_instance), each read
as the few columns its cells show, never as ORM objects.

A page has 2,000 cells but only a few kinds of them (a status, its monitoring marks, a number of
queries): the view names each cell's kind, the template renders each kind once, and each row's
cells are joined from those pieces (:meth:`DashboardRow.cells`), not rendered one by one.

Its filters are the page's query string, so a reload or a shared link shows the same view (the
filter form, sent by htmx, pushes its URL).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from pyramid.request import Request
from pyramid.traversal import quote_path_segment
from sqlalchemy import exists, false, select

from datacapt.ecrf.casebook import is_log
from datacapt.htmx import page_view
from datacapt.models import FormInstance, FormStatus, Subject, SubjectStatus
from datacapt.pagination import page_number
from datacapt.permissions import Permission
from datacapt.resources import SubjectsResource
from datacapt.studies.services import site_summaries
from datacapt.subjects.services import STATUS_LABELS, subjects_page
from datacapt.subjects.visit_dates import has_overdue_visit

ROWS_PER_PAGE = 100
MAX_LABEL = 40  # Subject.label
#: What a cell shows of a form's status row: read as plain rows, never as ORM objects.
CELL_COLUMNS = (
    FormInstance.subject_id,
    FormInstance.visit,
    FormInstance.form,
    FormInstance.status,
    FormInstance.sdv_status,
    FormInstance.review_status,
    FormInstance.lock_state,
    FormInstance.signature_state,
    FormInstance.open_queries,
    FormInstance.answered_queries,
)
FORM_FILTERS = ("in_progress", "complete")


@dataclass(frozen=True)
class Column:
    visit: str
    visit_title: dict[str, str]
    form: str
    form_title: dict[str, str]
    log: bool


def columns(definition: Any) -> list[Column]:
    forms = {form.name: form for form in definition.forms}
    return [
        Column(visit.name, visit.title, name, forms[name].title, is_log(forms[name]))
        for visit in definition.schedule.visits
        for name in visit.forms
        if name in forms
    ]


@dataclass(frozen=True)
class CellKind:
    """What a kind of cell shows: a log's number of rows, or a form's status with, when it was
    started, its status row (for the monitoring marks) and open (not answered yet) and answered
    queries."""

    log_rows: int | None = None
    status: str = "not_started"
    instance: Any = None  # a status row (CELL_COLUMNS) of this kind
    queries: int = 0
    answered: int = 0


NOT_STARTED = ("form", "not_started")


@dataclass(frozen=True)
class DashboardRow:
    """A subject's row: its label, status and casebook's path, and per column the link's tail
    (below the path) and the kind of its cell."""

    label: str
    status: SubjectStatus
    path: str
    cells: Sequence[tuple[str, Hashable]]

    def cells_html(self, shown: Mapping[Hashable, tuple[str, str]]) -> Markup:
        """The row's cells, from each kind's link text and what follows the link, as rendered
        once by the template."""
        path = escape(self.path)
        return Markup(  # noqa: S704 - escaped path, URL-safe tails and rendered pieces
            "".join(
                f'<td><a href="{path}{tail}">{shown[kind][0]}</a>{shown[kind][1]}</td>'
                for tail, kind in self.cells
            )
        )


def dashboard_rows(
    base: str,
    subjects: Sequence[Any],
    table: Sequence[Column],
    cells: Mapping[tuple[int, str, str], list[Any]],
) -> tuple[list[DashboardRow], dict[Hashable, CellKind]]:
    """The rows of a page (``base``: the subjects' path) and the kinds of their cells."""
    tails = [str(escape(f"{c.visit}/" if c.log else f"{c.visit}/{c.form}/")) for c in table]
    kinds: dict[Hashable, CellKind] = {NOT_STARTED: CellKind()}
    rows = []
    for subject in subjects:
        row_cells = []
        for column, tail in zip(table, tails, strict=True):
            found = cells.get((subject.id, column.visit, column.form))
            if column.log:
                kind: Hashable = ("log", len(found) if found else 0)
                if kind not in kinds:
                    kinds[kind] = CellKind(log_rows=kind[1])
            elif found:
                cell = found[0]
                kind = (
                    cell.status,
                    cell.sdv_status,
                    cell.review_status,
                    cell.lock_state,
                    cell.signature_state,
                    cell.open_queries,
                    cell.answered_queries,
                )
                if kind not in kinds:
                    kinds[kind] = CellKind(
                        None,
                        cell.status.value,
                        cell,
                        cell.open_queries - cell.answered_queries,
                        cell.answered_queries,
                    )
            else:
                kind = NOT_STARTED
            row_cells.append((tail, kind))
        path = f"{base}{quote_path_segment(subject.label)}/"
        rows.append(DashboardRow(subject.label, subject.status, path, row_cells))
    return rows, kinds


def keyset_after(raw: str | None) -> str | None:
    """The ``after`` parameter of a "next" link: the last subject label of the page before."""
    return raw if raw and len(raw) <= MAX_LABEL else None


@page_view(SubjectsResource, "entry/dashboard.jinja2", Permission.LIST_SUBJECTS, name="dashboard")
def dashboard(context: SubjectsResource, request: Request) -> dict[str, Any]:
    visible = request.identity.visible_site_ids(context.study)
    sites = site_summaries(request.dbsession, context.study, visible)
    site_by_code = {summary.site.code: summary.site for summary in sites}
    chosen_site = site_by_code.get(request.GET.get("site", ""))
    status = request.GET.get("status", "")
    subject_status = SubjectStatus(status) if status in SubjectStatus.__members__.values() else None
    form_status = request.GET.get("form_status", "")
    queries = request.GET.get("queries") == "1"
    search = request.GET.get("q", "").strip()[:MAX_LABEL]
    design = context.design

    conditions = []
    if form_status in FORM_FILTERS:
        conditions.append(
            exists().where(
                FormInstance.subject_id == Subject.id,
                FormInstance.status == FormStatus(form_status),
            )
        )
    if queries:
        conditions.append(
            exists().where(FormInstance.subject_id == Subject.id, FormInstance.open_queries > 0)
        )
    overdue_column = (
        has_overdue_visit(design.definition.schedule, request.today) if design else false()
    )
    page = subjects_page(
        request.dbsession,
        context.study,
        visible,
        page_number(request.GET.get("page")),
        ROWS_PER_PAGE,
        search=search,
        site_id=chosen_site.id if chosen_site else None,
        status=subject_status,
        where=conditions,
        columns=(Subject.id, Subject.label, Subject.status, overdue_column.label("overdue")),
        after=keyset_after(request.GET.get("after")),
    )
    cells: dict[tuple[int, str, str], list[Any]] = {}
    subject_ids = [subject.id for subject in page.items]
    if subject_ids and design is not None:
        for cell in request.dbsession.execute(
            select(*CELL_COLUMNS).where(
                FormInstance.study_id == context.study.id,
                FormInstance.subject_id.in_(subject_ids),
                FormInstance.visit_repeat == 1,
                FormInstance.status != FormStatus.REMOVED,
            )
        ):
            cells.setdefault((cell.subject_id, cell.visit, cell.form), []).append(cell)
    overdue = {subject.label for subject in page.items if subject.overdue}
    table = columns(design.definition) if design else []
    rows, kinds = dashboard_rows(request.resource_path(context), page.items, table, cells)
    query = {
        key: value
        for key, value in (
            ("q", search),
            ("site", request.GET.get("site", "")),
            ("status", status),
            ("form_status", form_status),
            ("queries", "1" if queries else ""),
        )
        if value
    }
    return {
        "design": design,
        "definition": design.definition if design else None,
        "columns": table,
        "page": page,
        "rows": rows,
        "kinds": kinds,
        "sites": [summary.site for summary in sites],
        "filters": {
            "q": search,
            "site": request.GET.get("site", ""),
            "status": status,
            "form_status": form_status,
            "queries": queries,
        },
        "query": query,
        "status_labels": STATUS_LABELS,
        "overdue": overdue,
    }
