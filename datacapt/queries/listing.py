"""The study's query list (filters, bulk close, CSV export) and the query metrics of the study
home. Every statement is limited to the sites the user may see, so a site-restricted user never
meets another site's queries; a page costs the same few statements whatever its length.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_timedelta
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import Select, func, select

from datacapt import audit
from datacapt.ecrf.versions import published_design
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.models import (
    FormInstance,
    Query,
    QueryMessage,
    QueryOrigin,
    QueryState,
    QueryStep,
    Site,
    Subject,
    User,
    VisitInstance,
)
from datacapt.pagination import page_number, paginate
from datacapt.permissions import Permission
from datacapt.queries import services
from datacapt.resources import QueriesResource, QueryResource
from datacapt.studies.services import study_sites

QUERIES_PER_PAGE = 50
#: The age filter's choices: raised more than this many days ago.
AGES = (7, 14, 30, 60)
SYSTEM = "system"
#: Characters that make a spreadsheet read a cell as a formula (or a command).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Filters:
    site: Site | None = None
    subject: str = ""
    state: QueryState | None = None
    older_than: int | None = None  # days
    raiser: str = ""  # a user id, "system", or "" for anyone
    form: str = ""

    def as_query(self) -> dict[str, str]:
        values = {
            "site": self.site.code if self.site else "",
            "subject": self.subject,
            "state": self.state.value if self.state else "",
            "age": str(self.older_than or ""),
            "raiser": self.raiser,
            "form": self.form,
        }
        return {key: value for key, value in values.items() if value}


def read_filters(request: Request, sites: Sequence[Site]) -> Filters:
    """The filters from the query string; anything unknown is ignored, never an error."""
    get = request.GET
    state = get.get("state", "")
    age = get.get("age", "")
    raiser = get.get("raiser", "")
    return Filters(
        site=next((site for site in sites if site.code == get.get("site")), None),
        subject=get.get("subject", "").strip()[:40],
        state=QueryState(state) if state in QueryState.__members__.values() else None,
        older_than=int(age) if age in {str(days) for days in AGES} else None,
        raiser=raiser if raiser == SYSTEM or (raiser.isascii() and raiser.isdigit()) else "",
        form=get.get("form", "").strip()[:100],
    )


def _visible_sites(request: Request, context: QueriesResource) -> list[Site]:
    visible = request.identity.visible_site_ids(context.study)
    return study_sites(request.dbsession, context.study, visible)


def _statement(
    context: QueriesResource, sites: Sequence[Site], filters: Filters, *, text: bool = False
) -> Select[Any]:
    """The queries the filters keep, with where they are; with ``text``, the words they were
    raised with too (read in the same statement, for the list; never for the export). Every
    join is an outer one on a key (a query's site and subject are never null, so the rows are
    the same): PostgreSQL leaves out of the count those the filters do not use."""
    columns: list[Any] = [
        Query,
        Site.code,
        Subject.label,
        # a form's visit, or the visit a query on a whole visit sits on (none: the subject)
        func.coalesce(FormInstance.visit, VisitInstance.visit),
        func.coalesce(FormInstance.visit_repeat, VisitInstance.repeat),
        FormInstance.form,
        FormInstance.repeat,
        User.name,
    ]
    if text:
        columns.append(
            select(QueryMessage.body)
            .where(QueryMessage.query_id == Query.id, QueryMessage.step == QueryStep.RAISED)
            .order_by(QueryMessage.id)
            .limit(1)
            .scalar_subquery()
        )
    statement = (
        select(*columns)
        .outerjoin(Site, Site.id == Query.site_id)
        .outerjoin(Subject, Subject.id == Query.subject_id)
        .outerjoin(FormInstance, FormInstance.id == Query.form_instance_id)
        .outerjoin(VisitInstance, VisitInstance.id == Query.visit_instance_id)
        .outerjoin(User, User.id == Query.raised_by_id)
        .where(Query.study_id == context.study.id, Query.site_id.in_([s.id for s in sites]))
        .order_by(Query.number.desc())
    )
    if filters.site is not None:
        statement = statement.where(Query.site_id == filters.site.id)
    if filters.subject:
        escaped = filters.subject.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Subject.label.ilike(f"%{escaped}%", escape="\\"))
    if filters.state is not None:
        statement = statement.where(Query.state == filters.state)
    if filters.older_than is not None:  # ages are counted in UTC, whatever the reader's zone
        cutoff = datetime.now(UTC) - timedelta(days=filters.older_than)
        statement = statement.where(Query.raised_at < cutoff)
    if filters.raiser == SYSTEM:
        statement = statement.where(Query.origin == QueryOrigin.SYSTEM)
    elif filters.raiser:
        statement = statement.where(Query.raised_by_id == int(filters.raiser))
    if filters.form:
        statement = statement.where(FormInstance.form == filters.form)
    return statement


def _raisers(
    request: Request, context: QueriesResource, sites: Sequence[Site]
) -> list[tuple[int, str]]:
    """The people who raised queries at the sites the user sees (for the filter): as for the
    list's rows, staff known only at other sites stay unknown."""
    raised_here = select(Query.raised_by_id).where(
        Query.study_id == context.study.id, Query.site_id.in_([s.id for s in sites])
    )
    return list(
        request.dbsession.execute(
            select(User.id, User.name).where(User.id.in_(raised_here)).order_by(User.name)
        ).all()
    )


