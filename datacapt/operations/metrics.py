"""Prometheus metrics: requests by view and status (count and latency), and the jobs' backlog.

The request metrics are counted in each process. Under gunicorn every worker is a process of
its own: with ``PROMETHEUS_MULTIPROC_DIR`` set (an empty folder, before the server starts; see
``gunicorn.conf.py``) prometheus_client writes them to files there and a scrape adds up every
worker's, whichever worker answers it. The jobs' figures are read from the outbox and from RQ
when the scrape asks, so they are the same whoever answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.process_collector import ProcessCollector

#: Set (to an empty folder) for every process of a multi-process server, before it starts.
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

disable_created_metrics()  # the ``_created`` series would double the output for nothing

REQUESTS = Counter(
    "datacapt_http_requests",
    "Requests answered, by the view that answered, method and status.",
    ("view", "method", "status"),
    registry=None,
)
LATENCY = Histogram(
    "datacapt_http_request_duration_seconds",
    "Time to answer a request (its transaction's commit included), by view and status.",
    ("view", "status"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)


#: Methods counted by name; any other a client invents is counted as "other" (series are
#: bounded: views and statuses are the app's own).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


#: The two series' children of each (view, method, status) seen: ``labels()`` checks and joins
#: its values on every call (~15 calls a request); the children stand for the process's life.
#: Bounded: past the cap a new combination is looked up each time, never kept.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}
CHILDREN_CAP = 4096


def observe(view: str, method: str, status: int, seconds: float) -> None:
    """Count one request: two increments, no I/O."""
    key = (view, method, status)
    children = _CHILDREN.get(key)
    if children is None:
        code = str(status)
        children = (
            REQUESTS.labels(view, method if method in METHODS else "other", code),
            LATENCY.labels(view, code),
        )
        if len(_CHILDREN) < CHILDREN_CAP:
            _CHILDREN[key] = children
    children[0].inc()
    children[1].observe(seconds)


@dataclass(frozen=True)
class JobFigures:
    """The jobs' state at the time of a scrape (the RQ figures are None without Redis)."""

    pending: int
    failed: int
    oldest_pending_seconds: float
    redis_up: bool | None = None
    queue_depth: int | None = None
    queue_failed: int | None = None


class _Jobs:
    """A collector of the figures read for one scrape."""

    def __init__(self, figures: JobFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        found = self.figures
        yield _gauge("datacapt_jobs_pending", "Outbox jobs waiting to run.", found.pending)
        yield _gauge(
            "datacapt_jobs_failed",
            "Outbox jobs that failed every attempt and wait for a person.",
            found.failed,
        )
        yield _gauge(
            "datacapt_jobs_oldest_pending_seconds",
            "How long the oldest waiting outbox job has waited (0 when none waits).",
            found.oldest_pending_seconds,
        )
        if found.redis_up is None:
            return
        yield _gauge("datacapt_redis_up", "Whether Redis answered this scrape.", found.redis_up)
        if found.queue_depth is not None:
            yield _gauge("datacapt_rq_queue_depth", "Jobs queued in RQ.", found.queue_depth)
        if found.queue_failed is not None:
            yield _gauge(
                "datacapt_rq_failed_jobs", "Jobs in RQ's failed-job registry.", found.queue_failed
            )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def exposition(figures: JobFigures) -> bytes:
    """The text a scrape gets: this process's (or, multi-process, every worker's) request
    metrics and the jobs' figures."""
    scrape = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_VARIABLE):
        MultiProcessCollector(scrape)
    else:
        scrape.register(REQUESTS)
        scrape.register(LATENCY)
        ProcessCollector(registry=scrape)
    scrape.register(_Jobs(figures))
    return generate_latest(scrape)
