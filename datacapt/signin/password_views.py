"""Passwords: change one's own, see a new one's strength while typing, reset by e-mail link."""

from __future__ import annotations

import math
from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED, forget
from pyramid.view import view_config

from datacapt.accounts.events import record_account_event
from datacapt.accounts.passwords import estimate_strength, verify_password
from datacapt.accounts.services import (
    Throttle,
    check_throttle,
    find_user,
    record_attempt,
    set_password,
)
from datacapt.db import keep_writes
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.jobs import enqueue_after_commit
from datacapt.models import User
from datacapt.permissions import Permission
from datacapt.resources import Root
from datacapt.signin import sessions
from datacapt.signin.forms import ChangePasswordForm, ForgotPasswordForm, ResetPasswordForm
from datacapt.signin.jobs import MAIL_RESET_LINK
from datacapt.signin.mails import send_password_changed
from datacapt.signin.reset import (
    TokenCheck,
    TokenState,
    check_request_throttle,
    check_token,
    consume_token,
    record_request,
)
from datacapt.signin.views import wait_message
from datacapt.validation import ValidationError

CHANGE = "accounts/password.jinja2"
FORGOT = "accounts/forgot_password.jinja2"
RESET = "accounts/reset_password.jinja2"
STRENGTH = "accounts/_password_strength.jinja2"
#: The reset token, once its link was opened: the form's page then has no token in its URL.
LINK_SESSION_KEY = "accounts.reset_link"
LINK_REFUSALS = {
    TokenState.UNKNOWN: (404, _("This link is not valid. Copy the whole link from the mail.")),
    TokenState.EXPIRED: (410, _("This link has expired. Ask for a new one.")),
    TokenState.USED: (410, _("This link was already used. Ask for a new one if you need to.")),
}


def end_sessions(request: Request, user: User, *, keep_current: bool) -> None:
    """End the user's sessions after a new password: the other ones, or all of them."""
    if keep_current:
        sessions.keep_after_password_change(request)
    else:
        sessions.end_all(request.dbsession, user, sessions.EndReason.CREDENTIALS_CHANGED)
        forget(request)


def _wait_minutes(request: Request, throttle: Throttle) -> int:
    """Answer 429 with Retry-After; the minutes to wait, for the message."""
    request.response.status_int = 429
    request.response.headers["Retry-After"] = str(throttle.wait_seconds)
    return math.ceil(throttle.wait_seconds / 60)


def _refused(request: Request, form: Any, status: int = 422, alert: Any = None) -> dict[str, Any]:
    request.response.status_int = status
    for name in ("current_password", "new_password", "confirm_password"):
        if hasattr(form, name):
            setattr(form, name, "")  # a password is never sent back to the browser
    return {"form": form, "alert": alert}


# --- change -----------------------------------------------------------------------------------


@page_view(Root, CHANGE, Permission.SIGNED_IN, name="password")
def change_password_page(context: Root, request: Request) -> dict[str, Any]:
    return {"form": ChangePasswordForm(), "alert": None}


@view_config(
    context=Root,
    name="password",
    request_method="POST",
    renderer=CHANGE,
    permission=Permission.SIGNED_IN,
)
def change_password(context: Root, request: Request) -> Any:
    form = ChangePasswordForm.parse(request.POST)
    if form.errors:
        return _refused(request, form)
    user = request.identity.account(request.dbsession)
    ip = request.client_address or "unknown"
    # Guessing the current password from a borrowed session counts as failed sign-ins.
    throttle = check_throttle(request.dbsession, request.registry, user.email, ip)
    if throttle.blocked:
        return _refused(request, form, 429, wait_message(request, throttle))
    correct = verify_password(request.registry, user.password_hash, form.current_password)
    record_attempt(request.dbsession, request.registry, user.email, ip, succeeded=correct)
    if not correct:
        keep_writes(request)  # the failure counts, though the answer is an error
        form.errors["current_password"] = _("Your current password is incorrect.")
        return _refused(request, form)
    try:
        set_password(request.registry, user, form.new_password, "new_password")
    except ValidationError as error:
        form.errors[error.field] = error.message
        return _refused(request, form)
    record_account_event(request, user, "user.password_changed")
    end_sessions(request, user, keep_current=True)
    send_password_changed(request, user)
    request.session.flash(
        request.localizer.translate(_("Your password was changed. Your other sessions have ended."))
    )
    return redirect(request, f"{request.application_url}/password")


# --- strength ---------------------------------------------------------------------------------


def _personal_data(request: Request) -> tuple[str, ...]:
    """What the password must not be: the signed-in user's, or the reset link's user's."""
    user = request.identity.user if request.identity is not None else None
    if user is None:
        check = check_token(request.dbsession, request.session.get(LINK_SESSION_KEY))
        if check.state is TokenState.VALID:
            user = request.dbsession.get(User, check.token.user_id)
    return (user.email, user.name) if user is not None else ()


@view_config(
    context=Root,
    name="password-strength",
    request_method="POST",
    renderer=STRENGTH,
    permission=NO_PERMISSION_REQUIRED,
)
def password_strength(context: Root, request: Request) -> dict[str, Any]:
    """The meter under a new password, asked for while typing (a POST: no password in a URL)."""
    password = request.POST.get("new_password", "")
    return {"strength": estimate_strength(password, _personal_data(request)) if password else None}


