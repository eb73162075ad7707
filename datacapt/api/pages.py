"""The study's API keys page (study administrators): the keys with their role, scope, expiry
and last use; issuing one, whose key is shown on the answer once and never again; revoking
one with a reason. The answer to an issue is a page, not a redirect, so the key never travels
in a cookie or a URL."""

from __future__ import annotations

from typing import Any

from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.api import keys
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.members import roles
from datacapt.permissions import ROLE_LABELS, Permission
from datacapt.resources import StudyResource
from datacapt.studies.services import study_sites
from datacapt.validation import ValidationError, whole_number

PAGE = "api/keys.jinja2"
DEFAULT_DAYS = 90


def _data(request: Request, context: StudyResource, **extra: Any) -> dict[str, Any]:
    return {
        "keys": keys.study_keys(request.dbsession, context.study),
        "sites": study_sites(request.dbsession, context.study),
        "grantable": roles.grantable_study_roles(request.identity, context.study),
        "role_labels": ROLE_LABELS,
        "errors": {},
        "values": {"scope": "study", "sites": set(), "days": DEFAULT_DAYS},
        "issued": None,
        "revoke_errors": {},
        **extra,
    }


@page_view(StudyResource, PAGE, Permission.MANAGE_STUDY, name="api-keys")
def keys_page(context: StudyResource, request: Request) -> dict[str, Any]:
    return _data(request, context)


def _render(request: Request, context: StudyResource, status: int, **extra: Any) -> Response:
    response = render_to_response(PAGE, _data(request, context, **extra), request=request)
    response.status_int = status
    return response


@view_config(
    context=StudyResource,
    name="issue-api-key",
    request_method="POST",
    permission=Permission.MANAGE_STUDY,
)
def issue_key(context: StudyResource, request: Request) -> Response:
    post = request.POST
    values = {
        "name": post.get("name", "")[: keys.MAX_NAME + 1],
        "role": post.get("role", ""),
        "scope": post.get("scope", ""),
        "sites": set(post.getall("site")),
        "writes": post.get("writes") == "1",
        "days": post.get("days", ""),
    }
    try:
        days = whole_number(values["days"], 10_000)
        if days is None:
            raise ValidationError("days", _("A key lives from 1 to 366 days."))
        choice = roles.read_choice(
            values["role"],
            values["scope"],
            post.getall("site"),
            study_sites(request.dbsession, context.study),
        )
        issued = keys.issue(
            request.dbsession,
            context.study,
            name=values["name"],
            choice=choice,
            writes=values["writes"],
            days=days,
            granter=request.identity,
            by=request.actor,
        )
    except ValidationError as error:
        return _render(request, context, 422, errors={error.field: error.message}, values=values)
    return _render(request, context, 201, issued=issued)


@view_config(
    context=StudyResource,
    name="revoke-api-key",
    request_method="POST",
    permission=Permission.MANAGE_STUDY,
)
def revoke_key(context: StudyResource, request: Request) -> Response:
    row = keys.find(request.dbsession, context.study, request.POST.get("prefix", ""))
    if row is None:
        return redirect(request, request.resource_path(context, "@@api-keys"))
    try:
        keys.revoke(request.dbsession, row, reason=request.POST.get("reason", ""), by=request.actor)
    except ValidationError as error:
        return _render(request, context, 422, revoke_errors={row.prefix: error.message})
    request.session.flash(request.localizer.translate(_("The key was revoked.")))
    return redirect(request, request.resource_path(context, "@@api-keys"))
