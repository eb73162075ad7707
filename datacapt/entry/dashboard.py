"""The record status dashboard: subjects × forms, grouped by visit, from the status rows.

Whatever the number of subjects, a page costs the same queries: the count, the page of
subjects, and the status rows of those subjects (one indexed query on form_instance), each read
as the few columns its cells show, never as ORM objects.

A page has 2,000 cells but only a few kinds of them (a status, its monitoring marks, a number of
queries): the view names each cell's kind, the template renders each kind once, and each row's
cells are joined from those pieces (:meth:`DashboardTable.body`), not rendered one by one.

Its filters are the page's query string, so a reload or a shared link shows the same view (the
filter form, sent by htmx, pushes its URL).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup, escape
from pyramid.request import Request
from pyramid.traversal import quote_path_segment
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    String,
    any_,
    bindparam,
    exists,
    false,
    select,
    type_coerce,
)

from datacapt.ecrf.casebook import is_log
from datacapt.htmx import page_view
from datacapt.models import (
    FormInstance,
    FormStatus,
    LockState,
    ReviewStatus,
    SdvStatus,
    SignatureState,
    Subject,
    SubjectStatus,
)
from datacapt.pagination import page_number
from datacapt.permissions import Permission
from datacapt.resources import SubjectsResource
from datacapt.studies.services import study_site_codes
from datacapt.subjects.services import STATUS_LABELS, subjects_page
from datacapt.subjects.visit_dates import has_overdue_visit

ROWS_PER_PAGE = 100
MAX_LABEL = 40  # Subject.label
#: What a cell shows of a form's status row, read as plain rows on the session's connection
#: (never as ORM objects) and its states as their text (typed once per kind of cell, not per
#: row); what follows the form names the kind of its cell.
CELL_COLUMNS = (
    FormInstance.subject_id,
    FormInstance.visit,
    FormInstance.form,
    *(
        type_coerce(column, String).label(column.key)
        for column in (
            FormInstance.status,
            FormInstance.sdv_status,
            FormInstance.review_status,
            FormInstance.lock_state,
            FormInstance.signature_state,
        )
    ),
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


def visit_spans(table: Sequence[Column]) -> list[tuple[Column, int]]:
    """Each visit's first column and the number of its columns, for the header's first row."""
    spans: list[tuple[Column, int]] = []
    for column in table:
        if spans and spans[-1][0].visit == column.visit:
            spans[-1] = (spans[-1][0], spans[-1][1] + 1)
        else:
            spans.append((column, 1))
    return spans


#: A published version's columns and visit spans, and per UI language its rendered header and
#: key to the symbols: they depend on the version and the language only (~1,400 calls a page
#: for 20 forms when rendered each time), so the template renders them once into ``kept``.
_LAYOUTS: dict[tuple[int, str], tuple[list[Column], list[tuple[Column, int]]]] = {}
_KEPT: dict[tuple[int, str, str], dict[str, Markup]] = {}
KEPT_SIZE = 64


def design_columns(design: Any) -> tuple[list[Column], list[tuple[Column, int]]]:
    """The columns of ``design`` and its visits' spans, made once per published version."""
    if not design.version_id:
        table = columns(design.definition)
        return table, visit_spans(table)
    key = (design.version_id, design.content_hash)
    found = _LAYOUTS.get(key)
    if found is None:
        if len(_LAYOUTS) >= KEPT_SIZE:
            _LAYOUTS.clear()
        table = columns(design.definition)
        found = _LAYOUTS[key] = (table, visit_spans(table))
    return found


def kept_texts(design: Any, language: str) -> dict[str, Markup]:
    """What the template rendered of ``design`` in ``language`` (``head``, ``legend``), for it
    to render what is missing; a design never published keeps nothing."""
    if not design.version_id:
        return {}
    key = (design.version_id, design.content_hash, language)
    found = _KEPT.get(key)
    if found is None:
        if len(_KEPT) >= KEPT_SIZE:
            _KEPT.clear()
        found = _KEPT[key] = {}
    return found