# --- forgotten password -----------------------------------------------------------------------


@page_view(Root, FORGOT, NO_PERMISSION_REQUIRED, name="forgot-password")
def forgot_password_page(context: Root, request: Request) -> dict[str, Any]:
    return {"form": ForgotPasswordForm(), "alert": None}


@view_config(
    context=Root,
    name="forgot-password",
    request_method="POST",
    renderer=FORGOT,
    permission=NO_PERMISSION_REQUIRED,
)
def forgot_password(context: Root, request: Request) -> Any:
    """The same answer, and the same work, whether an account uses the address or not."""
    form = ForgotPasswordForm.parse(request.POST)
    if form.errors:
        return _refused(request, form)
    ip = request.client_address or "unknown"
    throttle = check_request_throttle(request.dbsession, request.registry, form.email, ip)
    if throttle.blocked:
        minutes = _wait_minutes(request, throttle)
        alert = request.localizer.pluralize(
            "Too many reset links were asked for. Wait ${minutes} minute, then try again.",
            "Too many reset links were asked for. Wait ${minutes} minutes, then try again.",
            minutes,
            domain="datacapt",
            mapping={"minutes": minutes},
        )
        return _refused(request, form, 429, alert)
    record_request(request.dbsession, request.registry, form.email, ip)
    user = find_user(request.dbsession, form.email)
    enqueue_after_commit(
        request.dbsession,
        MAIL_RESET_LINK,
        user_id=user.id if user is not None and user.is_active else None,
        locale=request.locale_name,
        application_url=request.application_url,
    )
    request.session.flash(
        request.localizer.translate(
            _(
                "If an account uses this address, we have sent it a link to choose a new "
                "password. Check your mailbox; the link works for one hour."
            )
        )
    )
    return redirect(request, f"{request.application_url}/forgot-password")


# --- reset by link ----------------------------------------------------------------------------


def _no_referrer(request: Request) -> None:
    """The link's token must not travel to another page in a Referer header."""
    request.response.headers["Referrer-Policy"] = "no-referrer"


def _link_refused(request: Request, check: TokenCheck) -> dict[str, Any]:
    """A 4xx page saying what is wrong with the link; an expired or reused one is audited
    (someone may be replaying a mail they should not have)."""
    status, message = LINK_REFUSALS[check.state]
    request.session.pop(LINK_SESSION_KEY, None)
    if check.token is not None:
        record_account_event(
            request,
            request.dbsession.get(User, check.token.user_id),
            "user.password_reset_refused",
            by_user=False,
            new=check.state.value,
        )
        keep_writes(request)
    request.response.status_int = status
    return {"form": None, "problem": message}


def _valid_link(request: Request) -> tuple[TokenCheck, User | None]:
    check = check_token(request.dbsession, request.session.get(LINK_SESSION_KEY))
    if check.state is not TokenState.VALID:
        return check, None
    user = request.dbsession.get(User, check.token.user_id)
    if user is None or not user.is_active:
        return TokenCheck(TokenState.UNKNOWN), None
    return check, user


@page_view(Root, RESET, NO_PERMISSION_REQUIRED, name="reset-password")
def reset_password_page(context: Root, request: Request) -> Any:
    """The mail's link lands here with ``?token=``: it is kept in the session and the browser
    is sent on to the same page without it (out of the history, the logs and any Referer)."""
    _no_referrer(request)
    token = request.GET.get("token")
    if token is not None:
        check = check_token(request.dbsession, token)
        if check.state is not TokenState.VALID:
            return _link_refused(request, check)
        request.session[LINK_SESSION_KEY] = token
        response = HTTPSeeOther(location=f"{request.application_url}/reset-password")
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
    check, user = _valid_link(request)
    if user is None:
        return _link_refused(request, check)
    return {"form": ResetPasswordForm(), "problem": None}


@view_config(
    context=Root,
    name="reset-password",
    request_method="POST",
    renderer=RESET,
    permission=NO_PERMISSION_REQUIRED,
)
def reset_password(context: Root, request: Request) -> Response | dict[str, Any]:
    _no_referrer(request)
    check, user = _valid_link(request)
    if user is None:
        return _link_refused(request, check)
    form = ResetPasswordForm.parse(request.POST)
    if form.errors:
        return {**_refused(request, form), "problem": None}
    if not consume_token(request.dbsession, check.token):  # used meanwhile by another request
        return _link_refused(request, TokenCheck(TokenState.USED, check.token))
    try:
        set_password(request.registry, user, form.new_password, "new_password")
    except ValidationError as error:  # the 422 rolls the token's use back: the link still works
        form.errors[error.field] = error.message
        return {**_refused(request, form), "problem": None}
    record_account_event(request, user, "user.password_reset")
    end_sessions(request, user, keep_current=False)
    send_password_changed(request, user)
    request.session.flash(
        request.localizer.translate(_("Your password was changed. Sign in with your new password."))
    )
    return redirect(request, f"{request.application_url}/login")
