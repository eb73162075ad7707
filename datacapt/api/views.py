"""The JSON API, version 1: each route walks the same resource tree as the pages (its
``traverse`` pattern), so the same ACLs decide; requests and answers are checked against
``openapi.yaml``."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import FileResponse, Response
from pyramid.view import view_config

from datacapt.api import problems, services
from datacapt.entry import services as entry
from datacapt.exports import services as exports
from datacapt.permissions import Permission
from datacapt.reactions import reactions_of
from datacapt.resources import (
    ExportResource,
    ExportsResource,
    FormEntryResource,
    QueriesResource,
    SitesResource,
    StudyResource,
    SubjectResource,
    SubjectsResource,
)

STUDY = "/{tenant}/{study}"
#: Route name → (URL pattern, path in the resource tree).
ROUTES = {
    "api.study": ("/api/v1/studies" + STUDY, STUDY),
    "api.sites": ("/api/v1/studies" + STUDY + "/sites", STUDY + "/sites"),
    "api.subjects": ("/api/v1/studies" + STUDY + "/subjects", STUDY + "/subjects"),
    "api.subject": (
        "/api/v1/studies" + STUDY + "/subjects/{subject}",
        STUDY + "/subjects/{subject}",
    ),
    "api.form": (
        "/api/v1/studies" + STUDY + "/subjects/{subject}/{visit}/{form}",
        STUDY + "/subjects/{subject}/{visit}/{form}",
    ),
    "api.queries": ("/api/v1/studies" + STUDY + "/queries", STUDY + "/queries"),
    "api.exports": ("/api/v1/studies" + STUDY + "/exports", STUDY + "/exports"),
    "api.export": (
        "/api/v1/studies" + STUDY + "/exports/{export}",
        STUDY + "/exports/{export}",
    ),
    "api.export_file": (
        "/api/v1/studies" + STUDY + "/exports/{export}/file",
        STUDY + "/exports/{export}",
    ),
}
DEFAULTS = {"renderer": "json", "openapi": True, "require_csrf": False}


def _page(request: Request) -> services.Page:
    """The page the query asks for (the OpenAPI description bounds both numbers)."""
    return services.Page(
        limit=int(request.GET.get("limit", 100)), offset=int(request.GET.get("offset", 0))
    )


@view_config(
    route_name="api.study",
    context=StudyResource,
    request_method="GET",
    permission=Permission.VIEW_STUDY,
    **DEFAULTS,
)
def study(context: StudyResource, request: Request) -> dict[str, Any]:
    design = context.design
    return {
        "tenant": context.tenant.slug,
        "code": context.study.code,
        "title": context.study.title,
        "published_version": design.number if design is not None else None,
    }


@view_config(
    route_name="api.sites",
    context=SitesResource,
    request_method="GET",
    permission=Permission.VIEW_STUDY,
    **DEFAULTS,
)
def sites(context: SitesResource, request: Request) -> dict[str, Any]:
    visible = request.identity.visible_site_ids(context.study)
    return services.sites(request.dbsession, context.study, visible, _page(request))


@view_config(
    route_name="api.subjects",
    context=SubjectsResource,
    request_method="GET",
    permission=Permission.LIST_SUBJECTS,
    **DEFAULTS,
)
def subjects(context: SubjectsResource, request: Request) -> dict[str, Any]:
    visible = request.identity.visible_site_ids(context.study)
    return services.subjects(request.dbsession, context.study, visible, _page(request))


@view_config(
    route_name="api.subject",
    context=SubjectResource,
    request_method="GET",
    permission=Permission.VIEW_SUBJECT,
    **DEFAULTS,
)
def subject(context: SubjectResource, request: Request) -> dict[str, Any]:
    design = context.design
    definition = design.definition if design is not None else None
    return services.subject_casebook(request.dbsession, context.subject, context.site, definition)


@view_config(
    route_name="api.form",
    context=FormEntryResource,
    request_method="GET",
    permission=Permission.VIEW_SUBJECT,
    **DEFAULTS,
)
def form(context: FormEntryResource, request: Request) -> dict[str, Any]:
    return services.form_data(request.dbsession, context.form, context.instance)


@view_config(
    route_name="api.form",
    context=FormEntryResource,
    request_method="PUT",
    permission=Permission.ENTER_DATA,
    **DEFAULTS,
)
def write(context: FormEntryResource, request: Request) -> Any:
    """The body's values over the form's (items left out keep theirs), saved as a person's
    save is: all or nothing, audited, 409 when ``version`` is not the form's."""
    body = request.json_body
    asked = services.Write(
        values=body.get("values", {}),
        missing=body.get("missing", {}),
        version=body.get("version"),
        complete=body.get("complete"),
        reason=body.get("reason", ""),
    )
    scope = entry.form_scope(context)
    try:
        result = services.write_form(
            request.dbsession,
            scope,
            context.visit_node.design.definition,
            asked,
            today=request.today,
            missing_codes={code for code, _label in context.study.missing_codes},
            actor=request.actor,
            reactions=reactions_of(request.registry),
        )
    except services.UnknownItems as unknown:
        errors = dict.fromkeys(unknown.names, "The API does not write this item of this form.")
        return _refused(request, errors)
    except entry.SaveRefused as refusal:
        translate = request.localizer.translate
        errors = {name: translate(message) for name, message in refusal.errors.items()}
        return _refused(request, errors)
    except entry.StaleForm as stale:
        return problems.problem(
            request,
            409,
            "Conflict",
            detail="The form was saved since this version: read it again.",
            version=stale.instance.lock_version,
        )
    except entry.EntryBlocked as blocked:
        detail = " ".join(request.localizer.translate(text) for text in blocked.refusals)
        return problems.problem(request, 403, "Forbidden", detail=detail)
    except entry.FormClosed:
        return problems.problem(
            request, 403, "Forbidden", detail="The form is frozen, locked or signed."
        )
    return services.form_data(request.dbsession, context.form, result.instance)


