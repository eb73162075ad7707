"""Exports run by ``datacapt worker`` as a deployment runs them: a worker killed (SIGKILL) in the
middle of an export, the export retried from the command line or sent again by the next worker's
outbox sweep, and the retry's file the very bytes of a run that was never interrupted. Without
Redis (the embedded default) the job dies in the process instead, and the retry runs in-process.
Saved definitions from the command line."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from sqlalchemy import create_engine, select, text, update

from bench.generate import PASSWORD, Options, generate
from datacapt import jobs
from datacapt.accounts.services import create_user, grant_study_role
from datacapt.actor import Actor
from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.exports import definitions, services
from datacapt.exports.options import ExportFormat, ExportOptions
from datacapt.exports.retry import STUCK_AFTER
from datacapt.models import DataExport, ExportDefinition, ExportState, JobState, OutboxJob, Study
from datacapt.models.exports import Every
from datacapt.permissions import StudyRole
from tests.conftest import TEST_REDIS_URL, TESTING_INI, app_settings
from tests.functional.test_cli import DATACAPT

OPTIONS = ExportOptions(format=ExportFormat.SAS)


@dataclass(frozen=True)
class Big:
    study_id: int
    data_manager_id: int
    coordinator_id: int


@pytest.fixture(scope="module")
def big(cli_database):
    """A generated study (tenant ``bench``, study ``big``) in the command line's database, and
    its data manager."""
    registry = configure(app_settings(cli_database)).registry
    setup = generate(registry, Options(subjects=300, forms=3, items=12, sites=2), out=io.StringIO())
    with transaction_scope(registry) as dbsession:
        study = dbsession.get(Study, setup.study.id)
        manager = create_user(dbsession, registry, "dm@bench.example", "Data Manager", PASSWORD)
        grant_study_role(dbsession, manager, study, StudyRole.DATA_MANAGER)
        made = Big(study.id, manager.id, next(iter(setup.coordinators.values())))
    # Files of an earlier run's exports with the same numbers go: each run's database is new.
    shutil.rmtree(registry["exports.folder"] / str(setup.tenant_id), ignore_errors=True)
    registry["db.engine"].dispose()
    return made


@pytest.fixture
def cli_registry(cli_database, jobs_mode):
    """The app's registry on the command line's database, with Redis in the redis mode."""
    redis_url = TEST_REDIS_URL if jobs_mode == "redis" else ""
    if redis_url:
        Redis.from_url(redis_url).flushdb()
    registry = configure(app_settings(cli_database, redis_url)).registry
    yield registry
    registry["db.engine"].dispose()


def export_row(cli_database, export_id: int) -> DataExport:
    engine = create_engine(cli_database)
    with engine.connect() as connection:
        row = connection.execute(select(DataExport).where(DataExport.id == export_id)).one()
    engine.dispose()
    return row


def wait_for(cli_database, export_id: int, states: set[ExportState], timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = export_row(cli_database, export_id)
        if row.state in states:
            return row
        time.sleep(0.1)
    raise AssertionError(f"export {export_id} not {states} within {timeout} s: {row.state}")


def request(registry, big) -> int:
    with transaction_scope(registry) as dbsession:
        study = dbsession.get(Study, big.study_id)
        return services.request_export(dbsession, study, OPTIONS, big.data_manager_id).id


def reference(registry, big, row, tmp_path):
    """The export of the same options and snapshot, run whole in this process."""
    target = tmp_path / "reference.zip"
    with transaction_scope(registry) as dbsession:
        study = dbsession.get(Study, big.study_id)
        options = replace(OPTIONS, stamp=row.snapshot_at)
        result = services.export(dbsession, study, options, target, actor=Actor.system("tests"))
    return target, result


def start_worker(cli_database) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATACAPT_DATABASE_URL": cli_database,
        "DATACAPT_REDIS_URL": TEST_REDIS_URL,
    }
    return subprocess.Popen(
        [str(DATACAPT), "-c", str(TESTING_INI), "worker", "--sweep-interval", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def age(cli_database, export_id: int) -> None:
    """Let the export's last sign of life be older than the time after which it is stuck."""
    long_ago = datetime.now(UTC) - STUCK_AFTER - timedelta(minutes=1)
    engine = create_engine(cli_database)
    with engine.begin() as connection:
        connection.execute(
            update(DataExport)
            .where(DataExport.id == export_id)
            .values(created_at=long_ago, progressed_at=long_ago)
        )
    engine.dispose()


