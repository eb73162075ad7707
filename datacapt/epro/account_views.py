"""Subject accounts: setting a password (and an authenticator) after entering by a link, and
signing in with them at ``/p/login``."""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup
from pyramid.httpexceptions import HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from datacapt.db import keep_writes
from datacapt.epro import accounts
from datacapt.htmx import READ, redirect
from datacapt.i18n import _
from datacapt.permissions import Permission
from datacapt.resources.subject_area import SUBJECT_HOME_NAME, SubjectArea, SubjectHome
from datacapt.security import end_subject_session, open_subject_session
from datacapt.validation import ValidationError

LOGIN = "epro/login.jinja2"
ACCOUNT = "epro/account.jinja2"


def _address(request: Request) -> str:
    return request.client_address or "unknown"


def _login_page(
    request: Request, context: SubjectArea, status: int = 200, alert: object = None
) -> Response:
    data = {
        "action": request.resource_path(context, "@@login"),
        "alert": alert,
        "login": request.POST.get("login", "")[:40] if request.method == "POST" else "",
    }
    response = render_to_response(LOGIN, data, request=request)
    response.status_int = status
    return response


@view_config(
    context=SubjectArea, name="login", request_method=READ, permission=NO_PERMISSION_REQUIRED
)
def login_page(context: SubjectArea, request: Request) -> Response:
    return _login_page(request, context)


@view_config(
    context=SubjectArea, name="login", request_method="POST", permission=NO_PERMISSION_REQUIRED
)
def login(context: SubjectArea, request: Request) -> Response:
    """A subject's sign-in: login, password and (if they set one up) their authenticator's
    code. One answer for whatever is wrong; throttled like the staff's, in its own bucket."""
    result = accounts.sign_in(
        request.dbsession,
        request.registry,
        request.POST.get("login", ""),
        request.POST.get("password", ""),
        request.POST.get("code", ""),
        _address(request),
        request.actor,
    )
    if result.throttle.blocked:
        keep_writes(request)
        minutes = math.ceil(result.throttle.wait_seconds / 60)
        response = _login_page(
            request,
            context,
            429,
            _(
                "Too many failed attempts. Wait ${minutes} minutes, then try again.",
                mapping={"minutes": minutes},
            ),
        )
        response.headers["Retry-After"] = str(result.throttle.wait_seconds)
        return response
    account = result.account
    if account is None:
        keep_writes(request)
        return _login_page(
            request, context, 422, _("The login, password or code is not right. Try again.")
        )
    request.session.invalidate()
    response = redirect(request, request.resource_url(context, SUBJECT_HOME_NAME, ""))
    open_subject_session(
        request,
        response,
        tenant_id=account.tenant_id,
        study_id=account.study_id,
        subject_id=account.subject_id,
        link_id=None,
        method="account",
    )
    return response


def _account_page(
    request: Request, context: SubjectHome, status: int = 200, **extra: Any
) -> Response:
    account = accounts.account_of(request.dbsession, context.subject)
    secret = accounts.pending_secret(request.registry, account) if account else None
    data = {
        "account": account,
        "authenticator": accounts.has_authenticator(account),
        "secret": secret,
        # segno draws the SVG from the URI alone: paths and numbers, no text of anyone's.
        "qr": Markup(accounts.qr_code_svg(secret, account.login)) if secret and account else None,  # noqa: S704
        "manual_key": accounts.manual_key(secret) if secret else None,
        "login": None,
        "errors": {},
        **extra,
    }
    response = render_to_response(ACCOUNT, data, request=request)
    response.status_int = status
    return response


@view_config(
    context=SubjectHome, name="account", request_method=READ, permission=Permission.RESPOND
)
def account_page(context: SubjectHome, request: Request) -> Response:
    if not accounts.allowed(context.study):
        raise HTTPNotFound()
    return _account_page(request, context)


@view_config(
    context=SubjectHome, name="account", request_method="POST", permission=Permission.RESPOND
)
def account(context: SubjectHome, request: Request) -> Response:
    """``action``: ``create`` (a password, the login shown once), ``authenticator`` (a new
    secret to scan) or ``confirm`` (its first code)."""
    if not accounts.allowed(context.study):
        raise HTTPNotFound()
    action = request.POST.get("action", "")
    found = accounts.account_of(request.dbsession, context.subject)
    try:
        if action == "create":
            login = accounts.create_account(
                request.dbsession,
                request.registry,
                context.study,
                context.subject,
                request.POST.get("password", ""),
                request.POST.get("confirmation", ""),
                request.actor,
            )
            return _account_page(request, context, 200, login=login)
        if found is None:
            raise HTTPNotFound()
        if action == "authenticator":
            accounts.start_authenticator(request.registry, found)
            return redirect(request, request.resource_url(context, "@@account"))
        if action == "confirm":
            accounts.confirm_authenticator(
                request.dbsession,
                request.registry,
                context.subject,
                found,
                request.POST.get("code", ""),
                request.actor,
            )
            request.session.flash(request.localizer.translate(_("Your authenticator is set up.")))
            return redirect(request, request.resource_url(context, "@@account"))
    except ValidationError as error:
        return _account_page(request, context, 422, errors={error.field: error.message})
    raise HTTPNotFound()


@view_config(
    context=SubjectHome, name="sign-out", request_method="POST", permission=Permission.RESPOND
)
def sign_out(context: SubjectHome, request: Request) -> Response:
    """End the subject's session now (a shared phone): answers are saved already."""
    response = redirect(request, request.resource_url(context.__parent__, "@@login"))
    end_subject_session(request, response, request.identity.session_id)
    request.session.invalidate()
    return response
