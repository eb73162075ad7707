"""Clicks racing for real (threads, committed transactions, a database of their own): however
many arrive at once, a subject is randomised once and every answer shows that randomisation;
subjects of one stratum randomised at once take the list's places in turn, none twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.ecrf.versions import published_design
from datacapt.models import Randomisation, RandomisationMethod, Subject
from datacapt.randomisation import services
from tests.conftest import app_settings, create_database, migrate
from tests.factories import SETUP, build_world, csrf_token, enter_values, make_subject
from tests.functional.test_concurrency import all_at_once, client, drop_database

CLICKS = 6
DEMOGRAPHICS = {
    "initials": "AB",
    "birth_date": "01/02/1970",
    "sex": "1",
    "height_cm": "170",
    "weight_kg": "65",
}


@pytest.fixture
def committed(tmp_path: Path) -> Iterator[tuple]:
    url = create_database("randomise", tmp_path)
    migrate(url)
    app = configure(app_settings(url)).make_wsgi_app()
    with transaction_scope(app.registry) as dbsession:
        world = build_world(dbsession, app.registry)
        labels = ["par01-0001"] + [f"par01-{n:04d}" for n in range(2, CLICKS + 1)]
        for label in labels[1:]:
            world.subjects[label] = make_subject(dbsession, world.sites["par01"], label)
        for label in labels:
            enter_values(
                dbsession,
                app.registry,
                world.study,
                world.subjects[label],
                "screening",
                "demographics",
                DEMOGRAPHICS,
                complete=True,
            )
        design = services.save_design(
            dbsession,
            world.study,
            services.DesignInput(
                method=RandomisationMethod.STRATIFIED,
                arms=[
                    {"code": "A", "label": "A", "ratio": 1},
                    {"code": "B", "label": "B", "ratio": 1},
                ],
                block_sizes=[4],
                by_site=True,
                items=["sex"],
                weights=[],
                measure="range",
                p=0.8,
                list_length=20,
                blinded=True,
            ),
            SETUP,
        )
        services.generate_lists(
            dbsession,
            design,
            list(world.sites.values()),
            published_design(dbsession, world.study).definition,
            SETUP,
        )
        email = world.users["coordinator"].email
    yield app, email, labels
    app.registry["db.engine"].dispose()
    drop_database(url)


def randomising(app, email, label):
    coordinator = client(app, email)
    token = csrf_token(coordinator)
    url = f"/acme/demo/subjects/{label}/@@randomise"
    return lambda: [
        coordinator.post(url, {"csrf_token": token}, headers={"HX-Request": "true"}, status="*")
    ]


def test_clicks_at_once_randomise_a_subject_once(committed):
    app, email, _labels = committed
    responses = all_at_once([randomising(app, email, "par01-0001") for _ in range(CLICKS)])
    assert [r.status_int for r in responses] == [200] * CLICKS
    numbers = {r.html.find(id="randomisation-number").get_text(strip=True) for r in responses}
    with transaction_scope(app.registry) as dbsession:
        stored = dbsession.scalars(select(Randomisation.number)).all()
    assert len(stored) == 1 and numbers == set(stored)


def test_subjects_of_one_stratum_at_once_take_the_places_in_turn(committed):
    app, email, labels = committed
    responses = all_at_once([randomising(app, email, label) for label in labels])
    assert [r.status_int for r in responses] == [200] * len(labels)
    with transaction_scope(app.registry) as dbsession:
        rows = dbsession.execute(
            select(Subject.label, Randomisation.number, Randomisation.stratum).join(
                Subject, Subject.id == Randomisation.subject_id
            )
        ).all()
    assert sorted(label for label, _n, _s in rows) == sorted(labels)
    assert len({number for _l, number, _s in rows}) == len(labels)
    assert {stratum for _l, _n, stratum in rows} == {"site=par01|sex=1"}