def test_a_killed_export_is_retried_to_the_bytes_of_an_uninterrupted_run(
    big, cli_database, cli_registry, jobs_mode, datacapt, monkeypatch, tmp_path
):
    real_worker = jobs_mode == "redis" and cli_database.startswith("postgresql")
    if real_worker:
        monkeypatch.setenv("DATACAPT_REDIS_URL", TEST_REDIS_URL)
        # The job reports itself running, then waits on the values this lock holds back: the
        # worker is killed in the middle of the export, at a moment no clock decides.
        engine = create_engine(cli_database)
        holder = engine.connect()
        lock = holder.begin()
        holder.execute(text("LOCK TABLE item_value IN ACCESS EXCLUSIVE MODE"))
        worker = start_worker(cli_database)
        try:
            export_id = request(cli_registry, big)
            wait_for(cli_database, export_id, {ExportState.RUNNING}, timeout=30)
            worker.send_signal(signal.SIGKILL)
            assert worker.wait(timeout=30) == -signal.SIGKILL
        finally:
            worker.kill()
            lock.rollback()
            holder.close()
            engine.dispose()
    else:
        if jobs_mode == "in-process":
            code, out, _ = datacapt("worker", "--burst")
            assert code == 0 and "no Redis configured" in out  # its own process, one round
        real = services.WRITERS[ExportFormat.SAS]

        def dying(target, data):
            real(target, data)
            raise RuntimeError("the job died")

        monkeypatch.setitem(services.WRITERS, ExportFormat.SAS, dying)
        export_id = request(cli_registry, big)
        monkeypatch.setitem(services.WRITERS, ExportFormat.SAS, real)
    killed = export_row(cli_database, export_id)
    assert killed.state in (ExportState.QUEUED, ExportState.RUNNING)
    path = services.export_path(cli_registry, killed)
    assert not path.exists() and not list(path.parent.glob(f".{path.name}.*"))
    code, _, err = datacapt("exports", "retry", str(export_id))
    assert code == 2 and "still running: nothing to retry" in err
    age(cli_database, export_id)
    code, out, _ = datacapt("exports", "retry", str(export_id))
    assert code == 0 and f"export {export_id} queued again" in out
    if real_worker:
        worker = start_worker(cli_database)
        try:
            done = wait_for(cli_database, export_id, {ExportState.DONE, ExportState.FAILED})
        finally:
            worker.kill()  # what it did is checked below; how a worker stops is test_cli's
            worker.wait(timeout=30)
    else:
        done = export_row(cli_database, export_id)
    assert done.state is ExportState.DONE and done.snapshot_at == killed.snapshot_at
    target, result = reference(cli_registry, big, done, tmp_path)
    assert result.values > 1000
    assert done.sha256 == result.sha256
    assert path.read_bytes() == target.read_bytes()


@contextmanager
def item_values_locked(cli_database) -> Iterator[None]:
    """Hold back the values an export reads: a job started meanwhile waits in the middle."""
    engine = create_engine(cli_database)
    holder = engine.connect()
    lock = holder.begin()
    holder.execute(text("LOCK TABLE item_value IN ACCESS EXCLUSIVE MODE"))
    try:
        yield
    finally:
        lock.rollback()
        holder.close()
        engine.dispose()


