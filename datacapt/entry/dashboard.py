"""The record status dashboard: subjects × forms, grouped by visit, from the status rows.

Whatever the number of subjects, a page costs the same two statements: the sites (the site
filter's options) and the page of subjects, each row carrying its subject's status rows as one
text (:data:`CELL_TEXT`, aggregated in the database) and the number of subjects the filters
keep. Both statements are built once per shape of filters (:func:`page_statements`) and run with
the request's values as parameters, so SQLAlchemy neither builds nor traverses them again.

A page has 2,000 cells but only a few kinds of them (a status, its monitoring marks, a number of
queries): the view names each cell's kind, the template renders each kind once, and each row's
cells are joined from those pieces (:meth:`DashboardTable.body`), not rendered one by one.

Its filters are the page's query string, so a reload or a shared link shows the same view (the
filter form, sent by htmx, pushes its URL).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from operator import getitem
from typing import Any

from markupsafe import Markup, escape
from pyramid.request import Request
from pyramid.traversal import quote_path_segment
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal_column,
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
    Site,
    Subject,
    SubjectStatus,
)
from datacapt.pagination import Page, page_number
from datacapt.permissions import Permission
from datacapt.resources import SubjectsResource
from datacapt.subjects.services import STATUS_LABELS
from datacapt.subjects.visit_dates import has_overdue_visit

ROWS_PER_PAGE = 100
MAX_LABEL = 40  # Subject.label


def _spaced(*parts: ColumnElement[Any]) -> ColumnElement[str]:
    """``parts`` joined by spaces, in SQL."""
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + literal_column("' '", String) + part
    return joined


#: What a cell shows of a form's status row, as one text: ``visit/form``, then its states and
#: its open and answered queries, separated by spaces (names are ``[a-z0-9_]``, states their
#: enum's text, counts digits): what follows the first space names the kind of its cell.
CELL_TEXT = _spaced(
    FormInstance.visit + literal_column("'/'", String) + FormInstance.form,
    *(
        type_coerce(column, String)
        for column in (
            FormInstance.status,
            FormInstance.sdv_status,
            FormInstance.review_status,
            FormInstance.lock_state,
            FormInstance.signature_state,
        )
    ),
    cast(FormInstance.open_queries, String),
    cast(FormInstance.answered_queries, String),
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


NOT_STARTED = ("form", "not_started")


class CellPlaces(dict[str, tuple[int, Hashable]]):
    """A status row's text (:data:`CELL_TEXT`) → its column's index (-1: none of the layout's)
    and the kind of its cell, each text read once: a page's ~700 cells are then looked up, not
    split. The texts are of few kinds and columns: a bounded number."""

    def __init__(self, position: Mapping[str, int]) -> None:
        super().__init__()
        self.position = position

    def __missing__(self, text: str) -> tuple[int, Hashable]:
        if len(self) >= PLACES_SIZE:
            self.clear()
        where, kind = text.split(" ", 1)
        found = self[text] = (self.position.get(where, -1), kind)
        return found


PLACES_SIZE = 8192


class _ColumnPieces(dict[Hashable, str]):
    """A column's cells by kind, each made on first use from the column's link tail and the
    kind's rendered pieces: a cell is then one subscript, no call."""

    def __init__(self, tail: str, shown: Mapping[Hashable, tuple[str, str]]) -> None:
        super().__init__()
        self.tail, self.shown = tail, shown

    def __missing__(self, kind: Hashable) -> str:
        if len(self) >= PIECES_PER_LANGUAGE:
            self.clear()
        link, after = self.shown[kind]
        piece = self[kind] = f'{self.tail}">{link}</a>{after}</td>'
        return piece


@dataclass(frozen=True)
class Layout:
    """A design's table: its columns and visit spans (the header), and for reading a subject's
    cells, where each status row's text puts it (``places``), each column's kind when it has no
    status row, whether it is a log, its link's tail below the subject's path (escaped) and,
    per UI language, its cells by kind (made on first use, then kept)."""

    columns: list[Column]
    spans: list[tuple[Column, int]]
    places: CellPlaces
    blank: list[Hashable]
    logs: list[bool]
    tails: list[str]
    pieces: dict[str, list[_ColumnPieces]]

    def pieces_in(
        self, language: str, shown: Mapping[Hashable, tuple[str, str]]
    ) -> list[_ColumnPieces]:
        """Each column's cells by kind in ``language``, from its rendered pieces (``shown``)."""
        found = self.pieces.get(language)
        if found is None:
            found = self.pieces[language] = [_ColumnPieces(tail, shown) for tail in self.tails]
        return found


def layout(definition: Any) -> Layout:
    table = columns(definition)
    return Layout(
        table,
        visit_spans(table),
        CellPlaces({f"{column.visit}/{column.form}": index for index, column in enumerate(table)}),
        [("log", 0) if column.log else NOT_STARTED for column in table],
        [column.log for column in table],
        [str(escape(f"{c.visit}/" if c.log else f"{c.visit}/{c.form}/")) for c in table],
        {},
    )


#: A published version's layout, and per UI language its rendered header and key to the
#: symbols: they depend on the version and the language only (~1,400 calls a page for 20 forms
#: when rendered each time), so the template renders them once into ``kept``.
_LAYOUTS: dict[tuple[int, str], Layout] = {}
_KEPT: dict[tuple[int, str, str], dict[str, Markup]] = {}
KEPT_SIZE = 64


def design_layout(design: Any) -> Layout:
    """The layout of ``design``, made once per published version."""
    if not design.version_id:
        return layout(design.definition)
    key = (design.version_id, design.content_hash)
    found = _LAYOUTS.get(key)
    if found is None:
        if len(_LAYOUTS) >= KEPT_SIZE:
            _LAYOUTS.clear()
        found = _LAYOUTS[key] = layout(design.definition)
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


def cell_kind(kind: Hashable) -> CellKind:
    """What a kind of cell shows, from its name: ``("log", rows)``, :data:`NOT_STARTED`, or a
    status row's text after its ``visit/form`` (:data:`CELL_TEXT`)."""
    if isinstance(kind, tuple):
        return CellKind(log_rows=kind[1]) if kind[0] == "log" else CellKind()
    status, sdv, review, lock, signature, open_queries, answered = str(kind).split(" ")
    return CellKind(
        None,
        status,
        CellState(SdvStatus(sdv), ReviewStatus(review), LockState(lock), SignatureState(signature)),
        int(open_queries) - int(answered),
        int(answered),
    )


#: The kinds of cell named so far (a few hundred at most: statuses × marks × small numbers of
#: queries), each made once.
_KINDS: dict[Hashable, CellKind] = {}
KINDS_SIZE = 2048


def known_kind(kind: Hashable) -> CellKind:
    found = _KINDS.get(kind)
    if found is None:
        if len(_KINDS) >= KINDS_SIZE:
            _KINDS.clear()
        found = _KINDS[kind] = cell_kind(kind)
    return found


#: A subject's row: its label and casebook's path (escaped), its status, whether a visit is
#: overdue, and per column the kind of its cell (a tuple: a hundred rows a page, no
#: constructor call each).
DashboardRow = tuple[str, str, str, Any, list[Hashable]]

#: Labels whose characters a path never quotes nor HTML escapes (``LABEL_PATTERN``'s).
PLAIN_LABELS = re.compile(r"[A-Za-z0-9._-]*")


def escaped_each(texts: Sequence[str]) -> list[str]:
    """Each of ``texts`` escaped, in one call of ``escape`` for all (a page's labels and paths:
    a call and a ``Markup`` each otherwise), split again at the NULs put between them; texts
    holding a NUL themselves are escaped one by one."""
    if not texts:
        return []
    found = str(escape("\x00".join(texts))).split("\x00")
    return found if len(found) == len(texts) else [str(escape(text)) for text in texts]


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
    """The page's rows, the kinds of cell they hold, the pieces already rendered in the page's
    language (``shown``) and each column's cells by kind made of them (``columns``)."""

    rows: list[DashboardRow]
    kinds: set[Hashable]
    shown: dict[Hashable, tuple[str, str]]
    columns: list[_ColumnPieces]

    def unrendered(self) -> list[tuple[Hashable, CellKind]]:
        """The kinds of this page the template still has to render into ``shown``."""
        return [(kind, known_kind(kind)) for kind in self.kinds if kind not in self.shown]

    def body(self, statuses: Mapping[SubjectStatus, str], overdue_mark: str) -> Markup:
        """The table's rows, from each kind's link text and what follows the link (``shown``),
        each subject's status in words and the overdue mark, as rendered once by the
        template: a cell costs one lookup of its column's piece for its kind."""
        words = {status: str(escape(text)) for status, text in statuses.items()}
        columns = self.columns
        html = []
        for label, path, status, overdue, kinds in self.rows:
            start = f'<td><a href="{path}'
            mark = f" {overdue_mark}" if overdue else ""
            cells = start + start.join(map(getitem, columns, kinds)) if columns else ""
            html.append(
                f'    <tr>\n      <th scope="row" class="subject-column"><a class="code"'
                f' href="{path}">{label}</a>\n        <span class="muted">'
                f"{words[status]}</span>{mark}</th>\n      {cells}\n    </tr>\n"
            )
        return Markup("".join(html))  # noqa: S704 - escaped texts, URL-safe tails, rendered pieces


def dashboard_table(
    base: str,
    subjects: Sequence[Any],
    table: Layout,
    language: str,
) -> DashboardTable:
    """The table of a page (``base``: the subjects' path) in ``language`` from its subjects'
    ``(id, label, status, overdue, cells, total)`` rows, ``cells`` their status rows' texts
    (:data:`CELL_TEXT`) joined by commas: each text names its cell's kind, and a cell without
    one is a form not started (or a log without rows); of a form's several rows the first
    counts."""
    place, blank, logs = table.places.__getitem__, table.blank, table.logs
    kinds: set[Hashable] = set()
    found = []
    for _, label, status, overdue, cells, _ in subjects:
        row_kinds = list(blank)
        if cells:
            for index, kind in map(place, cells.split(",")):
                if index < 0:
                    continue
                if logs[index]:
                    row_kinds[index] = ("log", row_kinds[index][1] + 1)  # type: ignore[index]
                elif row_kinds[index] is NOT_STARTED:
                    row_kinds[index] = kind
        kinds.update(row_kinds)
        found.append((label, status, overdue, row_kinds))
    labels = [row[0] for row in found]
    if PLAIN_LABELS.fullmatch("".join(labels)):
        start = str(escape(base))
        paths = [f"{start}{label}/" for label in labels]
    else:
        paths = escaped_each([f"{base}{quote_path_segment(label)}/" for label in labels])
        labels = escaped_each(labels)
    rows: list[DashboardRow] = [
        (label, path, status, overdue, row_kinds)
        for label, path, (_, status, overdue, row_kinds) in zip(labels, paths, found, strict=True)
    ]
    shown = rendered_pieces(language)
    return DashboardTable(rows, kinds, shown, table.pieces_in(language, shown))


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


def among(dialect: str, column: ColumnElement[int], name: str) -> ColumnElement[bool]:
    """``column`` among the ids of parameter ``name``: one array parameter on PostgreSQL
    (``= ANY``), where an ``IN`` list is rendered anew for each request, a parameter per id."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    return column.in_(bindparam(name, expanding=True))


@dataclass(frozen=True)
class Shape:
    """What a page's statements depend on besides the parameters' values: the database, the
    published version and day (the overdue column), and which filters are set."""

    dialect: str
    version: tuple[int, str] | None
    today: date
    restricted: bool  # to the user's sites
    site: bool
    status: bool
    form_status: str
    queries: bool
    search: bool
    paging: str  # "first", "after" a label, or by "number" after the first


#: The study's sites by code as ``(id, code)`` rows (the site filter's options), all of them or
#: those of parameter ``site_ids``, per database: built once.
_SITES: dict[tuple[str, bool], Select[Any]] = {}


def sites_statement(dialect: str, restricted: bool) -> Select[Any]:
    found = _SITES.get((dialect, restricted))
    if found is None:
        found = select(Site.id, Site.code).where(
            Site.study_id == bindparam("study_id", type_=Integer)
        )
        if restricted:
            found = found.where(among(dialect, Site.id, "site_ids"))
        found = _SITES[dialect, restricted] = found.order_by(Site.code)
    return found


@dataclass(frozen=True)
class PageStatements:
    """The statements of a shape: the page of subjects (with the number of subjects the filters
    keep), and that number alone (for a page past the last)."""

    page: Select[Any]
    count: Select[Any]


def page_statements(shape: Shape, design: Any) -> PageStatements:
    """The statements of ``shape``, their values as named parameters (``study_id``,
    ``site_ids``, ``site_id``, ``status``, ``search``, ``after``, ``skip``)."""
    dialect = shape.dialect
    where = [Subject.study_id == bindparam("study_id", type_=Integer)]
    if shape.restricted:
        where.append(among(dialect, Subject.site_id, "site_ids"))
    if shape.site:
        where.append(Subject.site_id == bindparam("site_id", type_=Integer))
    if shape.status:
        where.append(Subject.status == bindparam("status"))
    if shape.form_status:
        where.append(with_a_form(FormInstance.status == FormStatus(shape.form_status)))
    if shape.queries:
        where.append(with_a_form(FormInstance.open_queries > 0))
    if shape.search:
        where.append(Subject.label.ilike(bindparam("search", type_=String), escape="\\"))
    count = select(func.count()).select_from(Subject).where(*where)
    columns: list[ColumnElement[Any]] = [
        Subject.id,
        Subject.label,
        type_coerce(Subject.status, String).label("status"),
    ]
    if design is None:
        columns += [false().label("overdue"), literal_column("NULL", String).label("cells")]
    else:
        columns += [
            overdue_test(design, shape.today).label("overdue"),
            select(func.aggregate_strings(CELL_TEXT, ","))
            .where(
                FormInstance.study_id == Subject.study_id,
                FormInstance.subject_id == Subject.id,
                FormInstance.visit_repeat == 1,
                FormInstance.status != FormStatus.REMOVED,
            )
            .scalar_subquery()
            .label("cells"),
        ]
    columns.append(count.correlate(None).scalar_subquery().label("total"))
    page = select(*columns).where(*where).order_by(Subject.label).limit(ROWS_PER_PAGE)
    if shape.paging == "after":
        page = page.where(Subject.label > bindparam("after", type_=String))
    elif shape.paging == "number":
        boundary = (
            select(Subject.label)
            .where(*where)
            .order_by(Subject.label)
            .offset(bindparam("skip", type_=Integer))
            .limit(1)
        )
        page = page.where(Subject.label > boundary.scalar_subquery())
    return PageStatements(page, count)


#: The statements of each shape met, built once (a few hundred SQL elements each, whose
#: building and cache key cost ~1,000 calls a request): SQLAlchemy keeps a statement's cache key
#: on the statement, so running the same one again with new values costs neither.
_STATEMENTS: dict[Shape, PageStatements] = {}
STATEMENTS_SIZE = 256


def shape_statements(shape: Shape, design: Any) -> PageStatements:
    """The statements of ``shape``; those of a design never published are not kept."""
    if shape.version is None:
        return page_statements(shape, design)
    found = _STATEMENTS.get(shape)
    if found is None:
        if len(_STATEMENTS) >= STATEMENTS_SIZE:
            _STATEMENTS.clear()
        found = _STATEMENTS[shape] = page_statements(shape, design)
    return found


#: The links to the pages around a page (``ui.pagination``), by what they show: language,
#: path, filters, page number, number of pages and the page's last label (a monitor pages
#: through the same few pages of a study: ~350 calls each time they are rendered).
_PAGINATIONS: dict[tuple[Hashable, ...], Markup] = {}
PAGINATIONS_SIZE = 1024


def rendered_paginations() -> dict[tuple[Hashable, ...], Markup]:
    """The paginations rendered so far, for the template to add the one it renders."""
    if len(_PAGINATIONS) >= PAGINATIONS_SIZE:
        _PAGINATIONS.clear()
    return _PAGINATIONS


def keyset_after(raw: str | None) -> str | None:
    """The ``after`` parameter of a "next" link: the last subject label of the page before."""
    return raw if raw and len(raw) <= MAX_LABEL else None


def escaped_search(search: str) -> str:
    """A ``LIKE`` pattern finding ``search`` anywhere, its wildcards taken as themselves."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@page_view(SubjectsResource, "entry/dashboard.jinja2", Permission.LIST_SUBJECTS, name="dashboard")
def dashboard(context: SubjectsResource, request: Request) -> dict[str, Any]:
    study = context.study
    visible = request.identity.visible_site_ids(study)
    get = request.GET.get
    status = get("status", "")
    subject_status = SubjectStatus(status) if status in SubjectStatus.__members__.values() else None
    form_status = get("form_status", "")
    queries = get("queries") == "1"
    search = get("q", "").strip()[:MAX_LABEL]
    number = page_number(get("page"))
    after = keyset_after(get("after"))
    design = context.design
    connection = request.dbsession.connection()
    dialect = connection.dialect.name
    values: dict[str, Any] = {"study_id": study.id}
    if visible is not None:
        values["site_ids"] = sorted(visible)
    sites = connection.execute(sites_statement(dialect, visible is not None), values).all()
    chosen_site = {code: id_ for id_, code in sites}.get(get("site", ""))
    shape = Shape(
        dialect,
        (design.version_id, design.content_hash) if design and design.version_id else None,
        request.today,
        visible is not None,
        chosen_site is not None,
        subject_status is not None,
        form_status if form_status in FORM_FILTERS else "",
        queries,
        bool(search),
        "first" if number == 1 else "after" if after is not None else "number",
    )
    statements = shape_statements(shape, design)
    if chosen_site is not None:
        values["site_id"] = chosen_site
    if subject_status is not None:
        values["status"] = subject_status
    if search:
        values["search"] = escaped_search(search)
    if shape.paging == "after":
        values["after"] = after
    elif shape.paging == "number":
        values["skip"] = (number - 1) * ROWS_PER_PAGE - 1
    # fetched at once: iterating the cursor would fetch a row per call
    rows = connection.execute(statements.page, values).all()
    if rows:
        total = rows[0][5]
    elif number == 1:
        total = 0  # no subject on the first page: none at all
    else:
        total = connection.execute(statements.count, values).scalar_one()
    page = Page(items=rows, number=number, size=ROWS_PER_PAGE, total=total)
    base = request.resource_path(context)
    table = design_layout(design) if design else None
    found = dashboard_table(base, rows, table, request.locale_name) if table else None
    query = {
        key: value
        for key, value in (
            ("q", search),
            ("site", get("site", "")),
            ("status", status),
            ("form_status", form_status),
            ("queries", "1" if queries else ""),
        )
        if value
    }
    return {
        "design": design,
        "definition": design.definition if design else None,
        "columns": table.columns if table else [],
        "visits": table.spans if table else [],
        "kept": kept_texts(design, request.locale_name) if design else {},
        "page": page,
        "table": found,
        "here": f"{base}@@dashboard",
        "paginations": rendered_paginations(),
        "pagination_key": (
            request.locale_name,
            request.path,
            tuple(query.items()),
            number,
            page.pages,
            rows[-1][1] if rows else None,
        ),
        "site_options": site_options(sites, get("site", "")),
        "filters": {
            "q": search,
            "site": get("site", ""),
            "status": status,
            "form_status": form_status,
            "queries": queries,
        },
        "query": query,
        "status_labels": STATUS_LABELS,
    }
