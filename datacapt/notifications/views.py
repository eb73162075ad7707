"""The bell, the notifications page, marking read, opening one, and the choices on the
preferences page.

The bell is loaded by htmx once the page is there (``hx-trigger="load"``), not by the page: the
pages staff use all day (forms, dashboard, worklists) keep their statements, and the bell costs
one small request of its own (the session with its identity, and one indexed count).
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from datacapt.htmx import page_view, redirect
from datacapt.i18n import _
from datacapt.models import NotificationKind
from datacapt.notifications import services
from datacapt.notifications.kinds import sentence
from datacapt.pagination import page_number
from datacapt.permissions import Permission
from datacapt.resources import NotificationResource, Root

PAGE = "notifications/page.jinja2"
BELL = "notifications/_bell.jinja2"
ITEM = "notifications/_item.jinja2"


def shown(notification: Any, slug: str) -> dict[str, Any]:
    """A notification as the page lists it: its sentence (worded when rendered), its link, and
    the addresses of its actions."""
    base = f"/{slug}/notifications/{notification.id}/"
    return {
        "id": notification.id,
        "sentence": sentence(notification.kind, notification.parameters),
        "study": notification.parameters.get("study", ""),
        "created_at": notification.created_at,
        "unread": notification.read_at is None,
        "path": notification.path,
        "open": base + "@@open",
        "read": base + "@@read",
    }


@page_view(Root, PAGE, Permission.SIGNED_IN, name="notifications")
def notifications_page(context: Root, request: Request) -> dict[str, Any]:
    page = services.page_of(
        request.dbsession, request.identity, page_number(request.GET.get("page"))
    )
    return {
        "page": page,
        "items": [shown(notification, slug) for notification, slug in page.items],
        "unread": services.unread_count(request.dbsession, request.identity),
    }


@page_view(Root, BELL, Permission.SIGNED_IN, name="notification-bell")
def bell(context: Root, request: Request) -> dict[str, Any]:
    return {"unread": services.unread_count(request.dbsession, request.identity)}


@view_config(
    context=Root, name="notifications-read", request_method="POST", permission=Permission.SIGNED_IN
)
def mark_all_read(context: Root, request: Request) -> Response:
    services.mark_all_read(request.dbsession, request.identity)
    request.session.flash(request.localizer.translate(_("Every notification is marked read.")))
    return redirect(request, f"{request.application_url}/notifications")


@view_config(
    context=NotificationResource,
    name="read",
    request_method="POST",
    permission=Permission.VIEW_TENANT,
    renderer=ITEM,
)
def mark_read(context: NotificationResource, request: Request) -> Any:
    """One notification read: its row again, and the bell's count out of band, for htmx."""
    services.mark_read(context.notification)
    if not request.is_htmx:
        return redirect(request, f"{request.application_url}/notifications")
    return {
        "item": shown(context.notification, context.__parent__.tenant.slug),
        "unread": services.unread_count(request.dbsession, request.identity),
        "oob": True,
    }


@view_config(
    context=NotificationResource,
    name="open",
    request_method="POST",
    permission=Permission.VIEW_TENANT,
)
def open_notification(context: NotificationResource, request: Request) -> Response:
    """Read, and gone to what it is about (where the page there decides what its reader sees)."""
    services.mark_read(context.notification)
    return redirect(request, request.application_url + context.notification.path)


@view_config(
    context=Root,
    name="notification-preferences",
    request_method="POST",
    permission=Permission.SIGNED_IN,
)
def save_choices(context: Root, request: Request) -> Response:
    """Each kind's two boxes (unticked boxes are not posted: not wanted that way)."""
    services.set_choices(
        request.dbsession,
        request.identity.user.id,
        [
            services.Choice(
                kind,
                request.POST.get(f"{kind.value}.in_app") == "on",
                request.POST.get(f"{kind.value}.by_mail") == "on",
            )
            for kind in NotificationKind
        ],
    )
    request.session.flash(request.localizer.translate(_("Your notification choices were saved.")))
    return redirect(request, f"{request.application_url}/preferences")
