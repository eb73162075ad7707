"""What a refused or unknown request gets.

* Anonymous: the sign-in page, with ``came_from`` — also for unknown paths, so an anonymous
  visitor cannot tell an existing tenant or study from a missing one.
* Signed in, but not allowed even to see the node: 404, exactly as if it did not exist.
* Signed in, allowed to see the node but not to do this: 403.
* In the subjects' area (``/p/``): one page asking for a new link, whatever was refused.
* The database unreachable (stopped, restarting): 503, "nothing was saved, try again".
* Anything unexpected: our own page in the user's language with a short reference, and the
  traceback in the log under the request's id; never the server's bare 500.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit

from pyramid.config import Configurator
from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import (
    HTTPBadRequest,
    HTTPConflict,
    HTTPForbidden,
    HTTPNotFound,
    HTTPServiceUnavailable,
)
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from pyramid_retry import is_error_retryable
from sqlalchemy.exc import DBAPIError

from datacapt.db import database_unavailable
from datacapt.door import MalformedRequest
from datacapt.htmx import encode_url, is_htmx, redirect, wants_fragment
from datacapt.i18n import _, browser_locale
from datacapt.permissions import closed_by
from datacapt.resources import Resource
from datacapt.security import in_subject_area

log = logging.getLogger(__name__)
#: Seconds a client is asked to wait before sending again what the database could not take.
RETRY_AFTER = "30"


def safe_came_from(value: str | None) -> str:
    """A local path to return to after sign-in, percent-encoded so a ``Location`` header can
    carry it; anything else (other hosts, schemes, spaces or control characters, backslashes)
    is '/'."""
    if not value or "\\" in value or any(ch.isspace() or ord(ch) < 32 for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return encode_url(value)


def login_redirect(request: Request) -> Response:
    if is_htmx(request):
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        came_from = current.path + (f"?{current.query}" if current.query else "")
    else:
        came_from = request.path_qs
    query = urlencode({"came_from": safe_came_from(came_from)})
    login = f"{request.application_url}/login?{query}"
    if wants_fragment(request):
        return session_needed(request, login)
    return redirect(request, login)


def session_needed(request: Request, login: str) -> Response:
    """A part of a page asked for something that needs a session, and there is none (it ended):
    401, so the page keeps what it sent, signs in again in place and sends it again (app.js),
    instead of leaving for the sign-in page and losing what was typed. ``Datacapt-Sign-In``
    names the sign-in page, for a page that cannot sign in in place."""
    response = Response(status=401, content_type="text/plain", charset="utf-8")
    response.text = request.localizer.translate(_("Your session has ended. Sign in again."))
    response.headers["WWW-Authenticate"] = 'Datacapt-Session realm="Datacapt"'
    response.headers["Datacapt-Sign-In"] = encode_url(login)
    return response


def render_error(request: Request, status: int) -> Response:
    response = render_to_response(f"errors/{status}.jinja2", {}, request=request)
    response.status_int = status
    return response


def subject_unavailable(request: Request) -> Response:
    """The subjects' area has no sign-in page: whatever is refused or missing there (a session
    ended, another subject's page) is the one page that asks for a new link."""
    response = render_to_response("errors/subject_unavailable.jinja2", {}, request=request)
    response.status_int = HTTPNotFound.code
    return response


@forbidden_view_config()
def forbidden(exc: HTTPForbidden, request: Request) -> Response:
    if in_subject_area(request):
        return subject_unavailable(request)
    if request.identity is None:
        return login_redirect(request)
    context = request.context
    if isinstance(context, Resource) and not request.has_permission(
        context.view_permission, context
    ):
        return render_error(request, HTTPNotFound.code)
    closed = closed_by(exc.result)
    if closed is not None:  # no role is missing: the data's state refuses it
        response = render_to_response("errors/403.jinja2", {"closed": closed}, request=request)
        response.status_int = HTTPForbidden.code
        return response
    return render_error(request, HTTPForbidden.code)


@notfound_view_config()
def not_found(exc: HTTPNotFound, request: Request) -> Response:
    if in_subject_area(request):
        return subject_unavailable(request)
    if request.identity is None and not request.path_info.startswith("/static/"):
        return login_redirect(request)
    return render_error(request, HTTPNotFound.code)


@exception_view_config(HTTPConflict)
def conflict(exc: HTTPConflict, request: Request) -> Response:
    """A change refused because what it was based on changed meanwhile (or is gone): the
    message says what to do; the status lets htmx swap it in place."""
    response = render_to_response("errors/409.jinja2", {"message": exc.detail}, request=request)
    response.status_int = HTTPConflict.code
    return response


@exception_view_config(MalformedRequest)
def malformed_request(exc: MalformedRequest, request: Request) -> Response:
    """Refused at the door (:mod:`datacapt.door`): say what was wrong with it."""
    response = render_to_response("errors/422.jinja2", {"message": exc.refusal}, request=request)
    response.status_int = HTTPBadRequest.code
    return response


@exception_view_config(BadCSRFToken)
def bad_csrf_token(exc: BadCSRFToken, request: Request) -> Response:
    """A form from an expired session, or replayed: say so instead of a bare 400."""
    return render_error(request, HTTPBadRequest.code)


@exception_view_config(DBAPIError)
def database_error(exc: DBAPIError, request: Request) -> Response:
    """The database cannot be reached (stopped, restarting, the network): 503, saying that
    nothing was saved and to try again, with the reference; the page asks the database nothing
    (not even the user's language). Any other database error is unexpected. A connection found
    dead (the server restarted while it was idle in the pool) is retryable (see
    :mod:`datacapt.db`): pyramid_retry discards this answer and runs the request again."""
    if not database_unavailable(exc):
        return unexpected(exc, request)
    if is_error_retryable(request, exc):
        log.info("database connection lost in request %s, running it again", request.request_id)
        return Response(status=HTTPServiceUnavailable.code)
    log.warning(
        "database unavailable in request %s: %s", request.request_id, type(exc.orig).__name__
    )
    if "localizer" not in vars(request):
        request.locale_name = browser_locale(request)
    reference = request.request_id[:8]
    response = render_to_response("errors/503.jinja2", {"reference": reference}, request=request)
    response.status_int = HTTPServiceUnavailable.code
    response.headers["Retry-After"] = RETRY_AFTER
    return response


@exception_view_config(Exception)
def unexpected(exc: Exception, request: Request) -> Response:
    """What no other view handles. The user gets a reference to quote (the start of the
    request's id), the log the traceback under the whole id. pyramid_tm still aborts the
    transaction and pyramid_retry still retries a retryable error: both look at
    ``request.exception``, which this view leaves set."""
    reference = request.request_id[:8]
    log.error("unexpected error in request %s", request.request_id, exc_info=exc)
    try:
        response = render_to_response(
            "errors/500.jinja2", {"reference": reference}, request=request
        )
    except Exception:  # the page itself failed (a broken database connection): plain words
        log.exception("the error page failed too in request %s", request.request_id)
        message = _("Something went wrong on our side. Reference: ${reference}")
        text = request.localizer.translate(message, mapping={"reference": reference})
        response = Response(text, content_type="text/plain", charset="utf-8")
    response.status_int = 500
    return response


def includeme(config: Configurator) -> None:
    config.scan(__name__)
