"""“Your sessions”: where the user is signed in, and ending any of those sessions."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.request import Request
from pyramid.view import view_config

from datacapt.accounts.events import record_account_event
from datacapt.config import get_app_settings
from datacapt.htmx import page_view, redirect
from datacapt.models import UserSession
from datacapt.permissions import Permission
from datacapt.resources import Root
from datacapt.signin import sessions

SESSIONS = "accounts/sessions.jinja2"


@page_view(Root, SESSIONS, Permission.SIGNED_IN, name="sessions")
def sessions_page(context: Root, request: Request) -> dict[str, Any]:
    identity = request.identity
    settings = get_app_settings(request.registry)
    return {
        "sessions": sessions.open_sessions(request.dbsession, identity.user, settings),
        "current_id": identity.session_id,
    }


@view_config(context=Root, name="sessions", request_method="POST", permission=Permission.SIGNED_IN)
def end_sessions(context: Root, request: Request) -> Any:
    """End one of the user's other sessions (``session``), or all of them (``others``)."""
    identity = request.identity
    step = request.POST.get("step")
    if step == "others":
        ended = sessions.end_all(
            request.dbsession,
            identity.user,
            sessions.EndReason.ENDED_BY_USER,
            keep=identity.session_id,
        )
    elif step == "end":
        row = request.dbsession.get(UserSession, _session_id(request))
        if row is None or row.user_id != identity.user.id or row.id == identity.session_id:
            raise HTTPBadRequest()
        sessions.end(request.dbsession, row.id, sessions.EndReason.ENDED_BY_USER)
        ended = 1
    else:
        raise HTTPBadRequest()
    if ended:
        record_account_event(request, identity.user, "user.sessions_ended", new={"count": ended})
    request.session.flash(
        request.localizer.pluralize(
            "${count} session ended.",
            "${count} sessions ended.",
            ended,
            domain="datacapt",
            mapping={"count": ended},
        )
    )
    return redirect(request, f"{request.application_url}/sessions")


def _session_id(request: Request) -> int:
    raw = request.POST.get("session", "")
    if not raw.isdigit() or len(raw) > 18:
        raise HTTPBadRequest()
    return int(raw)
