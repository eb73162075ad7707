"""Jobs are sent only after their transaction commits, survive a Redis outage, and run once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import webtest
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from redis import Redis
from sqlalchemy import select

from datacapt import jobs
from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.models import JobState, OutboxJob, Tenant
from datacapt.resources import Root
from datacapt.studies.services import create_tenant
from tests.conftest import TEST_REDIS_URL, app_settings, bound_to

RAN: list[str] = []


@jobs.job("tests.record")
def record(ctx: jobs.JobContext, value: str) -> None:
    RAN.append(value)


@jobs.job("tests.explode")
def explode(ctx: jobs.JobContext, slug: str) -> None:
    create_tenant(ctx.dbsession, slug, "Written by a job that then fails")
    raise RuntimeError("boom")


def enqueue_view(context: Root, request) -> Response:
    """Asks for a job, then answers with the status the test wants."""
    jobs.enqueue_after_commit(request.dbsession, "tests.record", value=request.params["value"])
    return Response(status=int(request.params["status"]))


@pytest.fixture(autouse=True)
def _forget_runs():
    RAN.clear()
    yield
    RAN.clear()


@pytest.fixture(scope="module")
def apps(database_url):
    """One app per jobs mode, each with a test view that enqueues."""
    built = {}
    for mode, redis_url in (("in-process", ""), ("redis", TEST_REDIS_URL)):
        config = configure(app_settings(database_url, redis_url))
        config.add_view(
            enqueue_view,
            context=Root,
            name="test-enqueue",
            permission=NO_PERMISSION_REQUIRED,
            require_csrf=False,
        )
        built[mode] = config.make_wsgi_app()
    return built


@pytest.fixture
def mode_app(apps, jobs_mode, connection):
    app = apps[jobs_mode]
    if jobs_mode == "redis":
        Redis.from_url(TEST_REDIS_URL).flushdb()
    with bound_to(app.registry, connection):
        yield app


def work_off(registry) -> None:
    """Let a real RQ worker (in this process) take what is queued; in-process mode ran already."""
    queue = jobs.queue(registry)
    if queue is None:
        return
    jobs.WORKER_REGISTRY = registry
    try:
        jobs.OutboxWorker([queue], connection=queue.connection).work(burst=True)
    finally:
        jobs.WORKER_REGISTRY = None


def outbox(registry) -> list[OutboxJob]:
    with transaction_scope(registry) as dbsession:
        return list(dbsession.scalars(select(OutboxJob).order_by(OutboxJob.id)))


def test_a_job_runs_once_its_transaction_commits(mode_app):
    registry = mode_app.registry
    with transaction_scope(registry) as dbsession:
        jobs.enqueue_after_commit(dbsession, "tests.record", value="committed")
        assert RAN == []  # not before the commit
    work_off(registry)
    assert RAN == ["committed"]
    [row] = outbox(registry)
    assert (row.state, row.attempts) == (JobState.DONE, 1)
    work_off(registry)
    jobs.execute(registry, row.id)  # a second delivery changes nothing
    assert RAN == ["committed"]


def test_no_job_for_an_aborted_transaction(mode_app):
    registry = mode_app.registry

    def failing_work() -> None:
        with transaction_scope(registry) as dbsession:
            jobs.enqueue_after_commit(dbsession, "tests.record", value="aborted")
            raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError):
        failing_work()
    work_off(registry)
    assert RAN == []
    assert outbox(registry) == []
    if jobs.queue(registry) is not None:
        assert jobs.queue(registry).count == 0


@pytest.mark.parametrize(("status", "runs"), [(200, ["kept"]), (422, []), (500, [])])
def test_a_request_that_fails_sends_no_job(mode_app, status, runs):
    testapp = webtest.TestApp(mode_app)
    testapp.get("/test-enqueue", {"value": "kept", "status": status}, status=status)
    work_off(mode_app.registry)
    assert runs == RAN
    assert len(outbox(mode_app.registry)) == len(runs)


def test_a_failing_job_keeps_its_error_and_none_of_its_writes(mode_app):
    registry = mode_app.registry
    with transaction_scope(registry) as dbsession:
        jobs.enqueue_after_commit(dbsession, "tests.explode", slug="ghost")
    work_off(registry)
    [row] = outbox(registry)
    assert (row.state, row.attempts) == (JobState.PENDING, 1)
    assert "RuntimeError: boom" in row.last_error
    with transaction_scope(registry) as dbsession:
        assert dbsession.scalar(select(Tenant).where(Tenant.slug == "ghost")) is None
    for _ in range(jobs.MAX_ATTEMPTS - 1):
        jobs.execute(registry, row.id)
    assert outbox(registry)[0].state == JobState.FAILED


def test_jobs_wait_out_a_redis_outage_and_the_sweep_sends_them(database_url, connection):
    """Redis configured but down: the commit succeeds, the job stays pending; the worker's
    sweep (here with Redis back, or in-process) sends it later."""
    down = configure(app_settings(database_url, "redis://127.0.0.1:1/0")).make_wsgi_app()
    with bound_to(down.registry, connection):
        with transaction_scope(down.registry) as dbsession:
            jobs.enqueue_after_commit(dbsession, "tests.record", value="delayed")
        assert RAN == []
        assert [row.state for row in outbox(down.registry)] == [JobState.PENDING]

    recovered = configure(app_settings(database_url, TEST_REDIS_URL)).make_wsgi_app()
    with bound_to(recovered.registry, connection):
        assert jobs.sweep(recovered.registry) == 0  # not due yet: its dispatch may be under way
        assert jobs.sweep(recovered.registry, now=soon(jobs.FIRST_RETRY)) == 1
        work_off(recovered.registry)
        assert RAN == ["delayed"]


def soon(delay: timedelta) -> datetime:
    return datetime.now(UTC) + delay + timedelta(seconds=1)


def test_a_pending_job_is_retried_within_seconds_and_backs_off(database_url, connection):
    """Its enqueue failed (Redis down) or its worker was killed: the sweep sends it again
    after 5 seconds, then after as long again as it has waited, up to a minute."""
    down = configure(app_settings(database_url, "redis://127.0.0.1:1/0")).make_wsgi_app()
    registry = down.registry
    with bound_to(registry, connection):
        with transaction_scope(registry) as dbsession:
            jobs.enqueue_after_commit(dbsession, "tests.record", value="retried")
        [row] = outbox(registry)
        assert row.retry_at - row.created_at <= jobs.FIRST_RETRY + timedelta(seconds=1)
        waits = []
        moment = row.retry_at
        for _ in range(6):
            assert jobs.sweep(registry, now=moment) == 1  # sent again (Redis still down)
            next_at = outbox(registry)[0].retry_at
            waits.append(round((next_at - moment).total_seconds()))
            moment = next_at
        assert jobs.sweep(registry, now=moment - timedelta(seconds=1)) == 0
    assert waits[0] <= 6 and waits == sorted(waits) and waits[-1] == 60


def test_the_worker_sweeps_every_few_seconds():
    """RQ's worker blocks ~7 minutes (its ttl less 15 s) on an empty queue before its
    maintenance: ours wakes at every sweep interval, and sweeps then."""
    worker = jobs.OutboxWorker.__new__(jobs.OutboxWorker)  # its state, without a Redis
    worker.worker_ttl, worker.maintenance_interval = 420, 600
    worker.last_cleaned_at = datetime.now(UTC)
    assert worker.dequeue_timeout == jobs.SWEEP_INTERVAL.total_seconds() == 5
    assert worker.should_run_maintenance_tasks  # never swept yet
    worker.swept_at = time.monotonic()
    assert not worker.should_run_maintenance_tasks
    worker.swept_at -= worker.sweep_interval
    assert worker.should_run_maintenance_tasks


def test_the_sweep_leaves_fresh_jobs_to_their_own_dispatch(mode_app):
    with transaction_scope(mode_app.registry) as dbsession:
        dbsession.add(
            OutboxJob(
                name="tests.record",
                arguments={"value": "fresh"},
                state=JobState.PENDING,
                attempts=0,
                created_at=datetime.now(UTC),
                retry_at=datetime.now(UTC) + jobs.FIRST_RETRY,
            )
        )
    assert jobs.sweep(mode_app.registry) == 0


def test_enqueue_refuses_unknown_jobs_and_unstorable_arguments(mode_app):
    with transaction_scope(mode_app.registry) as dbsession:
        with pytest.raises(KeyError):
            jobs.enqueue_after_commit(dbsession, "tests.nope")
        with pytest.raises(TypeError):
            jobs.enqueue_after_commit(dbsession, "tests.record", value=object())


def test_the_mode_decides_where_jobs_go(mode_app, jobs_mode):
    registry = mode_app.registry
    with transaction_scope(registry) as dbsession:
        jobs.enqueue_after_commit(dbsession, "tests.record", value="routed")
    if jobs_mode == "redis":
        queue = jobs.queue(registry)
        assert queue.name == "datacapt-test" and queue.count == 1
        assert RAN == []  # waiting for the worker
        work_off(registry)
    else:
        assert jobs.queue(registry) is None
    assert RAN == ["routed"]