@dataclass(frozen=True)
class CellState:
    """A form's monitoring states, as ``ui.review_state`` reads them of a status row."""

    sdv_status: SdvStatus
    review_status: ReviewStatus
    lock_state: LockState
    signature_state: SignatureState


@dataclass(frozen=True)
class CellKind:
    """What a kind of cell shows: a log's number of rows, or a form's status with, when it was
    started, its monitoring states (for the marks) and open (not answered yet) and answered
    queries."""

    log_rows: int | None = None
    status: str = "not_started"
    instance: CellState | None = None
    queries: int = 0
    answered: int = 0


NOT_STARTED = ("form", "not_started")


#: A subject's row: its label, status, casebook's path, whether a visit is overdue, and per
#: column the kind of its cell (a tuple: a hundred rows a page, no constructor call each).
DashboardRow = tuple[str, SubjectStatus, str, bool, Sequence[Hashable]]


def escaped_each(texts: Sequence[str]) -> list[str]:
    """Each of ``texts`` escaped, in one call of ``escape`` for all (a page's labels and paths:
    a call and a ``Markup`` each otherwise), split again at the NULs put between them; texts
    holding a NUL themselves are escaped one by one."""
    if not texts:
        return []
    found = str(escape("\x00".join(texts))).split("\x00")
    return found if len(found) == len(texts) else [str(escape(text)) for text in texts]


class _ColumnPieces(dict[Hashable, str]):
    """A column's cells by kind, each made on first use from the column's link tail and the
    kind's rendered pieces: a cell is then one subscript, no call."""

    def __init__(self, tail: str, shown: Mapping[Hashable, tuple[str, str]]) -> None:
        super().__init__()
        self.tail, self.shown = tail, shown

    def __missing__(self, kind: Hashable) -> str:
        link, after = self.shown[kind]
        piece = self[kind] = f'{self.tail}">{link}</a>{after}</td>'
        return piece


#: Each kind's rendered pieces (its link's text and what follows the link) per UI language:
#: they depend on nothing else, so a page renders only the kinds no page in its language
#: showed before (a few hundred at most: statuses × marks × small numbers of queries).
_PIECES: dict[str, dict[Hashable, tuple[str, str]]] = {}
PIECES_PER_LANGUAGE = 2048


def rendered_pieces(language: str) -> dict[Hashable, tuple[str, str]]:
    """The pieces rendered so far in ``language``, for the template to complete."""
    pieces = _PIECES.setdefault(language, {})
    if len(pieces) >= PIECES_PER_LANGUAGE:
        pieces.clear()
    return pieces


@dataclass(frozen=True)
class DashboardTable:
    """The page's rows, each column's link tail (below a subject's path), the kinds of cell
    the rows hold and the pieces already rendered in the page's language (``shown``)."""

    rows: list[DashboardRow]
    tails: list[str]
    kinds: dict[Hashable, CellKind]
    shown: dict[Hashable, tuple[str, str]]

    def unrendered(self) -> list[tuple[Hashable, CellKind]]:
        """The kinds of this page the template still has to render into ``shown``."""
        return [(key, kind) for key, kind in self.kinds.items() if key not in self.shown]

    def body(self, statuses: Mapping[SubjectStatus, str], overdue_mark: str) -> Markup:
        """The table's rows, from each kind's link text and what follows the link (``shown``),
        each subject's status in words and the overdue mark, as rendered once by the
        template: a cell costs one lookup of its column's piece for its kind."""
        words = {status: str(escape(text)) for status, text in statuses.items()}
        pieces = [_ColumnPieces(tail, self.shown) for tail in self.tails]
        html = []
        labels = escaped_each([row[0] for row in self.rows])
        paths = escaped_each([row[2] for row in self.rows])
        for (_, status, _, overdue, kinds), label, path in zip(
            self.rows, labels, paths, strict=True
        ):
            cells = [column[kind] for column, kind in zip(pieces, kinds, strict=True)]
            start = f'<td><a href="{path}'
            mark = f" {overdue_mark}" if overdue else ""
            html.append(
                f'    <tr>\n      <th scope="row" class="subject-column"><a class="code"'
                f' href="{path}">{label}</a>\n        <span class="muted">'
                f"{words[status]}</span>{mark}</th>\n"
                f"      {start + start.join(cells) if cells else ''}\n    </tr>\n"
            )
        return Markup("".join(html))  # noqa: S704 - escaped texts, URL-safe tails, rendered pieces


