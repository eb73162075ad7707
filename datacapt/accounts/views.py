"""Sign-in, sign-out, language and preferences: the views on the root that any visitor meets."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from datacapt.accounts.forms import LoginForm, PreferencesForm
from datacapt.accounts.services import authenticate, check_throttle, record_attempt, set_preferences
from datacapt.config import get_app_settings
from datacapt.db import keep_writes
from datacapt.errors import safe_came_from
from datacapt.htmx import page_view, redirect
from datacapt.i18n import LANGUAGE_COOKIE, LANGUAGES, _, timezone_choices
from datacapt.permissions import Permission
from datacapt.resources import Root
from datacapt.validation import ValidationError

LOGIN = "accounts/login.jinja2"
PREFERENCES = "accounts/preferences.jinja2"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600


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
    ip = request.client_addr or "unknown"
    throttle = check_throttle(request.dbsession, request.registry, form.email, ip)
    if throttle.blocked:
        request.response.headers["Retry-After"] = str(throttle.wait_seconds)
        minutes = math.ceil(throttle.wait_seconds / 60)
        alert = request.localizer.pluralize(
            "Too many failed sign-in attempts. Wait ${minutes} minute, then try again.",
            "Too many failed sign-in attempts. Wait ${minutes} minutes, then try again.",
            minutes,
            domain="datacapt",
            mapping={"minutes": minutes},
        )
        return _login_failed(request, form, 429, alert)
    user = authenticate(request.dbsession, request.registry, form.email, form.password)
    record_attempt(request.dbsession, request.registry, form.email, ip, succeeded=user is not None)
    if user is None:
        keep_writes(request)  # the failure must count even though the answer is an error
        return _login_failed(request, form, 422, _("The e-mail address or password is incorrect."))
    user.last_login_at = datetime.now(UTC)
    remember(request, user.id)
    return redirect(request, request.application_url + form.came_from)


@page_view(Root, "accounts/logout.jinja2", NO_PERMISSION_REQUIRED, name="logout")
def logout_page(context: Root, request: Request) -> Any:
    if request.identity is None:
        return HTTPSeeOther(location=f"{request.application_url}/login")
    return {}


@view_config(context=Root, name="logout", request_method="POST", permission=NO_PERMISSION_REQUIRED)
def logout(context: Root, request: Request) -> Response:
    forget(request)
    request.session.flash(request.localizer.translate(_("You have signed out.")))
    return redirect(request, f"{request.application_url}/login")


@view_config(
    context=Root,
    name="language",
    request_method="POST",
    renderer="errors/422.jinja2",
    permission=NO_PERMISSION_REQUIRED,
)
def set_language(context: Root, request: Request) -> Any:
    language = request.POST.get("language", "")
    if language not in LANGUAGES:
        request.response.status_int = 422
        return {"message": _("Choose one of the offered languages.")}
    if request.identity is not None:
        request.identity.user.locale = language
    came_from = safe_came_from(request.POST.get("came_from"))
    response = redirect(request, request.application_url + came_from)
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=get_app_settings(request.registry).cookie_secure,
    )
    return response


def _preferences(request: Request, form: PreferencesForm) -> dict[str, Any]:
    return {
        "form": form,
        "languages": list(LANGUAGES.items()),
        "timezones": [(zone, zone) for zone in timezone_choices()],
    }


@page_view(Root, PREFERENCES, Permission.SIGNED_IN, name="preferences")
def preferences_page(context: Root, request: Request) -> dict[str, Any]:
    return _preferences(
        request, PreferencesForm(language=request.locale_name, timezone=request.timezone.key)
    )


@view_config(
    context=Root,
    name="preferences",
    request_method="POST",
    renderer=PREFERENCES,
    permission=Permission.SIGNED_IN,
)
def save_preferences(context: Root, request: Request) -> Any:
    form = PreferencesForm.parse(request.POST)
    try:
        set_preferences(request.identity.user, form.language, form.timezone)
    except ValidationError as error:
        form.errors[error.field] = error.message
        request.response.status_int = 422
        return _preferences(request, form)
    request.session.flash(request.localizer.translate(_("Your preferences were saved.")))
    return redirect(request, f"{request.application_url}/preferences")
