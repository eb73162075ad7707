"""Staying signed in, and signing in again in place when a session has ended.

A page warns before the idle timeout and may renew the session (``keep-alive``). When a
request from a page meets an ended session, the page keeps that request, asks for the password
(and the code of an enrolled account) in a dialog served here, and sends the request again once
signed in. Signing in here is the ordinary sign-in: a new session (new token, new CSRF token),
the same throttling and failure counting. The answer names who signed in and the new CSRF
token, in an ``HX-Trigger`` event only the page's own scripts can read; the page replays its
request only when that is the user who made it.
"""

from __future__ import annotations

import json
from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from datacapt.htmx import page_view
from datacapt.i18n import _
from datacapt.models import User
from datacapt.permissions import Permission
from datacapt.resources import Root
from datacapt.security import SignedInUser
from datacapt.signin import flow as signin
from datacapt.signin import sessions, two_factor
from datacapt.signin.forms import CodeForm, LoginForm
from datacapt.signin.views import check_code, check_password, flash_recovery_codes_left

SIGN_IN_AGAIN = "accounts/_sign_in_again.jinja2"
#: The event the page's script listens for once the user is signed in again.
SIGNED_IN_EVENT = "datacapt:signed-in"
#: Where the pending sign-in returns to: nowhere, the page stays where it is.
IN_PLACE = "/"


@view_config(
    context=Root,
    name="keep-alive",
    request_method="POST",
    permission=Permission.SIGNED_IN,
)
def keep_alive(context: Root, request: Request) -> Response:
    """“Stay signed in”: the idle timeout starts again now."""
    sessions.touch(request)
    return Response(status=204)


def _signed_in(request: Request, user: User | SignedInUser) -> dict[str, Any]:
    """The answer once ``user`` holds a session: who they are and the session's CSRF token."""
    request.response.headers["HX-Trigger"] = json.dumps(
        {SIGNED_IN_EVENT: {"user": user.id, "csrfToken": request.session.get_csrf_token()}}
    )
    return {"step": "done"}


def _password_step(request: Request, form: LoginForm, alert: object = None) -> dict[str, Any]:
    form.password = ""
    return {"step": "password", "form": form, "alert": alert}


@page_view(Root, SIGN_IN_AGAIN, NO_PERMISSION_REQUIRED, name="sign-in-again")
def sign_in_again_page(context: Root, request: Request) -> dict[str, Any]:
    """The dialog's form; a user still signed in (say, busy in another tab) needs none."""
    if request.identity is not None:
        return _signed_in(request, request.identity.user)
    previous = sessions.previous_user(request)
    return _password_step(request, LoginForm(email=previous.email if previous else ""))


@view_config(
    context=Root,
    name="sign-in-again",
    request_method="POST",
    renderer=SIGN_IN_AGAIN,
    permission=NO_PERMISSION_REQUIRED,
)
def sign_in_again(context: Root, request: Request) -> dict[str, Any]:
    if request.POST.get("step") == "code":
        return _code_step(request)
    form = LoginForm.parse(request.POST)
    if form.errors:
        request.response.status_int = 422
        return _password_step(request, form)
    user, alert = check_password(request, form)
    if user is None:
        return _password_step(request, form, alert)
    if two_factor.is_enrolled(user):
        signin.begin(request, user, IN_PLACE, enrol=False)
        return {"step": "code", "form": CodeForm(), "alert": None}
    if signin.two_factor_required(request, user):
        # Setting up an authenticator takes a page of its own: the sign-in page leads there.
        return {"step": "enrol"}
    signin.complete(request, user, "password")
    return _signed_in(request, user)


def _code_step(request: Request) -> dict[str, Any]:
    pending = signin.pending(request, enrol=False)
    if pending is None:
        request.response.status_int = 422
        alert = _("Your sign-in took too long. Sign in again.")
        return _password_step(request, LoginForm(), alert)
    form = CodeForm.parse(request.POST)
    if form.errors:
        request.response.status_int = 422
        return {"step": "code", "form": form, "alert": None}
    method, alert = check_code(request, pending.user, form)
    if method is None:
        return {"step": "code", "form": form if alert is None else CodeForm(), "alert": alert}
    signin.complete(request, pending.user, f"password+{method}")
    if method == "recovery_code":
        flash_recovery_codes_left(request, pending.user)
    return _signed_in(request, pending.user)
