"""Background jobs: asked for inside a transaction, run only once it has committed.

``enqueue_after_commit`` writes an outbox row in the caller's transaction and registers an
after-commit hook. If the transaction aborts, neither the row nor the job exists. After the
commit the job is handed to RQ (Redis configured) or run right here in-process (the embedded
default). A job still pending at its ``retry_at`` (its hand-over failed, its worker was killed,
it raised) is sent again by the worker's sweep, which runs every few seconds and backs off: each
retry waits as long as the job has waited so far, between 5 seconds and a minute. A job runs in
its own transaction that also marks its row done, so running it twice is harmless. Without Redis
the sweep and the periodic jobs run in a process of the deployment (``work_in_process``).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from threading import Event
from typing import Any

from pyramid.registry import Registry
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacapt import logs
from datacapt.config import get_app_settings
from datacapt.db import transaction_scope
from datacapt.models import JobState, OutboxJob

log = logging.getLogger(__name__)

JobFunction = Callable[..., None]
JOBS: dict[str, JobFunction] = {}
#: Jobs the worker asks for on its own, at most this often (without arguments).
PERIODIC: dict[str, timedelta] = {}
MAX_ATTEMPTS = 5
#: The shortest and the longest wait before a pending job is sent again.
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(seconds=60)
#: How often the worker sweeps the outbox for jobs due again.
SWEEP_INTERVAL = FIRST_RETRY
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
    row = OutboxJob(
        name=name,
        arguments=arguments,
        state=JobState.PENDING,
        attempts=0,
        retry_at=datetime.now(UTC) + FIRST_RETRY,
    )
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
        log.warning("job %s could not reach Redis; the worker's sweep will send it again", job_id)


def run_outbox_job(job_id: int) -> None:
    """The RQ entry point, run inside ``datacapt worker``."""
    if WORKER_REGISTRY is None:
        raise RuntimeError("datacapt jobs run in `datacapt worker`, which sets the registry")
    execute(WORKER_REGISTRY, job_id)


def execute(registry: Registry, job_id: int) -> None:
    """Run one outbox job in its own transaction; record success or the error. Every line
    logged meanwhile carries the job's id (and, run in-process, the request's id too)."""
    with logs.bound(job_id=job_id), transaction_scope(registry) as dbsession:
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
                row.retry_at = next_retry(row, datetime.now(UTC))
        else:
            row.state = JobState.DONE
            row.last_error = None
        row.finished_at = datetime.now(UTC)


def next_retry(row: OutboxJob, now: datetime) -> datetime:
    """Wait as long again as the job has waited so far, within FIRST_RETRY … LONGEST_RETRY."""
    waited = now - (row.created_at or now)
    return now + min(LONGEST_RETRY, max(FIRST_RETRY, waited))


def sweep(registry: Registry, now: datetime | None = None) -> int:
    """Send again the pending jobs whose ``retry_at`` has passed, and push it further off."""
    now = now or datetime.now(UTC)
    with transaction_scope(registry) as dbsession:
        due = dbsession.scalars(
            select(OutboxJob)
            .where(OutboxJob.state == JobState.PENDING, OutboxJob.retry_at <= now)
            .order_by(OutboxJob.retry_at, OutboxJob.id)
            .limit(1000)
            .with_for_update(skip_locked=True)  # a job running now is not due
        ).all()
        for row in due:
            row.retry_at = next_retry(row, now)
        pending = [row.id for row in due]
    for job_id in pending:
        dispatch(registry, job_id)
    return len(pending)


@dataclass(frozen=True)
class Backlog:
    """The outbox's pending jobs: how many, and since when the oldest waits."""

    waiting: int
    oldest: datetime | None


def backlog(dbsession: Session) -> Backlog:
    waiting, oldest = dbsession.execute(
        select(func.count(), func.min(OutboxJob.created_at)).where(
            OutboxJob.state == JobState.PENDING
        )
    ).one()
    return Backlog(waiting, oldest)


class OutboxWorker(SimpleWorker):
    """An RQ worker that also sweeps the outbox every ``sweep_interval`` seconds.

    RQ blocks on an empty queue for ~7 minutes between its maintenance runs: this worker wakes
    at every sweep interval instead, and runs RQ's own maintenance on RQ's schedule. A simple
    (non-forking) worker: jobs share the process's database pool safely, and the worker stays
    one process to supervise. It also queues the periodic jobs (``PERIODIC``) when due.
    """

    sweep_interval: float = SWEEP_INTERVAL.total_seconds()
    swept_at: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.periodic_due: dict[str, datetime] = {}

    @property
    def dequeue_timeout(self) -> int:
        return max(1, min(super().dequeue_timeout, int(self.sweep_interval)))

    def _sweep_due(self) -> bool:
        return self.swept_at is None or time.monotonic() - self.swept_at >= self.sweep_interval

    @property
    def should_run_maintenance_tasks(self) -> bool:
        return super().should_run_maintenance_tasks or self._sweep_due()

    def run_maintenance_tasks(self) -> None:
        if super().should_run_maintenance_tasks:
            super().run_maintenance_tasks()
        if WORKER_REGISTRY is not None and self._sweep_due():
            self.swept_at = time.monotonic()
            sent = sweep(WORKER_REGISTRY)
            if sent:
                log.info("outbox sweep sent %s pending job(s) again", sent)
            try:
                schedule_periodic(self.queues[0], self.periodic_due)
            except RedisError:
                log.warning("periodic jobs could not reach Redis; the next maintenance retries")


def periodic_due(due: dict[str, datetime]) -> list[str]:
    """The periodic jobs whose time has come (``due``: name -> next time, kept by the caller
    between calls), their next time pushed one period off. A missed turn is the next one."""
    now = datetime.now(UTC)
    names = [name for name in sorted(PERIODIC) if due.get(name, now) <= now]
    for name in names:
        due[name] = now + PERIODIC[name]
    return names


def schedule_periodic(rq_queue: Queue, due: dict[str, datetime]) -> list[str]:
    """Queue the periodic jobs whose time has come; the names queued. No outbox row."""
    names = periodic_due(due)
    for name in names:
        rq_queue.enqueue(run_periodic_job, name)
    return names


def run_periodic(registry: Registry, name: str) -> None:
    """One turn of a periodic job, in its own transaction."""
    with logs.bound(job=name), transaction_scope(registry) as dbsession:
        JOBS[name](JobContext(registry, dbsession))


def run_periodic_job(name: str) -> None:
    """The RQ entry point of a periodic job, inside ``datacapt worker``."""
    if WORKER_REGISTRY is None:
        raise RuntimeError("datacapt jobs run in `datacapt worker`, which sets the registry")
    run_periodic(WORKER_REGISTRY, name)


def work_in_process(
    registry: Registry, *, interval: float, burst: bool = False, stop: Event | None = None
) -> None:
    """The worker of a deployment without Redis: every ``interval`` seconds, the pending jobs
    due again (a job that failed, one cut short by a stop) and the periodic ones (scheduled
    exports, audit checkpoints) run here, one after the other. ``burst``: one round. What a
    commit asks for still runs right after it, in the process that committed."""
    due: dict[str, datetime] = {}
    stop = stop or Event()
    while not stop.is_set():
        sweep(registry)
        for name in periodic_due(due):
            try:
                run_periodic(registry, name)
            except Exception:
                log.exception("periodic job %s failed; its next turn runs it again", name)
        if burst:
            return
        stop.wait(interval)


@job("datacapt.probe")
def probe(ctx: JobContext) -> None:
    """Does nothing: its row turning ``done`` proves the whole path (used by ``datacapt check``)."""
