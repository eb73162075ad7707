"""Background jobs: asked for inside a transaction, run only once it has committed.

``enqueue_after_commit`` writes an outbox row in the caller's transaction and registers an
after-commit hook. If the transaction aborts, neither the row nor the job exists. After the
commit the job is handed to RQ (Redis configured) or run right here in-process (the embedded
default). A job whose hand-over failed stays pending and the worker's sweep sends it again; a
job runs in its own transaction that also marks its row done, so running it twice is harmless.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pyramid.registry import Registry
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.config import get_app_settings
from datacapt.db import transaction_scope
from datacapt.models import JobState, OutboxJob

log = logging.getLogger(__name__)

JobFunction = Callable[..., None]
JOBS: dict[str, JobFunction] = {}
#: Jobs the worker asks for on its own, at most this often (without arguments).
PERIODIC: dict[str, timedelta] = {}
MAX_ATTEMPTS = 5
SWEEP_AFTER = timedelta(seconds=30)
#: The worker process's registry, set by ``datacapt worker`` before it starts working.
WORKER_REGISTRY: Registry | None = None


@dataclass(frozen=True)
class JobContext:
    registry: Registry
    dbsession: Session


def job(name: str, every: timedelta | None = None) -> Callable[[JobFunction], JobFunction]:
    """Register a job function under a stable name: ``fn(ctx: JobContext, **arguments)``;
    ``every``: the worker also runs it that often."""

    def register(function: JobFunction) -> JobFunction:
        if JOBS.get(name, function) is not function:
            raise ValueError(f"job {name!r} is registered twice")
        JOBS[name] = function
        if every is not None:
            PERIODIC[name] = every
        return function

    return register


def enqueue_after_commit(dbsession: Session, name: str, **arguments: Any) -> OutboxJob:
    """Ask for job ``name`` once the transaction ``dbsession`` belongs to commits."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    json.dumps(arguments)  # refuse what the outbox could not store, now rather than later
    row = OutboxJob(name=name, arguments=arguments, state=JobState.PENDING, attempts=0)
    dbsession.add(row)
    dbsession.flush()
    registry: Registry = dbsession.info["registry"]
    manager = dbsession.info["transaction_manager"]
    manager.get().addAfterCommitHook(_after_commit, args=(registry, row.id))
    return row


def _after_commit(succeeded: bool, registry: Registry, job_id: int) -> None:
    if succeeded:
        dispatch(registry, job_id)


def redis_connection(registry: Registry) -> Redis | None:
    url = get_app_settings(registry).redis_url
    if not url:
        return None
    connection = registry.get("jobs.redis")
    if connection is None:
        connection = registry["jobs.redis"] = Redis.from_url(url)
    return connection


def queue(registry: Registry) -> Queue | None:
    connection = redis_connection(registry)
    if connection is None:
        return None
    return Queue(get_app_settings(registry).queue_name, connection=connection)


def dispatch(registry: Registry, job_id: int) -> None:
    """Hand a committed job to RQ, or run it now when no Redis is configured."""
    rq_queue = queue(registry)
    if rq_queue is None:
        execute(registry, job_id)
        return
    try:
        rq_queue.enqueue(run_outbox_job, job_id, job_id=f"outbox-{job_id}")
    except RedisError:
        log.warning("job %s could not reach Redis; the worker's sweep will send it", job_id)


def run_outbox_job(job_id: int) -> None:
    """The RQ entry point, run inside ``datacapt worker``."""
    if WORKER_REGISTRY is None:
        raise RuntimeError("datacapt jobs run in `datacapt worker`, which sets the registry")
    execute(WORKER_REGISTRY, job_id)


def execute(registry: Registry, job_id: int) -> None:
    """Run one outbox job in its own transaction; record success or the error."""
    with transaction_scope(registry) as dbsession:
        row = dbsession.get(OutboxJob, job_id, with_for_update=True)
        if row is None or row.state != JobState.PENDING:
            return
        row.attempts += 1
        function = JOBS.get(row.name)
        try:
            if function is None:
                raise LookupError(f"no job named {row.name!r} in this process")
            with dbsession.begin_nested():
                function(JobContext(registry, dbsession), **row.arguments)
        except Exception:
            log.exception("job %s (%s) failed, attempt %s", row.id, row.name, row.attempts)
            row.last_error = traceback.format_exc(limit=5)[-4000:]
            if row.attempts >= MAX_ATTEMPTS:
                row.state = JobState.FAILED
        else:
            row.state = JobState.DONE
            row.last_error = None
        row.finished_at = datetime.now(UTC)


def sweep(registry: Registry, older_than: timedelta = SWEEP_AFTER) -> int:
    """Send again the pending jobs whose hand-over after commit did not happen."""
    cutoff = datetime.now(UTC) - older_than
    with transaction_scope(registry) as dbsession:
        pending = dbsession.scalars(
            select(OutboxJob.id)
            .where(OutboxJob.state == JobState.PENDING, OutboxJob.created_at < cutoff)
            .order_by(OutboxJob.id)
            .limit(1000)
        ).all()
    for job_id in pending:
        dispatch(registry, job_id)
    return len(pending)


class OutboxWorker(SimpleWorker):
    """An RQ worker that also sweeps the outbox during its maintenance.

    A simple (non-forking) worker: jobs share the process's database pool safely, and the
    worker stays one process to supervise. It also asks for the periodic jobs (``PERIODIC``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.periodic_due: dict[str, datetime] = {}

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        if WORKER_REGISTRY is not None:
            sent = sweep(WORKER_REGISTRY)
            if sent:
                log.info("outbox sweep sent %s pending job(s)", sent)
            try:
                schedule_periodic(self.queues[0], self.periodic_due)
            except RedisError:
                log.warning("periodic jobs could not reach Redis; the next maintenance retries")


def schedule_periodic(rq_queue: Queue, due: dict[str, datetime]) -> list[str]:
    """Queue the periodic jobs whose time has come (``due``: name -> next time, kept by the
    caller between calls); the names queued. No outbox row: a missed turn is the next one."""
    now = datetime.now(UTC)
    names = [name for name in sorted(PERIODIC) if due.get(name, now) <= now]
    for name in names:
        rq_queue.enqueue(run_periodic_job, name)
        due[name] = now + PERIODIC[name]
    return names


def run_periodic_job(name: str) -> None:
    """The RQ entry point of a periodic job, in its own transaction, inside ``datacapt worker``."""
    if WORKER_REGISTRY is None:
        raise RuntimeError("datacapt jobs run in `datacapt worker`, which sets the registry")
    with transaction_scope(WORKER_REGISTRY) as dbsession:
        JOBS[name](JobContext(WORKER_REGISTRY, dbsession))


@job("datacapt.probe")
def probe(ctx: JobContext) -> None:
    """Does nothing: its row turning ``done`` proves the whole path (used by ``datacapt check``)."""
