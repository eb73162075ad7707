"""Role administration pages: the members of a tenant and of a study, and their role changes.

Each member is a fragment: after a change, an htmx request gets that member re-rendered in place
(422 with the error next to its field, 409 with how it stands now if someone changed it
meanwhile) and the aria-live status region says what happened; without htmx the page reloads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.i18n import TranslationString
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.members import roles
from datacapt.models import Site, StudyRoleAssignment, User
from datacapt.permissions import ROLE_LABELS, Permission, TenantRole
from datacapt.resources import StudyResource, TenantResource
from datacapt.studies.services import study_sites
from datacapt.validation import MAX_EMAIL_LENGTH, ValidationError, whole_number

STUDY_PAGE = "accounts/study_members.jinja2"
STUDY_MEMBER = "accounts/study_member.jinja2"
TENANT_PAGE = "accounts/tenant_members.jinja2"
TENANT_MEMBER = "accounts/tenant_member.jinja2"


def _render(request: Request, template: str, data: dict[str, Any], status: int) -> Response:
    response = render_to_response(template, data, request=request)
    response.status_int = status
    return response


def _flash(request: Request, message: Any) -> None:
    request.session.flash(request.localizer.translate(message))


# --- study members --------------------------------------------------------------------------


def _sites(request: Request, context: StudyResource) -> list[Site]:
    return study_sites(request.dbsession, context.study)


def _study_data(
    request: Request,
    context: StudyResource,
    members: list[roles.Member],
    *,
    errors: dict[int, dict[str, Any]] | None = None,
    values: dict[int, dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """What the page and a member fragment need: ``errors`` and posted ``values`` by
    assignment id (0: the grant form), so each form shows its own."""
    identity = request.identity
    sites = _sites(request, context)
    grantable = roles.grantable_study_roles(identity, context.study)
    return {
        "members": members,
        "sites": sites,
        "site_codes": {site.id: site.code for site in sites},
        "grantable": grantable,
        "manageable": {
            a.id
            for member in members
            for a in member.assignments
            if roles.may_manage(identity, context.study, a)
        },
        "role_labels": ROLE_LABELS,
        "errors": errors or {},
        "values": values or {},
        "swap_member": False,
        "focus": None,
        **extra,
    }


@page_view(StudyResource, STUDY_PAGE, Permission.MANAGE_STUDY, name="members")
def study_members_page(context: StudyResource, request: Request) -> dict[str, Any]:
    return _study_data(request, context, roles.study_members(request.dbsession, context.study))


def _posted_choice(request: Request, context: StudyResource) -> roles.RoleChoice:
    return roles.read_choice(
        request.POST.get("role", ""),
        request.POST.get("scope", ""),
        request.POST.getall("site"),
        _sites(request, context),
    )


def _posted_values(request: Request) -> dict[str, Any]:
    return {
        "email": request.POST.get("email", "")[:MAX_EMAIL_LENGTH],
        "role": request.POST.get("role", ""),
        "scope": request.POST.get("scope", ""),
        "sites": set(request.POST.getall("site")),
    }


def _member_answer(
    request: Request,
    context: StudyResource,
    user_id: int,
    status: int = 200,
    *,
    errors: dict[int, dict[str, Any]] | None = None,
    values: dict[int, dict[str, Any]] | None = None,
    focus: str | None = None,
) -> Response:
    """One member re-rendered for htmx (or gone, if they hold no role any more), with the
    keyboard focus on ``focus`` (an element id); the page otherwise — with the errors, or after
    a 303 on success."""
    if not request.wants_fragment:
        if status == 200:
            return redirect(request, request.resource_url(context, "@@members"))
        members = roles.study_members(request.dbsession, context.study)
        return _render(
            request,
            STUDY_PAGE,
            _study_data(request, context, members, errors=errors, values=values),
            status,
        )
    members = roles.study_members(request.dbsession, context.study, [user_id])
    data = _study_data(request, context, members, errors=errors, values=values, focus=focus)
    return _render(request, STUDY_MEMBER, data, status)


def _assignment(request: Request, context: StudyResource) -> tuple[StudyRoleAssignment | None, int]:
    """The assignment a form names (None if it is not, or no longer, one of this study) and the
    member it belongs to (404 without one, or if it is someone else's)."""
    assignment = roles.load_assignment(
        request.dbsession, context.study, whole_number(request.POST.get("assignment"))
    )
    user_id = whole_number(request.POST.get("member"))
    if user_id is None:
        raise HTTPNotFound()
    if assignment is not None and assignment.user_id != user_id:
        raise HTTPNotFound()
    return assignment, user_id


def _stale(request: Request, context: StudyResource, user_id: int) -> Response:
    _flash(
        request,
        _(
            "Not saved: this person's roles were changed since the page was shown. Here is how "
            "they stand now."
        ),
    )
    return _member_answer(request, context, user_id, 409)


@view_config(
    context=StudyResource,
    name="grant-role",
    request_method="POST",
    permission=Permission.MANAGE_STUDY,
)
def grant_role(context: StudyResource, request: Request) -> Response:
    """A role for someone of the organisation, found by e-mail address."""
    values = _posted_values(request)
    user = roles.find_tenant_user(request.dbsession, context.tenant, request.POST.get("email", ""))
    try:
        choice = _posted_choice(request, context)
        if user is None:
            raise ValidationError(
                "email",
                _(
                    "Nobody in this organisation has this e-mail address. New people are "
                    "invited by an organisation administrator."
                ),
            )
        roles.grant_role(
            request.dbsession, request.identity, context.study, user, choice, request.actor
        )
    except ValidationError as error:
        return _grant_answer(request, context, None, {error.field: error.message}, values)
    _flash(request, _("The role was granted."))
    return _grant_answer(request, context, user, {}, {})


def _grant_answer(
    request: Request,
    context: StudyResource,
    user: User | None,
    errors: dict[str, Any],
    values: dict[str, Any],
) -> Response:
    """The grant form (reset, or with its errors), and the member it changed out of band."""
    status = 422 if errors else 200
    if not request.wants_fragment:
        if not errors:
            return redirect(request, request.resource_url(context, "@@members"))
        members = roles.study_members(request.dbsession, context.study)
        data = _study_data(request, context, members, errors={0: errors}, values={0: values})
        return _render(request, STUDY_PAGE, data, status)
    members = roles.study_members(request.dbsession, context.study, [user.id] if user else [])
    data = _study_data(request, context, members, errors={0: errors}, values={0: values})
    data["swap_member"] = bool(members)
    return _render(request, "accounts/study_grant.jinja2", data, status)


@view_config(
    context=StudyResource,
    name="change-role",
    request_method="POST",
    permission=Permission.MANAGE_STUDY,
)
def change_role(context: StudyResource, request: Request) -> Response:
    assignment, user_id = _assignment(request, context)
    key = whole_number(request.POST.get("assignment")) or 0
    try:
        choice = _posted_choice(request, context)
        changed = roles.change_role(
            request.dbsession,
            request.identity,
            context.study,
            assignment,
            request.POST.get("state", ""),
            choice,
            request.actor,
        )
    except roles.StaleAssignment:
        return _stale(request, context, user_id)
    except ValidationError as error:
        return _member_answer(
            request,
            context,
            user_id,
            422,
            errors={key: {error.field: error.message}},
            values={key: _posted_values(request)},
        )
    _flash(request, _("The role was changed.") if changed else _("Nothing changed."))
    return _member_answer(request, context, user_id, focus=f"a{key}-change")


@view_config(
    context=StudyResource,
    name="revoke-role",
    request_method="POST",
    permission=Permission.MANAGE_STUDY,
)
def revoke_role(context: StudyResource, request: Request) -> Response:
    assignment, user_id = _assignment(request, context)
    key = whole_number(request.POST.get("assignment")) or 0
    try:
        roles.revoke_role(
            request.dbsession,
            request.identity,
            context.study,
            assignment,
            request.POST.get("state", ""),
            request.actor,
        )
    except roles.StaleAssignment:
        return _stale(request, context, user_id)
    except ValidationError as error:
        return _member_answer(
            request, context, user_id, 422, errors={key: {error.field: error.message}}
        )
    _flash(request, _("The role was revoked."))
    return _member_answer(request, context, user_id, focus=f"member-{user_id}-name")


# --- tenant members -------------------------------------------------------------------------


def _tenant_data(
    request: Request,
    context: TenantResource,
    members: list[roles.Member],
    errors: dict[int, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    dbsession = request.dbsession
    return {
        "members": members,
        "studies": roles.tenant_studies(dbsession, context.tenant),
        "site_codes": roles.tenant_site_codes(dbsession, context.tenant),
        "role_labels": ROLE_LABELS,
        "errors": errors or {},
        **extra,
    }


@page_view(TenantResource, TENANT_PAGE, Permission.MANAGE_TENANT, name="members")
def tenant_members_page(context: TenantResource, request: Request) -> dict[str, Any]:
    return _tenant_data(request, context, roles.tenant_members(request.dbsession, context.tenant))


def _tenant_answer(
    request: Request, context: TenantResource, user_id: int, status: int, message: Any = None
) -> Response:
    errors = {user_id: message} if message is not None else {}
    if not request.wants_fragment:
        if status == 200:
            return redirect(request, request.resource_url(context, "@@members"))
        members = roles.tenant_members(request.dbsession, context.tenant)
        return _render(
            request, TENANT_PAGE, _tenant_data(request, context, members, errors), status
        )
    members = roles.tenant_members(request.dbsession, context.tenant, [user_id])
    data = _tenant_data(request, context, members, errors)
    return _render(request, TENANT_MEMBER, data, status)


def _tenant_member(request: Request, context: TenantResource) -> User:
    """The member named by the form: a user of this tenant, or 404."""
    user_id = whole_number(request.POST.get("member"))
    members = roles.tenant_members(request.dbsession, context.tenant, [user_id or 0])
    if not members:
        raise HTTPNotFound()
    return members[0].user


@view_config(
    context=TenantResource,
    name="grant-admin",
    request_method="POST",
    permission=Permission.MANAGE_TENANT,
)
def grant_admin(context: TenantResource, request: Request) -> Response:
    return _change_tenant_role(
        context,
        request,
        lambda user: roles.grant_tenant_admin(
            request.dbsession, context.tenant, user, request.actor
        ),
        _("The person is now an administrator of the organisation."),
    )


@view_config(
    context=TenantResource,
    name="revoke-admin",
    request_method="POST",
    permission=Permission.MANAGE_TENANT,
)
def revoke_admin(context: TenantResource, request: Request) -> Response:
    return _change_tenant_role(
        context,
        request,
        lambda user: roles.revoke_tenant_admin(
            request.dbsession, request.identity, context.tenant, user.id, request.actor
        ),
        _("The person is no longer an administrator of the organisation."),
        stale=_("This person is no longer an administrator of the organisation."),
    )


@view_config(
    context=TenantResource,
    name="grant-dpo",
    request_method="POST",
    permission=Permission.MANAGE_TENANT,
)
def grant_dpo(context: TenantResource, request: Request) -> Response:
    return _change_tenant_role(
        context,
        request,
        lambda user: roles.grant_tenant_admin(
            request.dbsession, context.tenant, user, request.actor, TenantRole.DPO
        ),
        _("The person is now the organisation's data protection officer."),
    )


@view_config(
    context=TenantResource,
    name="revoke-dpo",
    request_method="POST",
    permission=Permission.MANAGE_TENANT,
)
def revoke_dpo(context: TenantResource, request: Request) -> Response:
    return _change_tenant_role(
        context,
        request,
        lambda user: roles.revoke_dpo(request.dbsession, context.tenant, user.id, request.actor),
        _("The person is no longer a data protection officer of the organisation."),
        stale=_("This person is no longer a data protection officer of the organisation."),
    )


def _change_tenant_role(
    context: TenantResource,
    request: Request,
    change: Callable[[User], object],
    done: TranslationString,
    stale: TranslationString | None = None,
) -> Response:
    """One answer for every organisation role granted or taken back: the member's row redrawn,
    422 with the refusal, 409 when the role was already gone (``stale``)."""
    user = _tenant_member(request, context)
    try:
        change(user)
    except roles.StaleAssignment:
        if stale is None:
            raise
        _flash(request, stale)
        return _tenant_answer(request, context, user.id, 409)
    except ValidationError as error:
        return _tenant_answer(request, context, user.id, 422, error.message)
    _flash(request, done)
    return _tenant_answer(request, context, user.id, 200)
