"""Errors of the API as RFC 7807 problem details (``application/problem+json``), never the
HTML pages or redirects a browser gets: every exception view here is bound to ``/api/``."""

from __future__ import annotations

import logging
from typing import Any

from pyramid.httpexceptions import HTTPError, HTTPForbidden, HTTPTooManyRequests
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config
from pyramid_openapi3.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError

from datacapt.db import database_unavailable
from datacapt.door import MalformedRequest
from datacapt.errors import RETRY_AFTER

log = logging.getLogger(__name__)
API_PATHS = r"^/api/"
MEDIA_TYPE = "application/problem+json"


def problem(request: Request, status: int, title: str, **members: Any) -> Response:
    """A problem document: ``title`` names the kind, further members say more."""
    body = {"type": "about:blank", "title": title, "status": status, **members}
    body["instance"] = request.path
    response = Response(json_body=body, status=status)
    response.content_type = MEDIA_TYPE
    return response


@exception_view_config(HTTPForbidden, path_info=API_PATHS)
def forbidden(exc: HTTPForbidden, request: Request) -> Response:
    """No (usable) key: 401, saying how to authenticate; a key without the right: 403."""
    if request.identity is None:
        response = problem(
            request, 401, "Unauthorized", detail="Send a valid key in the Api-Key header."
        )
        response.headers["WWW-Authenticate"] = "Api-Key"
        return response
    return problem(request, 403, "Forbidden", detail="This key may not do this.")


@exception_view_config(HTTPTooManyRequests, path_info=API_PATHS)
def too_many(exc: HTTPTooManyRequests, request: Request) -> Response:
    response = problem(request, 429, "Too Many Requests", detail=exc.detail)
    response.headers["Retry-After"] = exc.headers.get("Retry-After", "60")
    return response


@exception_view_config(HTTPError, path_info=API_PATHS)
def http_error(exc: HTTPError, request: Request) -> Response:
    return problem(request, exc.code, exc.title)


@exception_view_config(MalformedRequest, path_info=API_PATHS)
def malformed(exc: MalformedRequest, request: Request) -> Response:
    """Refused at the door (a NUL, bytes that are not UTF-8): its own view, or the page's would
    answer first (the more specific context)."""
    detail = "The address or the body holds a character that cannot be read or stored (NUL)."
    return problem(request, 400, "Bad Request", detail=detail)


@exception_view_config(RequestValidationError, path_info=API_PATHS)
def invalid_request(exc: RequestValidationError, request: Request) -> Response:
    """What the OpenAPI description refuses: each error's message and where."""
    errors = [{"message": str(error)} for error in exc.errors]
    return problem(request, 400, "Bad Request", errors=errors)


@exception_view_config(UnicodeDecodeError, path_info=API_PATHS)
def undecodable(exc: UnicodeDecodeError, request: Request) -> Response:
    return problem(request, 400, "Bad Request", detail="The body is not UTF-8 JSON.")


@exception_view_config(DBAPIError, path_info=API_PATHS)
def database_error(exc: DBAPIError, request: Request) -> Response:
    """The database cannot be reached: 503 with ``Retry-After``, the request may be sent again
    as it is (nothing of it was written); any other database error is unexpected."""
    if not database_unavailable(exc):
        return unexpected(exc, request)
    log.warning(
        "database unavailable in API request %s: %s", request.request_id, type(exc.orig).__name__
    )
    detail = "The database is unavailable; nothing was saved. Try again."
    response = problem(
        request, 503, "Service Unavailable", detail=detail, request_id=request.request_id[:8]
    )
    response.headers["Retry-After"] = RETRY_AFTER
    return response


@exception_view_config(Exception, path_info=API_PATHS)
def unexpected(exc: Exception, request: Request) -> Response:
    log.error("unexpected API error in request %s", request.request_id, exc_info=exc)
    return problem(request, 500, "Internal Server Error", request_id=request.request_id[:8])
