"""Invitation pages: a study's invitations (invite, send again, withdraw) for its managers, and
the page the invitation link opens, where the invitee joins (or, with an account, accepts)."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from datacapt.accounts.passwords import MAX_PASSWORD_LENGTH
from datacapt.accounts.services import find_user
from datacapt.htmx import page_view, redirect
from datacapt.i18n import LANGUAGES, _
from datacapt.members import invitations, roles
from datacapt.models import Invitation, InvitationStatus, Study, Tenant
from datacapt.permissions import ROLE_LABELS, Permission
from datacapt.resources import Root, StudyResource
from datacapt.signin import flow as signin
from datacapt.studies.services import study_sites
from datacapt.validation import ValidationError

LIST = "accounts/invitations.jinja2"
ACCEPT = "accounts/invitation.jinja2"
MAX_NAME_LENGTH = 200


# --- a study's invitations --------------------------------------------------------------------


def _list(request: Request, context: StudyResource, **form: Any) -> dict[str, Any]:
    study = context.study
    sites = study_sites(request.dbsession, study)
    return {
        "invitations": invitations.study_invitations(request.dbsession, study),
        "now": invitations.now(),
        "sites": sites,
        "site_codes": {site.id: site.code for site in sites},
        "offered": list(roles.grantable_study_roles(request.identity, study)),
        "role_labels": ROLE_LABELS,
        "languages": list(LANGUAGES.items()),
        "form": {
            "email": "",
            "role": "",
            "scope": "study",
            "chosen": [],
            "language": request.locale_name,
            "errors": {},
            **form,
        },
    }


@page_view(StudyResource, LIST, Permission.MANAGE_STUDY, name="invitations")
def invitations_page(context: StudyResource, request: Request) -> dict[str, Any]:
    return _list(request, context)


@view_config(
    context=StudyResource,
    name="invitations",
    request_method="POST",
    renderer=LIST,
    permission=Permission.MANAGE_STUDY,
)
def invitations_action(context: StudyResource, request: Request) -> Any:
    step = request.POST.get("step")
    if step == "invite":
        return _invite(context, request)
    if step not in ("resend", "revoke"):
        raise HTTPBadRequest()
    invitation = _invitation_of(request, context)
    try:
        if step == "resend":
            invitations.resend(
                request.dbsession,
                request.identity,
                context.study,
                invitation,
                request.application_url,
                request.actor,
            )
            message = _("The invitation was sent again.")
        else:
            invitations.revoke(
                request.dbsession, request.identity, context.study, invitation, request.actor
            )
            message = _("The invitation was withdrawn.")
    except ValidationError as error:
        request.response.status_int = 409
        return _list(request, context, alert=error.message)
    request.session.flash(request.localizer.translate(message))
    return redirect(request, request.resource_url(context, "@@invitations"))


def _invitation_of(request: Request, context: StudyResource) -> Invitation:
    raw = request.POST.get("invitation", "")
    invitation = (
        request.dbsession.get(Invitation, int(raw)) if raw.isdigit() and len(raw) < 12 else None
    )
    if invitation is None or invitation.study_id != context.study.id:
        raise HTTPBadRequest()
    return invitation


def _invite(context: StudyResource, request: Request) -> Any:
    post = request.POST
    form = {
        "email": post.get("email", "")[:300],
        "role": post.get("role", ""),
        "scope": post.get("scope", ""),
        "chosen": post.getall("site")[:1000],
        "language": post.get("language", ""),
        "errors": {},
    }
    sites = study_sites(request.dbsession, context.study)
    try:
        choice = roles.read_choice(form["role"], form["scope"], form["chosen"], sites)
        invitations.invite(
            request.dbsession,
            request.identity,
            context.study,
            form["email"],
            choice,
            form["language"],
            request.application_url,
            request.actor,
        )
    except ValidationError as error:
        form["errors"] = {error.field: error.message}
        request.response.status_int = 422
        return _list(request, context, **form)
    request.session.flash(request.localizer.translate(_("The invitation is on its way.")))
    return redirect(request, request.resource_url(context, "@@invitations"))


# --- the link's page --------------------------------------------------------------------------

STATE_MESSAGES = {
    InvitationStatus.ACCEPTED: _("This invitation was used already. Sign in to open the study."),
    InvitationStatus.REVOKED: _("This invitation was withdrawn. Ask the person who invited you."),
    InvitationStatus.EXPIRED: _("This invitation has expired. Ask for a new one."),
}


def _usable(request: Request, token: str) -> Invitation | dict[str, Any]:
    """The pending invitation of ``token``, or the page that explains why it cannot be used."""
    request.response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the address
    invitation = invitations.find_by_token(request.dbsession, token)
    if invitation is None:
        request.response.status_int = 404
        return {
            "problem": _("This invitation link is not valid. Open the link of the latest mail.")
        }
    state = invitation.status_at(invitations.now())
    if state is not InvitationStatus.PENDING:
        request.response.status_int = 410
        return {"problem": STATE_MESSAGES[state]}
    return invitation


def _accept_page(
    request: Request, invitation: Invitation, token: str, **extra: Any
) -> dict[str, Any]:
    identity = request.identity
    account = find_user(request.dbsession, invitation.email)
    is_invitee = identity is not None and account is not None and identity.user.id == account.id
    return {
        "problem": None,
        "token": token,
        "invitation": invitation,
        "study": request.dbsession.get(Study, invitation.study_id),
        "role_label": ROLE_LABELS[invitation.role],
        "has_account": account is not None,
        "signed_in_as_invitee": is_invitee,
        "signed_in_as_other": identity is not None and not is_invitee,
        "name": extra.pop("name", ""),
        "errors": extra.pop("errors", {}),
        **extra,
    }


@page_view(Root, ACCEPT, NO_PERMISSION_REQUIRED, name="invitation")
def invitation_page(context: Root, request: Request) -> dict[str, Any]:
    token = request.GET.get("token", "")
    found = _usable(request, token)
    if isinstance(found, dict):
        return found
    return _accept_page(request, found, token)


@view_config(
    context=Root,
    name="invitation",
    request_method="POST",
    renderer=ACCEPT,
    permission=NO_PERMISSION_REQUIRED,
)
def invitation_answer(context: Root, request: Request) -> Any:
    token = request.POST.get("token", "")
    found = _usable(request, token)
    if isinstance(found, dict):
        return found
    invitation = found
    study_url = _study_url(request, invitation)
    if request.POST.get("step") == "accept":
        identity = request.identity
        if identity is None:
            raise HTTPBadRequest()
        try:
            invitations.accept(
                request.dbsession, invitation, identity.account(request.dbsession), request.actor
            )
        except ValidationError as error:
            request.response.status_int = 409
            return _accept_page(request, invitation, token, errors={error.field: error.message})
        return redirect(request, study_url)
    name = " ".join(request.POST.get("name", "").split())[: MAX_NAME_LENGTH + 1]
    password = request.POST.get("new_password", "")[: MAX_PASSWORD_LENGTH + 1]
    errors = {}
    if not name:
        errors["name"] = _("Enter your name.")
    if password != request.POST.get("confirm_password", "")[: MAX_PASSWORD_LENGTH + 1]:
        errors["confirm_password"] = _("The two passwords differ: type the same one twice.")
    if not errors:
        try:
            user = invitations.join(
                request.dbsession, request.registry, invitation, name, password, request.actor
            )
        except ValidationError as error:  # the policy speaks of "password": the field's name
            errors["new_password" if error.field == "password" else error.field] = error.message
    if errors:
        request.response.status_int = 422
        return _accept_page(request, invitation, token, name=name, errors=errors)
    if signin.two_factor_required(request, user):
        signin.begin(request, user, _path(request, study_url), enrol=True)
        return redirect(request, f"{request.application_url}/login-enrol")
    signin.complete(request, user, "invitation")
    return redirect(request, study_url)


def _study_url(request: Request, invitation: Invitation) -> str:
    study = request.dbsession.get(Study, invitation.study_id)
    tenant = request.dbsession.get(Tenant, study.tenant_id)
    return f"{request.application_url}/{tenant.slug}/{study.code}/"


def _path(request: Request, url: str) -> str:
    return url.removeprefix(request.application_url)
