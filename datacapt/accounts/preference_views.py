"""A person's language and preferences: the language switch any visitor meets, and the
preferences page of a signed-in user."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from datacapt.accounts.preference_events import PreferencesShown
from datacapt.accounts.preference_form import PreferencesForm
from datacapt.accounts.services import set_preferences
from datacapt.config import get_app_settings
from datacapt.errors import safe_came_from
from datacapt.htmx import page_view, redirect
from datacapt.i18n import LANGUAGE_COOKIE, LANGUAGES, _, timezone_choices
from datacapt.permissions import Permission
from datacapt.reactions import reactions_of
from datacapt.resources import Root
from datacapt.validation import ValidationError

PREFERENCES = "accounts/preferences.jinja2"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600


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
        request.identity.account(request.dbsession).locale = language
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
    """The page's values, with the sections other capabilities add (:class:`PreferencesShown`)."""
    shown = PreferencesShown(request.dbsession, request.actor, request=request)
    reactions_of(request.registry).publish(shown)
    return {
        "form": form,
        "languages": list(LANGUAGES.items()),
        "timezones": [(zone, zone) for zone in timezone_choices()],
        "sections": shown.sections,
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
        set_preferences(request.identity.account(request.dbsession), form.language, form.timezone)
    except ValidationError as error:
        form.errors[error.field] = error.message
        request.response.status_int = 422
        return _preferences(request, form)
    request.session.flash(request.localizer.translate(_("Your preferences were saved.")))
    return redirect(request, f"{request.application_url}/preferences")
