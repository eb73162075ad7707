"""Sign-in (password, then the second factor when the account has one) and sign-out: the views
on the root that any visitor meets."""

from __future__ import annotations

import math
from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED, forget
from pyramid.view import view_config

from datacapt.accounts.events import record_account_event
from datacapt.accounts.services import (
    Throttle,
    account_key,
    authenticate,
    check_throttle,
    find_user,
    record_attempt,
)
from datacapt.config import get_app_settings
from datacapt.db import keep_writes
from datacapt.errors import safe_came_from
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.models import User
from datacapt.resources import Root
from datacapt.signin import flow as signin
from datacapt.signin import two_factor
from datacapt.signin.forms import CodeForm, LoginForm

LOGIN = "accounts/login.jinja2"
LOGIN_CODE = "accounts/login_code.jinja2"


def _login_failed(request: Request, form: LoginForm, status: int, alert: object) -> dict[str, Any]:
    request.response.status_int = status
    form.password = ""
    return {"form": form, "alert": alert}


@page_view(Root, LOGIN, NO_PERMISSION_REQUIRED, name="login")
def login_page(context: Root, request: Request) -> Any:
    came_from = safe_came_from(request.GET.get("came_from"))
    if request.identity is not None:
        return HTTPSeeOther(location=request.application_url + came_from)
    return {"form": LoginForm(came_from=came_from), "alert": None}


def _throttled(request: Request, email: str) -> object | None:
    """The message to show when this account or address must wait (429 set), else None."""
    throttle = check_throttle(request.dbsession, request.registry, email, _ip(request))
    if not throttle.blocked:
        return None
    user = find_user(request.dbsession, email)
    record_account_event(
        request, user, "user.sign_in_throttled", by_user=False, entity_id=_pseudonym(request, email)
    )
    keep_writes(request)
    return wait_message(request, throttle)


def wait_message(request: Request, throttle: Throttle) -> str:
    """Answer 429 with Retry-After: how long to wait before trying a password again."""
    request.response.status_int = 429
    request.response.headers["Retry-After"] = str(throttle.wait_seconds)
    minutes = math.ceil(throttle.wait_seconds / 60)
    return request.localizer.pluralize(
        "Too many failed sign-in attempts. Wait ${minutes} minute, then try again.",
        "Too many failed sign-in attempts. Wait ${minutes} minutes, then try again.",
        minutes,
        domain="datacapt",
        mapping={"minutes": minutes},
    )


def _ip(request: Request) -> str:
    return request.client_address or "unknown"


def _pseudonym(request: Request, email: str) -> str:
    """How the trail names an address that matches no account: never the address itself."""
    return "unknown:" + account_key(get_app_settings(request.registry), email)[:16]


def check_password(request: Request, form: LoginForm) -> tuple[User | None, object | None]:
    """The account the e-mail address and password open, or None and the message to show
    (the status set to 429 or 422, the failure counted and kept although the answer is an
    error)."""
    alert = _throttled(request, form.email)
    if alert is not None:
        return None, alert
    user = authenticate(request.dbsession, request.registry, form.email, form.password)
    if user is None:
        record_attempt(
            request.dbsession, request.registry, form.email, _ip(request), succeeded=False
        )
        record_account_event(
            request,
            find_user(request.dbsession, form.email),
            "user.sign_in_failed",
            by_user=False,
            entity_id=_pseudonym(request, form.email),
            new={"step": "password"},
        )
        keep_writes(request)
        request.response.status_int = 422
        return None, _("The e-mail address or password is incorrect.")
    return user, None


