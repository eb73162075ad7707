"""Saved export definitions on the study's Exports page: save the options under a name (with
an optional schedule), run one again with a click, edit it, delete it; all audited."""

from __future__ import annotations

from functools import partial
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.view import view_config

from datacapt.exports import definitions
from datacapt.exports.definition_forms import parse_definition, posted_from
from datacapt.exports.services import ExportRefused, known_subjects
from datacapt.exports.source import catalogue
from datacapt.exports.views import PAGE, _page, may_take_personal_data
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _, request_timezone
from datacapt.models import ExportDefinition
from datacapt.permissions import Permission
from datacapt.resources import ExportsResource
from datacapt.studies.services import study_sites

NAME_TAKEN = _("A saved export of this study already has this name.")


def _definition(context: ExportsResource, request: Request) -> ExportDefinition:
    """The definition named by the ``id`` parameter, of this study; else 404."""
    text = request.params.get("id", "")
    found = None
    if text.isascii() and text.isdigit() and len(text) <= 12:
        found = definitions.definition_in(request.dbsession, context.study, int(text))
    if found is None:
        raise HTTPNotFound()
    return found


def _refused(
    context: ExportsResource, request: Request, errors: dict[str, Any], editing: Any = None
) -> dict[str, Any]:
    request.response.status_int = 422
    page = _page(context, request, posted=request.POST, editing=editing)
    return {**page, "errors": errors}


def _parsed(context: ExportsResource, request: Request) -> tuple[Any, dict[str, Any]]:
    study = context.study
    sites = [site.code for site in study_sites(request.dbsession, study)]
    found = catalogue(request.dbsession, study)
    return parse_definition(
        request.POST,
        sites,
        list(found.forms),
        list(dict.fromkeys([*found.visits, "unscheduled"])),
        known_subjects=partial(known_subjects, request.dbsession, study),
        zone=request_timezone(request),
        personal_allowed=may_take_personal_data(request, context),
    )


@view_config(
    context=ExportsResource,
    name="save-definition",
    request_method="POST",
    renderer=PAGE,
    permission=Permission.EXPORT_DATA,
)
def save_definition(context: ExportsResource, request: Request) -> Any:
    parsed, errors = _parsed(context, request)
    if errors:
        return _refused(context, request, errors)
    name, options, schedule = parsed
    try:
        definitions.save_definition(
            request.dbsession,
            context.study,
            request.actor,
            owner_id=request.identity.user.id,
            name=name,
            options=options,
            schedule=schedule,
            application_url=request.application_url,
        )
    except definitions.NameTaken:
        return _refused(context, request, {"name": NAME_TAKEN})
    except ExportRefused as refusal:
        return _refused(context, request, {"format": str(refusal)})
    return redirect(request, request.resource_path(context))


@page_view(ExportsResource, PAGE, Permission.EXPORT_DATA, name="definition")
def edit_definition_form(context: ExportsResource, request: Request) -> dict[str, Any]:
    definition = _definition(context, request)
    return _page(
        context, request, posted=posted_from(definition.options, definition), editing=definition
    )


@view_config(
    context=ExportsResource,
    name="definition",
    request_method="POST",
    renderer=PAGE,
    permission=Permission.EXPORT_DATA,
)
def change_definition(context: ExportsResource, request: Request) -> Any:
    definition = _definition(context, request)
    parsed, errors = _parsed(context, request)
    if errors:
        return _refused(context, request, errors, editing=definition)
    name, options, schedule = parsed
    try:
        definitions.change_definition(
            request.dbsession,
            context.study,
            definition,
            request.actor,
            name=name,
            options=options,
            schedule=schedule,
        )
    except definitions.NameTaken:
        return _refused(context, request, {"name": NAME_TAKEN}, editing=definition)
    except ExportRefused as refusal:
        return _refused(context, request, {"format": str(refusal)}, editing=definition)
    return redirect(request, request.resource_path(context))


@view_config(
    context=ExportsResource,
    name="run-definition",
    request_method="POST",
    renderer=PAGE,
    permission=Permission.EXPORT_DATA,
)
def run_definition(context: ExportsResource, request: Request) -> Any:
    definition = _definition(context, request)
    try:
        definitions.run_definition(
            request.dbsession,
            context.study,
            definition,
            request.actor,
            requested_by_id=request.identity.user.id,
            application_url=request.application_url,
        )
    except ExportRefused as refusal:
        request.response.status_int = 422
        return {**_page(context, request), "errors": {"definitions": str(refusal)}}
    return redirect(request, request.resource_path(context))


@view_config(
    context=ExportsResource,
    name="delete-definition",
    request_method="POST",
    permission=Permission.EXPORT_DATA,
)
def delete_definition(context: ExportsResource, request: Request) -> Any:
    definitions.delete_definition(request.dbsession, _definition(context, request), request.actor)
    return redirect(request, request.resource_path(context))