def dashboard_table(
    base: str,
    subjects: Sequence[Any],
    table: Sequence[Column],
    cells: Iterable[Any],
    shown: dict[Hashable, tuple[str, str]],
) -> DashboardTable:
    """The table of a page (``base``: the subjects' path) from its subjects (``(id, label,
    status, overdue)`` rows) and the status rows (:data:`CELL_COLUMNS`) of their forms: each
    status row names its cell's kind once, and a cell without one is a form not started (or a
    log without rows). ``shown``: the pieces rendered so far in the page's language
    (:func:`rendered_pieces`)."""
    position = {(column.visit, column.form): index for index, column in enumerate(table)}
    blank = [("log", 0) if column.log else NOT_STARTED for column in table]
    kinds: dict[Hashable, CellKind] = {NOT_STARTED: CellKind(), ("log", 0): CellKind(log_rows=0)}
    logs = [column.log for column in table]
    # rows read by position: a Row's attribute costs ~10 times its index (~740 rows a page)
    found = {subject[0]: list(blank) for subject in subjects}
    for cell in cells:
        index = position.get((cell[1], cell[2]))
        if index is None:
            continue
        row_kinds = found[cell[0]]  # the rows are the page's subjects' only
        if logs[index]:
            kind: Hashable = ("log", row_kinds[index][1] + 1)
            if kind not in kinds:
                kinds[kind] = CellKind(log_rows=kind[1])
        elif row_kinds[index] is NOT_STARTED:
            kind = cell[3:]
            if kind not in kinds:
                status, sdv, review, lock, signature, open_queries, answered = kind
                kinds[kind] = CellKind(
                    None,
                    status,
                    CellState(
                        SdvStatus(sdv),
                        ReviewStatus(review),
                        LockState(lock),
                        SignatureState(signature),
                    ),
                    open_queries - answered,
                    answered,
                )
        else:
            continue
        row_kinds[index] = kind
    rows: list[DashboardRow] = [
        (label, status, f"{base}{quote_path_segment(label)}/", bool(overdue), found[id_])
        for id_, label, status, overdue in subjects
    ]
    tails = [str(escape(f"{c.visit}/" if c.log else f"{c.visit}/{c.form}/")) for c in table]
    return DashboardTable(rows, tails, kinds, shown)


#: The overdue test of a published version on a day (a test per visit: a few hundred SQL
#: elements), built once: published versions never change, and the day is in the key.
_OVERDUE: dict[tuple[int, str, date], ColumnElement[bool]] = {}
OVERDUE_CACHE_SIZE = 64


def overdue_test(design: Any, today: date) -> ColumnElement[bool]:
    """Whether a subject (correlated) has a visit overdue on ``today``, for ``design``."""
    if not design.version_id:
        return has_overdue_visit(design.definition.schedule, today)
    key = (design.version_id, design.content_hash, today)
    found = _OVERDUE.get(key)
    if found is None:
        if len(_OVERDUE) >= OVERDUE_CACHE_SIZE:
            _OVERDUE.clear()
        found = _OVERDUE[key] = has_overdue_visit(design.definition.schedule, today)
    return found