@page_view(QueriesResource, "queries/list.jinja2", Permission.LIST_SUBJECTS)
def query_list(context: QueriesResource, request: Request) -> dict[str, Any]:
    sites = _visible_sites(request, context)
    filters = read_filters(request, sites)
    page = paginate(
        request.dbsession,
        _statement(context, sites, filters, text=True),
        page_number(request.GET.get("page")),
        QUERIES_PER_PAGE,
        key=Query.number,
        descending=True,
    )
    design = published_design(request.dbsession, context.study)
    definition = design.definition if design else None
    return {
        "page": page,
        "sites": sites,
        "filters": filters,
        "query": filters.as_query(),
        "ages": AGES,
        "raisers": _raisers(request, context, sites),
        "definition": definition,
        "design_forms": definition.forms if definition else [],
        "item_labels": {item.oid: item.label for _form, item in definition.items()}
        if definition
        else {},
        "form_titles": {form.name: form.title for form in definition.forms} if definition else {},
        "can_close": any(
            request.has_permission(Permission.RAISE_QUERY, _node(context, row[0]))
            for row in page.items
        ),
        "state_labels": services.STATE_LABELS,
        "errors": {},
    }


def _node(
    context: QueriesResource, query: Query, instance: FormInstance | None = None
) -> QueryResource:
    """The query's node; with its form ``instance``, the form's state denials apply too."""
    return QueryResource(context, query, instance)


@view_config(
    context=QueriesResource,
    name="close",
    request_method="POST",
    permission=Permission.RAISE_QUERY,
)
def close_selected(context: QueriesResource, request: Request) -> Response:
    """Bulk close: the queries ticked on the list that this user may close, with one reason.

    ``RAISE_QUERY`` on the list says the user closes queries somewhere in the study; each
    ticked query is still checked on its own node, so the queries of sites the user may not
    touch (or of forms whose state refuses it) are skipped."""
    numbers = [int(n) for n in request.POST.getall("query") if n.isascii() and n.isdigit()][:500]
    sites = _visible_sites(request, context)
    chosen = request.dbsession.execute(
        select(Query, FormInstance)
        .outerjoin(FormInstance, FormInstance.id == Query.form_instance_id)
        .where(
            Query.study_id == context.study.id,
            Query.number.in_(numbers),
            Query.site_id.in_([site.id for site in sites]),
            Query.state != QueryState.CLOSED,
        )
    ).all()
    closable = [
        query
        for query, instance in chosen
        if request.has_permission(Permission.RAISE_QUERY, _node(context, query, instance))
    ]
    errors: dict[str, Any] = {}
    body = ""
    try:
        body = services.clean_message(request.POST.get("message", ""))
    except services.QueryRefused as refused:
        errors["message"] = refused.message
    if not closable:
        errors["query"] = _(
            "Tick the open or answered queries to close (among those you may close)."
        )
    if errors:
        data = query_list(context, request)
        data["errors"] = errors
        request.response.status_int = 422
        return render_to_response(
            "queries/list.jinja2", data, request=request, response=request.response
        )
    for query in closable:
        services.move(request.dbsession, query, QueryStep.CLOSED, body, request.actor)
    request.session.flash(
        request.localizer.pluralize(
            "${count} query was closed.",
            "${count} queries were closed.",
            len(closable),
            domain="datacapt",
            mapping={"count": len(closable)},
        )
    )
    return redirect(request, request.resource_url(context, query=filters_from_post(request)))


