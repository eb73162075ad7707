"""Clicks racing for real (threads, committed transactions, a database of their own): however
many "allocate kit" clicks arrive at once, a subject's visit gets one kit and every answer
shows it; subjects of one site allocated at once never share a kit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.kits import services
from datacapt.models import (
    Environment,
    Kit,
    KitState,
    ProductType,
    Randomisation,
    RandomisationDesign,
    RandomisationMethod,
    Subject,
)
from tests.conftest import app_settings, create_database, migrate
from tests.factories import SETUP, build_world, csrf_token, make_subject
from tests.functional.test_concurrency import all_at_once, client, drop_database

CLICKS = 6


@pytest.fixture
def committed(tmp_path: Path) -> Iterator[tuple]:
    url = create_database("kits", tmp_path)
    migrate(url)
    app = configure(app_settings(url)).make_wsgi_app()
    with transaction_scope(app.registry) as dbsession:
        world = build_world(dbsession, app.registry)
        labels = ["par01-0001"] + [f"par01-{n:04d}" for n in range(2, CLICKS + 1)]
        for label in labels[1:]:
            world.subjects[label] = make_subject(dbsession, world.sites["par01"], label)
        design = RandomisationDesign(
            tenant_id=world.tenant.id,
            study_id=world.study.id,
            revision=1,
            method=RandomisationMethod.BLOCKS,
            arms=[{"code": "A", "label": "A", "ratio": 1}],
            block_sizes=[1],
            seed=1,
        )
        dbsession.add(design)
        dbsession.flush()
        for number, label in enumerate(labels, start=1):
            subject = world.subjects[label]
            dbsession.add(
                Randomisation(
                    tenant_id=subject.tenant_id,
                    study_id=subject.study_id,
                    site_id=subject.site_id,
                    subject_id=subject.id,
                    design_id=design.id,
                    revision=1,
                    environment=Environment.TEST,
                    number=f"T-{number:04d}",
                    arm="A",
                    randomised_at=datetime.now(UTC),
                )
            )
        product = services.add_product(
            dbsession, world.tenant, "ACT", "Active", ProductType.INVESTIGATIONAL, SETUP
        )
        kind = services.add_kit_type(dbsession, world.study, "KA", "Active", product, SETUP)
        services.map_kit_type(dbsession, world.study, kind, "A", "baseline", SETUP)
        for n in range(CLICKS * 2):
            dbsession.add(
                Kit(
                    tenant_id=world.tenant.id,
                    study_id=world.study.id,
                    number=f"K{n:03d}",
                    kit_type_id=kind.id,
                    batch="B1",
                    expiry=date.today() + timedelta(days=400),
                    site_id=world.sites["par01"].id,
                    state=KitState.AVAILABLE,
                    environment=Environment.TEST,
                )
            )
        email = world.users["coordinator"].email
    yield app, email, labels
    app.registry["db.engine"].dispose()
    drop_database(url)


def allocating(app, email, label):
    coordinator = client(app, email)
    token = csrf_token(coordinator)
    url = f"/acme/demo/subjects/{label}/@@allocate-kit"
    return lambda: [
        coordinator.post(
            url,
            {"csrf_token": token, "period": "baseline"},
            headers={"HX-Request": "true"},
            status="*",
        )
    ]


def test_clicks_at_once_allocate_one_kit(committed):
    app, email, _labels = committed
    responses = all_at_once([allocating(app, email, "par01-0001") for _ in range(CLICKS)])
    assert [r.status_int for r in responses] == [200] * CLICKS
    shown = {r.html.select(".kit-number")[0].text for r in responses}
    with transaction_scope(app.registry) as dbsession:
        stored = dbsession.scalars(select(Kit.number).where(Kit.state == KitState.ALLOCATED)).all()
    assert len(stored) == 1 and shown == set(stored)


def test_subjects_at_once_never_share_a_kit(committed):
    app, email, labels = committed
    responses = all_at_once([allocating(app, email, label) for label in labels])
    assert [r.status_int for r in responses] == [200] * len(labels)
    with transaction_scope(app.registry) as dbsession:
        rows = dbsession.execute(
            select(Subject.label, Kit.number).join(Subject, Subject.id == Kit.subject_id)
        ).all()
    assert sorted(label for label, _number in rows) == sorted(labels)
    assert len({number for _label, number in rows}) == len(labels)
