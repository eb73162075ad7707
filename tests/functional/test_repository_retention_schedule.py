"""Retention on a schedule: the worker (in-process, and an RQ worker through Redis) applies
every tenant's policies once a day, keeps persons under legal hold, logs each run, and a
restarted worker does not apply them twice the same day. The dry run is never scheduled."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from redis import Redis
from sqlalchemy import select

from datacapt import jobs
from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.models import AuditEvent, Person, RetentionRun, Tenant
from datacapt.repository import jobs as repository_jobs
from datacapt.repository import rights, services
from tests.conftest import TEST_REDIS_URL, app_settings, bound_to
from tests.factories import SETUP, build_world

ELOISE = {
    "first_name": "Éloïse",
    "last_name": "Dupont-Mérieux",
    "birth_date": "1958-03-14",
    "email": "eloise.dupont@example.org",
    "phone": "",
}


@pytest.fixture(scope="module")
def apps(database_url):
    return {
        mode: configure(app_settings(database_url, redis_url)).make_wsgi_app()
        for mode, redis_url in (("in-process", ""), ("redis", TEST_REDIS_URL))
    }


@pytest.fixture
def registry_of_mode(apps, jobs_mode, connection, mailbox, monkeypatch):
    app = apps[jobs_mode]
    if jobs_mode == "redis":
        Redis.from_url(TEST_REDIS_URL).flushdb()
    from pyramid_mailer.interfaces import IMailer

    mailer = app.registry.getUtility(IMailer).smtp_mailer
    monkeypatch.setattr(mailer, "directory", mailbox.folder)
    with bound_to(app.registry, connection):
        yield app.registry


def work_off(registry) -> None:
    """One round of ``datacapt worker``: an RQ worker through Redis (it queues the periodic
    jobs, then runs them), or the in-process runner without Redis."""
    queue = jobs.queue(registry)
    if queue is None:
        jobs.work_in_process(registry, interval=0, burst=True)
        return
    jobs.WORKER_REGISTRY = registry
    try:
        worker = jobs.OutboxWorker([queue], connection=queue.connection)
        worker.work(burst=True)
        worker.work(burst=True)  # the periodic jobs queued by the first round's maintenance
    finally:
        jobs.WORKER_REGISTRY = None


def person(dbsession, registry, world, first_name: str, *, days_old: int) -> Person:
    data = services.clean({**ELOISE, "first_name": first_name}, date(2026, 12, 1))
    found = services.register(dbsession, registry, SETUP, world.study, world.sites["par01"], data)
    found.updated_at = datetime.now(UTC) - timedelta(days=days_old)
    dbsession.flush()
    return found


def test_the_worker_applies_the_policies_daily_keeping_legal_holds(registry_of_mode, dbsession):
    registry = registry_of_mode
    world = build_world(dbsession, registry)
    old = person(dbsession, registry, world, "Old", days_old=1000)
    held = person(dbsession, registry, world, "Held", days_old=1000)
    fresh = person(dbsession, registry, world, "Fresh", days_old=3)
    rights.set_legal_hold(dbsession, SETUP, held, hold=True, reason="Litigation 2026-17")
    dbsession.flush()
    assert repository_jobs.RETENTION in jobs.PERIODIC

    work_off(registry)

    with transaction_scope(registry) as session:
        shredded = {p.id: p.shredded_at is not None for p in session.scalars(select(Person))}
        assert shredded == {old.id: True, held.id: False, fresh.id: False}
        tenants = session.scalars(select(Tenant.id)).all()
        runs = session.scalars(select(RetentionRun).order_by(RetentionRun.id)).all()
        assert sorted(run.tenant_id for run in runs) == sorted(tenants)
        assert all(not run.dry_run and run.actor == "retention schedule" for run in runs)
        [mine] = [run for run in runs if run.tenant_id == world.tenant.id]
        assert mine.results["prospects"] == {"due": 1, "held": 1}
        audited = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_type == "retention_run")
        ).all()
        assert audited.count("repository.retention_run") == len(runs)

    work_off(registry)  # a restarted worker, the same day: nothing applied twice
    with transaction_scope(registry) as session:
        assert len(session.scalars(select(RetentionRun)).all()) == len(runs)


def test_the_next_day_is_a_new_run(dbsession, registry):
    world = build_world(dbsession, registry)
    person(dbsession, registry, world, "Old", days_old=1000)
    now = datetime.now(UTC)

    def ours(when: datetime) -> list[RetentionRun]:
        ran = rights.run_scheduled_retention(dbsession, repository_jobs.ACTOR, when)
        return [run for run in ran if run.tenant_id == world.tenant.id]

    [first] = ours(now)
    assert not first.dry_run and first.results["prospects"] == {"due": 1, "held": 0}
    assert ours(now + timedelta(hours=2)) == []
    [second] = ours(now + timedelta(days=1))
    assert second.results["prospects"] == {"due": 0, "held": 0}
