"""Two-factor pages: setting up an authenticator (from one's account, or during a sign-in that a
tenant's policy stops until it is done), recovery codes, turning it off.

Each page posts back to itself with a ``step``; a wrong code re-renders the same step with a
422 and the message next to the field.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from datacapt.accounts.events import record_account_event
from datacapt.accounts.passwords import MAX_PASSWORD_LENGTH, verify_password
from datacapt.db import keep_writes
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.models import User
from datacapt.permissions import Permission
from datacapt.resources import Root
from datacapt.signin import flow as signin
from datacapt.signin import two_factor
from datacapt.signin.forms import MAX_CODE_LENGTH, CodeForm
from datacapt.validation import ValidationError

TWO_FACTOR = "accounts/two_factor.jinja2"
ENROL = "accounts/enrol.jinja2"
RECOVERY_CODES = "accounts/recovery_codes.jinja2"


def _enrolment(request: Request, user: User, secret: str, post_url: str, **extra: Any) -> dict:
    uri = two_factor.provisioning_uri(secret, user.email)
    return {
        "post_url": post_url,
        "introduction": False,
        # segno draws the SVG from the URI alone: paths and numbers, no text of anyone's.
        "qr_svg": Markup(two_factor.qr_code_svg(uri)),  # noqa: S704
        "manual_key": two_factor.manual_key(secret),
        "form": extra.pop("form", CodeForm()),
        **extra,
    }


def _confirm(request: Request, user: User, post_url: str) -> dict[str, Any] | list[str]:
    """Confirm the pending enrolment with the posted code: the recovery codes, or the enrolment
    page again with the error (422)."""
    form = CodeForm.parse(request.POST)
    if not form.errors:
        try:
            codes = two_factor.confirm_enrolment(
                request.dbsession, request.registry, user, form.code
            )
        except ValidationError as error:
            form.errors[error.field] = error.message
        else:
            record_account_event(request, user, "user.two_factor_enrolled")
            return codes
    secret = two_factor.pending_secret(request.dbsession, request.registry, user)
    if secret is None:
        raise HTTPBadRequest()
    request.response.status_int = 422
    request.override_renderer = ENROL
    return _enrolment(request, user, secret, post_url, form=form)


def _step(request: Request, allowed: tuple[str, ...]) -> str:
    step = request.POST.get("step", "")
    if step not in allowed:
        raise HTTPBadRequest()
    return step


# --- from one's account ---------------------------------------------------------------------


def _status(request: Request, **extra: Any) -> dict[str, Any]:
    user = request.identity.user
    return {
        "enrolled": two_factor.is_enrolled(user),
        "enabled_at": user.two_factor_enabled_at,
        "remaining": two_factor.remaining_recovery_codes(request.dbsession, user),
        "required": signin.two_factor_required(request, user),
        "code_form": extra.pop("code_form", CodeForm()),
        "off_errors": extra.pop("off_errors", {}),
        **extra,
    }


@page_view(Root, TWO_FACTOR, Permission.SIGNED_IN, name="two-factor")
def two_factor_page(context: Root, request: Request) -> dict[str, Any]:
    return _status(request)


@view_config(
    context=Root,
    name="two-factor",
    request_method="POST",
    renderer=TWO_FACTOR,
    permission=Permission.SIGNED_IN,
)
def two_factor_action(context: Root, request: Request) -> Any:
    user = request.identity.account(request.dbsession)
    post_url = f"{request.application_url}/two-factor"
    step = _step(request, ("start", "confirm", "recovery-codes", "turn-off"))
    if step == "start":
        try:
            secret = two_factor.start_enrolment(request.dbsession, request.registry, user)
        except ValidationError:
            return redirect(request, post_url)
        request.override_renderer = ENROL
        return _enrolment(request, user, secret, post_url)
    if step == "confirm":
        result = _confirm(request, user, post_url)
        if isinstance(result, dict):
            return result
        request.override_renderer = RECOVERY_CODES
        return {"codes": result, "continue_url": post_url}
    if step == "recovery-codes":
        return _new_recovery_codes(request, user, post_url)
    return _turn_off(request, user, post_url)


def _new_recovery_codes(request: Request, user: User, post_url: str) -> Any:
    form = CodeForm.parse(request.POST)
    if not form.errors and not two_factor.verify_code(
        request.dbsession, request.registry, user, form.code
    ):
        form.errors["code"] = _("This code is not valid, or it was used already.")
    if form.errors:
        request.response.status_int = 422
        return _status(request, code_form=form)
    codes = two_factor.regenerate_recovery_codes(request.dbsession, request.registry, user)
    record_account_event(request, user, "user.recovery_codes_replaced")
    request.override_renderer = RECOVERY_CODES
    return {"codes": codes, "continue_url": post_url}


def _turn_off(request: Request, user: User, post_url: str) -> Any:
    if signin.two_factor_required(request, user):
        request.response.status_int = 422
        return _status(request, off_errors={"off-code": _("Your organisation requires it.")})
    password = request.POST.get("password", "")[: MAX_PASSWORD_LENGTH + 1]
    code = request.POST.get("off-code", "")[: MAX_CODE_LENGTH + 1]
    errors = {}
    if not verify_password(request.registry, user.password_hash, password):
        errors["password"] = _("The password is incorrect.")
    elif not two_factor.verify_code(request.dbsession, request.registry, user, code):
        errors["off-code"] = _("This code is not valid, or it was used already.")
    if errors:
        record_account_event(request, user, "user.two_factor_change_refused")
        keep_writes(request)
        request.response.status_int = 422
        return _status(request, off_errors=errors)
    two_factor.disable(request.dbsession, user)
    record_account_event(request, user, "user.two_factor_disabled")
    request.session.flash(
        request.localizer.translate(_("Two-factor authentication is turned off."))
    )
    return redirect(request, post_url)


# --- during a sign-in the tenant's policy holds up ------------------------------------------


@page_view(Root, ENROL, NO_PERMISSION_REQUIRED, name="login-enrol")
def login_enrol_page(context: Root, request: Request) -> Any:
    pending = signin.pending(request, enrol=True)
    if pending is None:
        return HTTPSeeOther(location=f"{request.application_url}/login")
    return {"post_url": f"{request.application_url}/login-enrol", "introduction": True}


@view_config(
    context=Root,
    name="login-enrol",
    request_method="POST",
    renderer=ENROL,
    permission=NO_PERMISSION_REQUIRED,
)
def login_enrol(context: Root, request: Request) -> Any:
    pending = signin.pending(request, enrol=True)
    if pending is None:
        return redirect(request, f"{request.application_url}/login")
    user, post_url = pending.user, f"{request.application_url}/login-enrol"
    if _step(request, ("start", "confirm")) == "start":
        try:
            secret = two_factor.start_enrolment(request.dbsession, request.registry, user)
        except ValidationError:  # set up meanwhile, in another tab: sign in with a code
            return redirect(request, f"{request.application_url}/login")
        return _enrolment(request, user, secret, post_url)
    result = _confirm(request, user, post_url)
    if isinstance(result, dict):
        return result
    signin.complete(request, user, "password+totp")
    request.override_renderer = RECOVERY_CODES
    return {"codes": result, "continue_url": request.application_url + pending.came_from}
