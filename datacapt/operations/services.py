"""Readiness (does the database answer, does Redis answer, quickly?) and the jobs' figures a
metrics scrape reports.

The database is required: without it nothing works, so the node is not ready. Redis only carries
jobs, which wait in the outbox while it is away (:mod:`datacapt.jobs`): pages and data entry keep
working, so the node is *degraded*, still ready. Without Redis configured (the embedded default)
jobs run in-process and Redis is simply "not configured".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from pyramid.registry import Registry
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from datacapt.config import get_app_settings
from datacapt.models import JobState, OutboxJob
from datacapt.operations.metrics import JobFigures

#: Seconds a readiness probe waits for Redis: a probe must answer before the balancer gives up.
REDIS_TIMEOUT = 0.5
PROBE_CLIENT_KEY = "operations.redis_probe"


class Check(StrEnum):
    OK = "ok"
    DOWN = "down"
    NOT_CONFIGURED = "not configured"


class Readiness(StrEnum):
    READY = "ready"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class Report:
    database: Check
    redis: Check

    @property
    def status(self) -> Readiness:
        if self.database != Check.OK:
            return Readiness.DOWN
        if self.redis == Check.DOWN:
            return Readiness.DEGRADED
        return Readiness.READY

    def as_json(self) -> dict[str, object]:
        return {
            "status": self.status.value,
            "checks": {"database": self.database.value, "redis": self.redis.value},
        }


def check_database(registry: Registry) -> Check:
    """``SELECT 1`` on a raw pooled connection: no transaction is begun, so on SQLite the probe
    never queues behind a writer's lock (``BEGIN IMMEDIATE``, :mod:`datacapt.db`)."""
    engine = registry["db.engine"]
    try:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
        finally:
            connection.close()
    except (SQLAlchemyError, engine.dialect.loaded_dbapi.Error):
        return Check.DOWN
    return Check.OK


def _probe_client(registry: Registry, url: str) -> Redis:
    """A client of its own with short timeouts (the jobs' client waits as long as it takes)."""
    client = registry.get(PROBE_CLIENT_KEY)
    if client is None:
        client = registry[PROBE_CLIENT_KEY] = Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )
    return client


def check_redis(registry: Registry) -> Check:
    url = get_app_settings(registry).redis_url
    if not url:
        return Check.NOT_CONFIGURED
    try:
        _probe_client(registry, url).ping()
    except (RedisError, OSError):
        return Check.DOWN
    return Check.OK


def readiness(registry: Registry) -> Report:
    return Report(database=check_database(registry), redis=check_redis(registry))


def job_figures(dbsession: Session, registry: Registry) -> JobFigures:
    """The outbox's pending and failed jobs (one indexed statement) and, with Redis, RQ's queue
    depth and failed jobs; Redis away is reported, not raised."""
    pending, failed, oldest = dbsession.execute(
        select(
            func.count().filter(OutboxJob.state == JobState.PENDING),
            func.count().filter(OutboxJob.state == JobState.FAILED),
            func.min(OutboxJob.created_at).filter(OutboxJob.state == JobState.PENDING),
        ).where(OutboxJob.state.in_((JobState.PENDING, JobState.FAILED)))
    ).one()
    waited = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    figures = JobFigures(pending=pending, failed=failed, oldest_pending_seconds=max(0.0, waited))
    url = get_app_settings(registry).redis_url
    if not url:
        return figures
    rq_queue = Queue(get_app_settings(registry).queue_name, connection=_probe_client(registry, url))
    try:
        depth, failed_jobs = len(rq_queue), rq_queue.failed_job_registry.count
    except (RedisError, OSError):
        return replace(figures, redis_up=False)
    return replace(figures, redis_up=True, queue_depth=depth, queue_failed=failed_jobs)