def site_options(sites: Iterable[Any], chosen: str) -> Markup:
    """The site filter's options (a monitor's hundreds of sites), joined in one step: the
    template's loop cost a dozen calls an option."""
    codes = [site[1] for site in sites]  # (id, code) rows, by position
    options = [
        f'<option value="{code}"{" selected" if raw == chosen else ""}>{code}</option>'
        for raw, code in zip(codes, escaped_each(codes), strict=True)
    ]
    return Markup("".join(options))  # noqa: S704 - escaped codes


def with_a_form(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Whether a subject (correlated) has a form meeting ``condition``. A subject's forms are of
    its study: saying so lets PostgreSQL look each subject's forms up in the (study, subject)
    index, not read the forms of the whole study."""
    return exists().where(
        FormInstance.study_id == Subject.study_id,
        FormInstance.subject_id == Subject.id,
        condition,
    )


def among_subjects(dialect: str, subject_ids: list[int]) -> ColumnElement[bool]:
    """The page's subjects as one array parameter on PostgreSQL (``= ANY``): an ``IN`` list is
    compiled anew for each request, a bound parameter per subject (~2,400 calls a page)."""
    if dialect == "postgresql":
        return FormInstance.subject_id == any_(
            bindparam("subject_ids", subject_ids, ARRAY(Integer))
        )
    return FormInstance.subject_id.in_(subject_ids)


def keyset_after(raw: str | None) -> str | None:
    """The ``after`` parameter of a "next" link: the last subject label of the page before."""
    return raw if raw and len(raw) <= MAX_LABEL else None


@page_view(SubjectsResource, "entry/dashboard.jinja2", Permission.LIST_SUBJECTS, name="dashboard")
def dashboard(context: SubjectsResource, request: Request) -> dict[str, Any]:
    visible = request.identity.visible_site_ids(context.study)
    sites = study_site_codes(request.dbsession, context.study, visible)
    chosen_site = {code: id_ for id_, code in sites}.get(request.GET.get("site", ""))
    status = request.GET.get("status", "")
    subject_status = SubjectStatus(status) if status in SubjectStatus.__members__.values() else None
    form_status = request.GET.get("form_status", "")
    queries = request.GET.get("queries") == "1"
    search = request.GET.get("q", "").strip()[:MAX_LABEL]
    design = context.design

    conditions = []
    if form_status in FORM_FILTERS:
        conditions.append(with_a_form(FormInstance.status == FormStatus(form_status)))
    if queries:
        conditions.append(with_a_form(FormInstance.open_queries > 0))
    overdue_column = overdue_test(design, request.today) if design else false()
    page = subjects_page(
        request.dbsession,
        context.study,
        visible,
        page_number(request.GET.get("page")),
        ROWS_PER_PAGE,
        search=search,
        site_id=chosen_site,
        status=subject_status,
        where=conditions,
        columns=(Subject.id, Subject.label, Subject.status, overdue_column.label("overdue")),
        after=keyset_after(request.GET.get("after")),
    )
    cells: Iterable[Any] = ()
    subject_ids = [subject[0] for subject in page.items]
    if subject_ids and design is not None:
        connection = request.dbsession.connection()
        # fetched at once: iterating the cursor would fetch a row per call
        cells = connection.execute(
            select(*CELL_COLUMNS).where(
                FormInstance.study_id == context.study.id,
                among_subjects(connection.dialect.name, subject_ids),
                FormInstance.visit_repeat == 1,
                FormInstance.status != FormStatus.REMOVED,
            )
        ).all()
    table, spans = design_columns(design) if design else ([], [])
    found = dashboard_table(
        request.resource_path(context),
        page.items,
        table,
        cells,
        rendered_pieces(request.locale_name),
    )
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
        "visits": spans,
        "kept": kept_texts(design, request.locale_name) if design else {},
        "page": page,
        "table": found,
        "site_options": site_options(sites, request.GET.get("site", "")),
        "filters": {
            "q": search,
            "site": request.GET.get("site", ""),
            "status": status,
            "form_status": form_status,
            "queries": queries,
        },
        "query": query,
        "status_labels": STATUS_LABELS,
    }
