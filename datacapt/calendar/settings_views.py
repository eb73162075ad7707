"""A site's rooms, opening hours and closures, kept by those who manage the study."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from babel.dates import get_day_names
from pyramid.request import Request
from pyramid.view import view_config

from datacapt.calendar import services, video
from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.permissions import Permission
from datacapt.resources import SiteResource
from datacapt.validation import ValidationError, errors_of

PAGE = "calendar/settings.jinja2"


def _page(
    context: SiteResource, request: Request, values: Mapping[str, str], errors: Mapping[str, Any]
) -> dict[str, Any]:
    names = get_day_names("wide", locale=request.locale_name)
    hours = services.hours_of(request.dbsession, context.site)
    shown = {
        f"hours_{day}_{end}": hours.get(str(day), ["", ""])[index]
        for day in range(1, 8)
        for index, end in enumerate(("opens", "closes"))
    }
    shown["video_link"] = video.template_of(request.dbsession, context.site.id) or ""
    return {
        "weekdays": [(day, names[day - 1]) for day in range(1, 8)],
        "rooms": services.rooms_of(request.dbsession, context.site),
        "closures": services.closures_from(request.dbsession, context.site, request.today),
        "values": {**shown, **values},
        "errors": errors,
    }


@page_view(SiteResource, PAGE, Permission.MANAGE_STUDY, name="calendar-settings")
def settings_page(context: SiteResource, request: Request) -> dict[str, Any]:
    return _page(context, request, {}, {})


@view_config(
    context=SiteResource,
    name="calendar-settings",
    request_method="POST",
    renderer=PAGE,
    permission=Permission.MANAGE_STUDY,
)
def save_settings(context: SiteResource, request: Request) -> Any:
    """``part``: ``room`` (add one), ``hours`` (replace them), ``closure`` (add one) or
    ``video`` (the provider's link template)."""
    posted = {key: value[:400] for key, value in request.POST.items() if key != "csrf_token"}
    dbsession, site, actor = request.dbsession, context.site, request.actor
    try:
        part = posted.get("part")
        if part == "room":
            services.add_room(
                dbsession, site, posted.get("room_code", ""), posted.get("room_name", ""), actor
            )
            message = _("The room was added.")
        elif part == "hours":
            services.set_hours(dbsession, site, services.parse_hours(posted), actor)
            message = _("The opening hours were saved.")
        elif part == "closure":
            services.add_closure(dbsession, site, *services.parse_closure(posted), actor)
            message = _("The closure was added.")
        elif part == "video":
            video.set_template(dbsession, site, posted.get("video_link", ""), actor)
            message = _("The video provider was saved.")
        else:
            raise ValidationError("part", _("Choose what to change."))
    except ValidationError as error:
        request.response.status_int = 422
        return _page(context, request, posted, errors_of(error))
    request.session.flash(request.localizer.translate(message))
    return redirect(request, request.resource_url(context, "@@calendar-settings"))
