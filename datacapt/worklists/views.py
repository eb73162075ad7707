"""The worklists on the study's page (their counts) and each worklist's page of rows.

Both cost the same few statements whatever the number of rows: the sites, the published design,
one statement counting every worklist at once, and for a list one count and one page.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.request import Request
from pyramid.traversal import quote_path_segment
from sqlalchemy import func, select

from datacapt.ecrf.casebook import is_log, visit_key
from datacapt.htmx import page_view
from datacapt.models import Site
from datacapt.pagination import page_number, paginate
from datacapt.permissions import Permission
from datacapt.resources import SiteResource, SitesResource, StudyResource
from datacapt.studies.services import study_sites
from datacapt.worklists.registry import Scope, Worklist, worklists_of

ROWS_PER_PAGE = 50


def _scope(
    request: Request, context: StudyResource, worklist: Worklist, sites: list[Site]
) -> Scope | None:
    """The worklist's scope for this reader: the sites where they hold its permission (None
    when there is none, so the worklist is not theirs)."""
    container = SitesResource(context)
    site_ids = tuple(
        site.id
        for site in sites
        if request.has_permission(worklist.permission, SiteResource(container, site))
    )
    if not site_ids:
        return None
    design = context.design
    return Scope(context.study, site_ids, request.today, design.definition if design else None)


def _visible_sites(request: Request, context: StudyResource) -> list[Site]:
    return study_sites(
        request.dbsession, context.study, request.identity.visible_site_ids(context.study)
    )


@page_view(StudyResource, "worklists/panel.jinja2", Permission.LIST_SUBJECTS, name="worklists")
def worklists_panel(context: StudyResource, request: Request) -> dict[str, Any]:
    """The reader's worklists with their counts, counted together in one statement."""
    sites = _visible_sites(request, context)
    mine = [
        (worklist, scope)
        for worklist in worklists_of(request.registry).all()
        if (scope := _scope(request, context, worklist, sites)) is not None
    ]
    counts: list[int] = []
    if mine:
        counted = request.dbsession.execute(
            select(
                *(
                    select(func.count())
                    .select_from(worklist.statement(scope).order_by(None).subquery())
                    .scalar_subquery()
                    .label(f"count_{index}")
                    for index, (worklist, scope) in enumerate(mine)
                )
            )
        ).one()
        counts = list(counted)
    return {
        "worklists": [
            (worklist, count) for (worklist, _scope), count in zip(mine, counts, strict=True)
        ]
    }


def _form_path(subjects: str, logs: set[str], row: Any) -> str:
    """The form's page below the subjects' path (a log row is a form of its own)."""
    return "/".join(
        (
            subjects,
            quote_path_segment(row.label),
            quote_path_segment(visit_key(row.visit, row.visit_repeat)),
            quote_path_segment(f"{row.form}-{row.repeat}" if row.form in logs else row.form),
            "",
        )
    )


@page_view(StudyResource, "worklists/list.jinja2", Permission.LIST_SUBJECTS, name="worklist")
def worklist_page(context: StudyResource, request: Request) -> dict[str, Any]:
    """One worklist (its name follows ``@@worklist/``), a page at a time."""
    if len(request.subpath) != 1:
        raise HTTPNotFound()
    worklist = worklists_of(request.registry).get(request.subpath[0])
    if worklist is None:
        raise HTTPNotFound()
    scope = _scope(request, context, worklist, _visible_sites(request, context))
    if scope is None:
        raise HTTPForbidden()
    page = paginate(
        request.dbsession,
        worklist.statement(scope),
        page_number(request.GET.get("page")),
        ROWS_PER_PAGE,
        key=worklist.key,
    )
    if worklist.shown is not None:
        page = replace(page, items=list(worklist.shown(scope, page.items)))
    definition = scope.definition
    logs = {form.name for form in definition.forms if is_log(form)} if definition else set()
    subjects = request.resource_path(context, "subjects")
    return {
        "worklist": worklist,
        "page": page,
        "definition": definition,
        "form_titles": {f.name: f.title for f in definition.forms} if definition else {},
        "visit_titles": {v.name: v.title for v in definition.schedule.visits} if definition else {},
        "subjects_path": subjects,
        "form_path": lambda row: _form_path(subjects, logs, row),
        "queries_path": request.resource_path(context, "queries"),
    }
