"""The daily resupply on a schedule: the worker (in-process, and an RQ worker through Redis)
proposes one shipment a day to a site below its minimums, and a restarted worker, which runs
every periodic job at once, proposes nothing more to it the same day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from sqlalchemy import func, select

from datacapt import clock, jobs
from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.kits import services
from datacapt.kits.jobs import ACTOR, PROPOSE_RESUPPLY
from datacapt.models import Kit, Shipment, ShipmentState
from tests.conftest import TEST_REDIS_URL, app_settings, bound_to
from tests.factories import SETUP, build_world
from tests.functional.test_kits import add_kits, catalogue


@pytest.fixture(scope="module")
def apps(database_url):
    return {
        mode: configure(app_settings(database_url, redis_url)).make_wsgi_app()
        for mode, redis_url in (("in-process", ""), ("redis", TEST_REDIS_URL))
    }


@pytest.fixture
def registry_of_mode(apps, jobs_mode, connection):
    app = apps[jobs_mode]
    if jobs_mode == "redis":
        Redis.from_url(TEST_REDIS_URL).flushdb()
    with bound_to(app.registry, connection):
        yield app.registry


def work_off(registry) -> None:
    """One start of ``datacapt worker``: its periodic jobs run at once."""
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


def shipments_of(registry) -> list[tuple[ShipmentState, list[str]]]:
    with transaction_scope(registry) as session:
        return [
            (
                shipment.state,
                sorted(session.scalars(select(Kit.number).where(Kit.shipment_id == shipment.id))),
            )
            for shipment in session.scalars(select(Shipment).order_by(Shipment.id))
        ]


def test_a_restarted_worker_proposes_a_sites_resupply_once_a_day(
    registry_of_mode, dbsession, monkeypatch
):
    registry = registry_of_mode
    world = build_world(dbsession, registry)
    ka, kp = catalogue(dbsession, world)
    add_kits(dbsession, world, ka, ["A-1", "A-2", "A-3"])
    add_kits(dbsession, world, kp, ["P-1"])
    services.set_level(dbsession, world.sites["par01"], ka, 5, 6, SETUP)
    services.set_level(dbsession, world.sites["par01"], kp, 2, 2, SETUP)
    dbsession.flush()
    assert PROPOSE_RESUPPLY in jobs.PERIODIC

    work_off(registry)
    # One shipment for the site, of every kit type it lacks (the depot had 3 of 6 KA).
    [(state, numbers)] = shipments_of(registry)
    assert (state, numbers) == (ShipmentState.PROPOSED, ["A-1", "A-2", "A-3", "P-1"])

    # More kits reach the depot, the pharmacist cancels the proposal, the worker restarts:
    # nothing more is proposed to the site today.
    add_kits(dbsession, world, ka, [f"B-{n}" for n in range(6)])
    [shipment] = dbsession.scalars(select(Shipment)).all()
    services.cancel(dbsession, shipment, SETUP)
    dbsession.flush()
    work_off(registry)
    assert shipments_of(registry) == [(ShipmentState.CANCELLED, [])]

    # The next day is a new proposal.
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: tomorrow)
    [proposed] = services.propose_resupply(dbsession, ACTOR)
    assert len(dbsession.scalars(select(Kit).where(Kit.shipment_id == proposed.id)).all()) == 7
    assert services.propose_resupply(dbsession, ACTOR) == []
    assert dbsession.scalar(select(func.count()).select_from(Shipment)) == 2
