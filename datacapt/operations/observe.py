"""What each request leaves behind: one log line (method, view, status, duration, ids) and its
count and latency in the metrics (:mod:`datacapt.operations.metrics`).

The tween sits above every other one, so it times the whole request (the transaction's commit
included) and sees the final status, even of an error no view handled. It binds the request's id
for every line logged meanwhile; the tenant's id is bound once traversal found the context, the
user's once the security policy knows them (:mod:`datacapt.signin.policy`). Ids only, never a
path (it names subjects), a query string or a form value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pyramid.events import ContextFound
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

from datacapt import logs
from datacapt.operations import metrics

#: Where the view that answered writes its label (see :func:`view_label`).
VIEW_KEY = "datacapt.view"
#: The label of a request no view answered (refused at the door, or a failure before any view).
NO_VIEW = "none"

log = logs.get_logger("datacapt.request")


def _label(view: Any, attr: str | None) -> str:
    """``module.function`` (or ``module.Class.attr``) of a view: a bounded set, unlike paths."""
    module = getattr(view, "__module__", None) or type(view).__module__
    name = getattr(view, "__qualname__", None) or type(view).__qualname__
    return f"{module}.{name}" + (f".{attr}" if attr else "")


def view_label(view: Callable[..., Any], info: Any) -> Callable[..., Any]:
    """A view deriver: the first view that answers a request names it (an exception view
    answering after it does not rename it)."""
    label = _label(info.original_view, info.options.get("attr"))

    def labelled(context: Any, request: Request) -> Any:
        request.environ.setdefault(VIEW_KEY, label)
        return view(context, request)

    return labelled


def bind_tenant(event: ContextFound) -> None:
    tenant = getattr(event.request.context, "tenant", None)
    if tenant is not None:
        logs.bind(tenant_id=tenant.id)


def observe_tween_factory(handler: Callable[[Request], Response], registry: Registry) -> Any:
    def observe(request: Request) -> Response:
        started = time.perf_counter()
        logs.clear()
        logs.bind(request_id=request.request_id)
        status = 500  # unless a response says otherwise: the error reached the server
        try:
            response = handler(request)
            status = response.status_int
            # appended: no other code sets it, and ``headers[...] =`` lower-cases every header
            response.headerlist.append(("X-Request-Id", request.request_id))
            return response
        finally:
            seconds = time.perf_counter() - started
            view = request.environ.get(VIEW_KEY, NO_VIEW)
            metrics.observe(view, request.method, status, seconds)
            log.info(
                "request",
                method=request.method,
                view=view,
                status=status,
                duration_ms=round(seconds * 1000, 2),
            )
            logs.clear()

    return observe
