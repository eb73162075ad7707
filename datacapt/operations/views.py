"""``/healthz`` and ``/readyz``: public, JSON, no session, no person's data.

They are views of the root under reserved names, so traversal reaches them without a query.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from datacapt.operations.services import Readiness, readiness
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