def check_code(request: Request, user: User, form: CodeForm) -> tuple[str | None, object | None]:
    """The method that accepted the second factor ("totp" or "recovery_code"), or None and
    either the message to show (throttled: 429) or a wrong code put on ``form`` (422, the
    failure counted)."""
    alert = _throttled(request, user.email)
    if alert is not None:
        return None, alert
    method = signin.check_second_factor(request, user, form.code)
    if method is None:
        record_attempt(
            request.dbsession, request.registry, user.email, _ip(request), succeeded=False
        )
        record_account_event(
            request, user, "user.sign_in_failed", by_user=False, new={"step": "code"}
        )
        keep_writes(request)
        request.response.status_int = 422
        form.errors["code"] = _("This code is not valid, or it was used already.")
    return method, None


def flash_recovery_codes_left(request: Request, user: User) -> None:
    """After a sign-in with a recovery code: how many are left, and where to make new ones."""
    remaining = two_factor.remaining_recovery_codes(request.dbsession, user)
    request.session.flash(
        request.localizer.pluralize(
            "You signed in with a recovery code: ${count} code is left. "
            "Create new ones on the two-factor page.",
            "You signed in with a recovery code: ${count} codes are left. "
            "Create new ones on the two-factor page.",
            remaining,
            domain="datacapt",
            mapping={"count": remaining},
        )
    )


@view_config(
    context=Root,
    name="login",
    request_method="POST",
    renderer=LOGIN,
    permission=NO_PERMISSION_REQUIRED,
)
def login(context: Root, request: Request) -> Any:
    form = LoginForm.parse(request.POST)
    if form.errors:
        return _login_failed(request, form, 422, None)
    user, alert = check_password(request, form)
    if user is None:
        return _login_failed(request, form, request.response.status_int, alert)
    # A correct password alone records no success: the failure count of the account must keep
    # counting wrong codes until every factor has been given.
    if two_factor.is_enrolled(user):
        signin.begin(request, user, form.came_from, enrol=False)
        return redirect(request, f"{request.application_url}/login-code")
    if signin.two_factor_required(request, user):
        signin.begin(request, user, form.came_from, enrol=True)
        return redirect(request, f"{request.application_url}/login-enrol")
    signin.complete(request, user, "password")
    return redirect(request, request.application_url + form.came_from)


def _restart_sign_in(request: Request) -> Response:
    request.session.flash(
        request.localizer.translate(_("Your sign-in took too long. Sign in again."))
    )
    return HTTPSeeOther(location=f"{request.application_url}/login")


@page_view(Root, LOGIN_CODE, NO_PERMISSION_REQUIRED, name="login-code")
def login_code_page(context: Root, request: Request) -> Any:
    if signin.pending(request, enrol=False) is None:
        return _restart_sign_in(request)
    return {"form": CodeForm(), "alert": None}


@view_config(
    context=Root,
    name="login-code",
    request_method="POST",
    renderer=LOGIN_CODE,
    permission=NO_PERMISSION_REQUIRED,
)
def login_code(context: Root, request: Request) -> Any:
    pending = signin.pending(request, enrol=False)
    if pending is None:
        return redirect(request, f"{request.application_url}/login")
    form = CodeForm.parse(request.POST)
    if form.errors:
        request.response.status_int = 422
        return {"form": form, "alert": None}
    user = pending.user
    method, alert = check_code(request, user, form)
    if method is None:
        return {"form": form if alert is None else CodeForm(), "alert": alert}
    signin.complete(request, user, f"password+{method}")
    if method == "recovery_code":
        flash_recovery_codes_left(request, user)
    return redirect(request, request.application_url + pending.came_from)


@page_view(Root, "accounts/logout.jinja2", NO_PERMISSION_REQUIRED, name="logout")
def logout_page(context: Root, request: Request) -> Any:
    if request.identity is None:
        return HTTPSeeOther(location=f"{request.application_url}/login")
    return {}


@view_config(context=Root, name="logout", request_method="POST", permission=NO_PERMISSION_REQUIRED)
def logout(context: Root, request: Request) -> Response:
    if request.identity is not None:
        record_account_event(request, request.identity.user, "user.signed_out")
    forget(request)
    request.session.flash(request.localizer.translate(_("You have signed out.")))
    return redirect(request, f"{request.application_url}/login")
