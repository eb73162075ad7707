"""Automations through the real job path: in-process (no Redis) and through Redis with an RQ
worker (``datacapt worker``'s OutboxWorker, in this process). A run's job delivered twice
mails once; a delayed run waits for the periodic turn after its due time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from redis import Redis
from sqlalchemy import select

from datacapt import clock, jobs
from datacapt.automations import services
from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.models import AutomationRun, RunState, Study, Subject, SubjectStatus
from datacapt.subjects.services import change_status
from tests.conftest import TEST_REDIS_URL, app_settings, bound_to
from tests.factories import SETUP, build_world

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)


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
    # The mail of this mode's app goes where the test's mailbox looks.
    from pyramid_mailer.interfaces import IMailer

    mailer = app.registry.getUtility(IMailer).smtp_mailer
    monkeypatch.setattr(mailer, "directory", mailbox.folder)
    monkeypatch.setattr(clock, "now", lambda: NOW)
    with bound_to(app.registry, connection):
        yield app.registry


def work_off(registry) -> None:
    """A real RQ worker takes what is queued, sweeping the outbox and queueing the periodic
    jobs as ``datacapt worker`` does; without Redis, one round of the in-process runner."""
    queue = jobs.queue(registry)
    if queue is None:
        jobs.work_in_process(registry, interval=0, burst=True)
        return
    jobs.WORKER_REGISTRY = registry
    try:
        jobs.OutboxWorker([queue], connection=queue.connection).work(burst=True)
    finally:
        jobs.WORKER_REGISTRY = None


def runs(registry) -> list[AutomationRun]:
    with transaction_scope(registry) as dbsession:
        return list(dbsession.scalars(select(AutomationRun).order_by(AutomationRun.id)))


def include(registry, label="par01-0001"):
    with transaction_scope(registry) as dbsession:
        subject = dbsession.scalar(select(Subject).where(Subject.label == label))
        change_status(
            dbsession,
            subject,
            SubjectStatus.INCLUDED,
            reason="",
            on=date(2026, 6, 15),
            today=date(2026, 6, 15),
            actor=SETUP,
        )


def add_rule(registry, study_id, **fields):
    with transaction_scope(registry) as dbsession:
        study = dbsession.get(Study, study_id)
        services.create_rule(dbsession, study, services.RuleInput(**fields), actor=SETUP)


def test_the_worker_mails_once_even_when_the_run_is_asked_twice(
    registry_of_mode, dbsession, mailbox
):
    registry = registry_of_mode
    world = build_world(dbsession, registry)
    dbsession.flush()
    add_rule(
        registry,
        world.study.id,
        name="Tell the sponsor",
        trigger="subject_included",
        action="mail_addresses",
        addresses="ops@example.org",
    )
    include(registry)
    work_off(registry)
    [run] = runs(registry)
    assert run.state is RunState.DONE
    # The run's job asked for again (a duplicate delivery): the worker finds it done.
    with transaction_scope(registry) as session:
        jobs.enqueue_after_commit(session, services.RUN_JOB, run_id=run.id)
    work_off(registry)
    assert [m["To"] for m in mailbox.messages()] == ["ops@example.org"]
    assert runs(registry)[0].attempts == 1


def test_the_worker_carries_a_delayed_run_out_once_due(
    registry_of_mode, dbsession, mailbox, monkeypatch
):
    registry = registry_of_mode
    world = build_world(dbsession, registry)
    dbsession.flush()
    add_rule(
        registry,
        world.study.id,
        name="An hour later",
        trigger="subject_included",
        action="mail_role",
        role="data_manager",
        delay_minutes="60",
    )
    include(registry)
    work_off(registry)
    assert runs(registry)[0].state is RunState.PENDING and mailbox.messages() == []
    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(minutes=61))
    work_off(registry)  # the periodic turn queues it, the worker carries it out
    work_off(registry)
    [run] = runs(registry)
    assert run.state is RunState.DONE
    assert [m["To"] for m in mailbox.messages()] == ["data-manager@example.org"]
