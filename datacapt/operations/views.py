"""``/healthz`` and ``/readyz`` (public, JSON) and ``/metrics`` (Prometheus, behind a bearer
token): no session, no person's data.

They are views of the root under reserved names, so traversal reaches them without a query.
"""

from __future__ import annotations

import hmac
from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from datacapt.config import get_app_settings
from datacapt.operations.metrics import exposition
from datacapt.operations.services import Readiness, job_figures, readiness
from datacapt.resources import Root


@view_config(context=Root, name="healthz", renderer="json", permission=NO_PERMISSION_REQUIRED)
def healthz(request: Request) -> dict[str, Any]:
    """The process is up and serves requests: no I/O at all."""
    return {"status": "ok"}


@view_config(context=Root, name="readyz", renderer="json", permission=NO_PERMISSION_REQUIRED)
def readyz(request: Request) -> dict[str, Any]:
    """Ready (200), degraded (200: Redis is away, jobs wait in the outbox) or down (503: no
    database); the body names what is down."""
    report = readiness(request.registry)
    if report.status == Readiness.DOWN:
        request.response.status_int = 503
    return report.as_json()


@view_config(context=Root, name="metrics", permission=NO_PERMISSION_REQUIRED)
def metrics(request: Request) -> Response:
    """For Prometheus, with ``Authorization: Bearer <datacapt.metrics_token>``. Without a token
    configured the page does not exist (404); a wrong or missing token gets 401."""
    token = get_app_settings(request.registry).metrics_token
    if not token:
        return Response(status=404, content_type="text/plain", charset="utf-8")
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        offered.strip().encode(), token.encode()
    ):
        response = Response(status=401, content_type="text/plain", charset="utf-8")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = exposition(job_figures(request.dbsession, request.registry))
    return Response(body=body, content_type="text/plain; version=0.0.4", charset="utf-8")