def test_a_job_whose_worker_died_is_sent_again_by_the_sweep_to_the_same_bytes(
    big, cli_database, cli_registry, jobs_mode, monkeypatch, tmp_path
):
    """Nobody steps in: the dead job's outbox row is still pending, the next worker's sweep
    sends it again once due, and the file is the bytes of a run never interrupted."""
    real_worker = jobs_mode == "redis" and cli_database.startswith("postgresql")
    if real_worker:
        with item_values_locked(cli_database):
            worker = start_worker(cli_database)
            try:
                export_id = request(cli_registry, big)
                wait_for(cli_database, export_id, {ExportState.RUNNING}, timeout=30)
                worker.send_signal(signal.SIGKILL)
                assert worker.wait(timeout=30) == -signal.SIGKILL
            finally:
                worker.kill()
        assert export_row(cli_database, export_id).state is ExportState.RUNNING
        worker = start_worker(cli_database)  # sweeps every second
        try:
            done = wait_for(cli_database, export_id, {ExportState.DONE, ExportState.FAILED}, 120)
        finally:
            worker.kill()  # what it did is checked below; how a worker stops is another test's
            worker.wait(timeout=30)
    else:
        real = services.WRITERS[ExportFormat.SAS]

        def dying(target, data):
            real(target, data)
            raise RuntimeError("the job died")

        monkeypatch.setitem(services.WRITERS, ExportFormat.SAS, dying)
        export_id = request(cli_registry, big)
        monkeypatch.setitem(services.WRITERS, ExportFormat.SAS, real)
        assert export_row(cli_database, export_id).state is not ExportState.DONE
        later = datetime.now(UTC) + jobs.LONGEST_RETRY + timedelta(seconds=1)
        assert jobs.sweep(cli_registry, now=later) >= 1  # with jobs earlier tests left pending
        queue = jobs.queue(cli_registry)
        if queue is not None:  # Redis without PostgreSQL: a worker in this process
            monkeypatch.setattr(jobs, "WORKER_REGISTRY", cli_registry)
            jobs.OutboxWorker([queue], connection=queue.connection).work(burst=True)
        done = export_row(cli_database, export_id)
    assert done.state is ExportState.DONE
    target, result = reference(cli_registry, big, done, tmp_path)
    assert done.sha256 == result.sha256
    assert services.export_path(cli_registry, done).read_bytes() == target.read_bytes()
    with transaction_scope(cli_registry) as dbsession:
        rows = dbsession.scalars(select(OutboxJob).where(OutboxJob.name == services.RUN_EXPORT))
        [row] = [row for row in rows if row.arguments["export_id"] == export_id]
        assert row.state is JobState.DONE


@pytest.fixture
def plain_registry(cli_database):
    registry = configure(app_settings(cli_database)).registry
    yield registry
    registry["db.engine"].dispose()


def test_saved_definitions_from_the_command_line(big, cli_database, plain_registry, datacapt):
    now = datetime.now(UTC)
    with transaction_scope(plain_registry) as dbsession:
        study = dbsession.get(Study, big.study_id)
        definitions.save_definition(
            dbsession,
            study,
            Actor.system("tests"),
            owner_id=big.data_manager_id,
            name="Every day",
            options=ExportOptions(format=ExportFormat.CSV),
            schedule=definitions.Schedule(Every.DAY, 7, 0, "Europe/Paris"),
            application_url="https://edc.example",
        )
    code, out, _ = datacapt("exports", "definitions", "bench", "big")
    assert code == 0 and out.startswith("Every day\tcsv\t")
    assert datacapt("exports", "run", "bench", "big", "Nope")[2].endswith(
        "no export definition 'Nope' in study big\n"
    )
    code, out, _ = datacapt("exports", "run", "bench", "big", "Every day")
    assert code == 0 and out.startswith("export ") and out.strip().endswith("started")
    code, out, _ = datacapt("exports", "run-due")
    assert out.startswith("0 scheduled export(s) started")  # its first slot is to come
    engine = create_engine(cli_database)
    with engine.begin() as connection:
        connection.execute(update(ExportDefinition).values(next_run_at=now - timedelta(minutes=1)))
    code, out, _ = datacapt("exports", "run-due")
    assert code == 0 and out.startswith("1 scheduled export(s) started")
    assert datacapt("exports", "run-due")[1].startswith("0 ")  # that slot is taken
    with engine.begin() as connection:
        connection.execute(
            update(ExportDefinition).values(
                owner_id=big.coordinator_id, next_run_at=now - timedelta(minutes=1)
            )
        )
    engine.dispose()
    code, out, _ = datacapt("exports", "run-due")
    assert out.startswith("0 ")  # a coordinator may not export: the slot passes without one
    with transaction_scope(plain_registry) as dbsession:
        definition = dbsession.scalar(select(ExportDefinition))
        assert definition.next_run_at > now
        runs = dbsession.scalars(
            select(DataExport).where(DataExport.definition_id == definition.id)
        ).all()
        assert len(runs) == 2  # the one run by hand, the one of the slot