def _refused(request: Request, errors: dict[str, str]) -> Response:
    """Nothing saved (the 4xx vetoes the transaction): each refused item, or ``missing-``
    item, with its message."""
    return problems.problem(
        request, 422, "Unprocessable Content", detail="Nothing was saved.", errors=errors
    )


@view_config(
    route_name="api.queries",
    context=QueriesResource,
    request_method="GET",
    permission=Permission.LIST_SUBJECTS,
    **DEFAULTS,
)
def queries(context: QueriesResource, request: Request) -> dict[str, Any]:
    visible = request.identity.visible_site_ids(context.study)
    state = request.GET.get("state")
    return services.queries(request.dbsession, context.study, visible, state, _page(request))


@view_config(
    route_name="api.exports",
    context=ExportsResource,
    request_method="POST",
    permission=Permission.EXPORT_DATA,
    **DEFAULTS,
)
def request_export(context: ExportsResource, request: Request) -> Any:
    """Start an export (a job): 202 with where to follow it."""
    options = services.export_options(request.json_body)
    try:
        row = exports.request_export(
            request.dbsession, context.study, options, request.identity.user.id
        )
    except exports.ExportRefused as refusal:
        return problems.problem(request, 422, "Unprocessable Content", detail=str(refusal))
    request.response.status = 202
    request.response.location = request.route_url("api.export", export=row.id, **request.matchdict)
    return services.export_state(row, None)


@view_config(
    route_name="api.export",
    context=ExportResource,
    request_method="GET",
    permission=Permission.VIEW_EXPORTS,
    **DEFAULTS,
)
def export(context: ExportResource, request: Request) -> dict[str, Any]:
    row = context.export
    usable = exports.downloadable(request.registry, row) is not None
    usable = usable and not exports.holds_personal_data(row)
    file_url = request.route_path("api.export_file", **request.matchdict) if usable else None
    return services.export_state(row, file_url)


@view_config(
    route_name="api.export_file",
    context=ExportResource,
    request_method="GET",
    permission=Permission.VIEW_EXPORTS,
    openapi=True,
    require_csrf=False,
)
def export_file(context: ExportResource, request: Request) -> Response:
    """The file, while it is kept (404 after, or before it is done); audited."""
    path = exports.take(
        request.dbsession,
        request.registry,
        context.export,
        personal_allowed=False,
        actor=request.actor,
    )
    if path is None:
        raise HTTPNotFound()
    response = FileResponse(str(path), request=request, content_type="application/octet-stream")
    response.content_disposition = f'attachment; filename="export-{context.export.id}{path.suffix}"'
    return response
