"""Faults survived: with Redis stopped, pages and data entry go on and the jobs asked for wait
in the outbox; once Redis is back, the sweep sends them and they run."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import webtest
from pyramid.router import Router
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from datacapt import jobs
from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.models import DataExport, ExportState, JobState, OutboxJob
from tests.conftest import app_settings, bound_to
from tests.factories import build_world, login

DEMOGRAPHICS = "/acme/demo/subjects/par01-0001/screening/demographics/"
EXPORTS = "/acme/demo/exports/"


class PrivateRedis:
    """A Redis server of this test's own, on a free port, that the test stops and starts (the
    shared one other tests use is never touched)."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is needed by the Redis tests (apt-get install redis-server)"
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self.process = subprocess.Popen(
            [server, *options, "--appendonly", "no"], stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except RedisError:
                assert time.monotonic() < deadline, "the private Redis did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@dataclass
class Outage:
    """The app while Redis is away, and how it comes back (the app jobs then go through)."""

    app: Router
    back: Router
    server: PrivateRedis | None = None


@pytest.fixture
def outage(database_url, jobs_mode) -> Iterator[Outage]:
    """With Redis (CI): a real server, stopped under the running app, then started again. In
    the embedded mode: the app points at a Redis that is not there, and once it is "back" the
    jobs run in-process."""
    if jobs_mode == "redis":
        server = PrivateRedis()
        server.start()
        app = configure(app_settings(database_url, server.url)).make_wsgi_app()
        server.stop()
        try:
            yield Outage(app=app, back=app, server=server)
        finally:
            server.stop()
            app.registry["db.engine"].dispose()
        return
    down = configure(app_settings(database_url, "redis://127.0.0.1:1/0")).make_wsgi_app()
    yield Outage(app=down, back=configure(app_settings(database_url)).make_wsgi_app())


@contextmanager
def restarted(outage: Outage) -> Iterator[None]:
    """Redis is back for the ``back`` app: the same port, an empty server."""
    if outage.server is None:
        yield
        return
    outage.server.start()
    try:
        yield
    finally:
        outage.server.stop()


def work_off(registry) -> None:
    """What ``datacapt worker`` does with what is queued (in-process mode ran it already)."""
    queue = jobs.queue(registry)
    if queue is None:
        return
    jobs.WORKER_REGISTRY = registry
    try:
        jobs.OutboxWorker([queue], connection=queue.connection).work(burst=True)
    finally:
        jobs.WORKER_REGISTRY = None


def browser(app: Router, email: str) -> webtest.TestApp:
    signed_in = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(signed_in, email).status_int == 303
    return signed_in


def test_redis_stopped_pages_and_entry_go_on_and_jobs_go_out_once_it_is_back(
    outage, jobs_mode, connection, dbsession, registry
):
    world = build_world(dbsession, registry)
    with bound_to(outage.app.registry, connection):
        coordinator = browser(outage.app, world.users["coordinator"].email)
        assert coordinator.get("/acme/demo/subjects/").status_int == 200
        form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
        form["height_cm"] = "181"
        assert form.submit().status_int == 303
        assert 'value="181"' in coordinator.get(DEMOGRAPHICS).text

        manager = browser(outage.app, world.users["data_manager"].email)
        form = manager.get(EXPORTS).forms["export-form"]
        form["format"] = "csv"
        assert form.submit().status_int == 303
        ready = manager.get("/readyz").json
        assert ready == {"status": "degraded", "checks": {"database": "ok", "redis": "down"}}

    [export] = dbsession.scalars(select(DataExport)).all()
    assert export.state is ExportState.QUEUED
    waiting = dbsession.scalars(select(OutboxJob).where(OutboxJob.state == JobState.PENDING))
    assert [row.name for row in waiting] == ["exports.run"]

    later = datetime.now(UTC) + jobs.FIRST_RETRY + timedelta(seconds=1)
    with restarted(outage), bound_to(outage.back.registry, connection):
        assert jobs.sweep(outage.back.registry, now=later) == 1
        work_off(outage.back.registry)
        with transaction_scope(outage.back.registry) as session:
            assert session.get(DataExport, export.id).state is ExportState.DONE
            states = session.scalars(select(OutboxJob.state)).all()
        assert set(states) == {JobState.DONE}  # the export, and what it asked for in turn