def filters_from_post(request: Request) -> dict[str, str]:
    """The list's filters, carried by the bulk-close form, to come back to the same list."""
    return {
        key: request.POST[key]
        for key in ("site", "subject", "state", "age", "raiser", "form")
        if request.POST.get(key)
    }


# --- export --------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "query",
    "site",
    "subject",
    "visit",
    "visit_repeat",
    "form",
    "form_repeat",
    "item",
    "state",
    "origin",
    "raised_at_utc",
    "answered_at_utc",
    "closed_at_utc",
    "age_days",
)


def safe_cell(value: object) -> str:
    """A cell no spreadsheet will run: text starting like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _utc(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def csv_lines(rows: Sequence[Any], now: datetime) -> Iterator[bytes]:
    """The export, line by line. No names and no message text: those are personal data."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Sequence[object]) -> bytes:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(value) for value in values])
        return buffer.getvalue().encode("utf-8")

    yield "\ufeff".encode() + line(EXPORT_COLUMNS)
    for query, site, subject, visit, visit_repeat, form, form_repeat, _raiser in rows:
        yield line(
            (
                query.number,
                site,
                subject,
                visit,
                visit_repeat,
                form,
                form_repeat,
                query.item_oid or "",
                query.state.value,
                query.origin.value,
                _utc(query.raised_at),
                _utc(query.answered_at),
                _utc(query.closed_at),
                (now - query.raised_at).days,
            )
        )


@view_config(
    context=QueriesResource,
    name="export",
    request_method=("GET", "HEAD"),
    permission=Permission.LIST_SUBJECTS,
)
def export_csv(context: QueriesResource, request: Request) -> Response:
    """The filtered list as CSV, streamed. Rows are read inside the request's transaction (the
    stream is written after it ends), as plain tuples, so nothing is loaded lazily later."""
    sites = _visible_sites(request, context)
    rows = request.dbsession.execute(_statement(context, sites, read_filters(request, sites))).all()
    audit.record(
        request.dbsession,
        request.actor,
        tenant_id=context.study.tenant_id,
        study_id=context.study.id,
        action="query.exported",
        entity_type="study",
        entity_id=context.study.id,
        new={"rows": len(rows), **read_filters(request, sites).as_query()},
    )
    request.dbsession.expunge_all()
    response = Response(content_type="text/csv", charset="utf-8")
    response.app_iter = csv_lines(rows, datetime.now(UTC))
    response.content_disposition = f'attachment; filename="{context.study.code}-queries.csv"'
    return response


# --- metrics -------------------------------------------------------------------------------


@page_view(QueriesResource, "queries/_metrics.jinja2", Permission.LIST_SUBJECTS, name="metrics")
def metrics(context: QueriesResource, request: Request) -> dict[str, Any]:
    """Open queries by site and the median time from raising to the first answer."""
    sites = _visible_sites(request, context)
    site_ids = [site.id for site in sites]
    open_by_site = dict(
        request.dbsession.execute(
            select(Query.site_id, func.count())
            .where(
                Query.study_id == context.study.id,
                Query.site_id.in_(site_ids),
                Query.state != QueryState.CLOSED,
            )
            .group_by(Query.site_id)
        ).all()
    )
    waits = [
        (answered - raised).total_seconds()
        for raised, answered in request.dbsession.execute(
            select(Query.raised_at, Query.answered_at).where(
                Query.study_id == context.study.id,
                Query.site_id.in_(site_ids),
                Query.answered_at.is_not(None),
            )
        )
    ]
    median = (
        format_timedelta(
            timedelta(seconds=statistics.median(waits)), locale=request.locale_name, threshold=1.5
        )
        if waits
        else None
    )
    return {
        "sites": sites,
        "open_by_site": open_by_site,
        "total_open": sum(open_by_site.values()),
        "median": median,
        "answered": len(waits),
    }
