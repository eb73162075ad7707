"""The JSON API, version 1: each route walks the same resource tree as the pages (its
``traverse`` pattern), so the same ACLs decide; requests and answers are checked against
``openapi.yaml``."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.api import problems, services
from datacapt.entry import services as entry
from datacapt.permissions import Permission
from datacapt.reactions import reactions_of
from datacapt.resources import (
    FormEntryResource,
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
