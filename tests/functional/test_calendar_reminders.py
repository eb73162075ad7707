"""Reminders: a staff member is mailed each appointment a day ahead, once, in their own zone
and language; a moved appointment is reminded again, a cancelled one never."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from datacapt import clock
from datacapt.calendar import services
from datacapt.calendar.jobs import remind
from datacapt.db import transaction_scope
from datacapt.ecrf.versions import published_design
from datacapt.jobs import JobContext
from tests.factories import SETUP, build_world

#: Sunday 14 June 2026, 10:00 in Paris.
NOW = datetime(2026, 6, 14, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def now(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    site = world.sites["par01"]
    site.timezone, site.country = "Europe/Paris", "FR"
    world.users["coordinator"].locale = "fr"
    world.users["coordinator"].timezone = "America/New_York"
    dbsession.flush()
    return world


def book(dbsession, world, start: str):
    place = services.Place(
        world.study,
        world.sites["par01"],
        published_design(dbsession, world.study).definition.schedule,
    )
    subject = world.subjects["par01-0001"]
    form = {
        "subject": str(subject.id),
        "visit": "screening",
        "date": "2026-06-15",
        "start": start,
        "end": f"{int(start[:2]) + 1:02}{start[2:]}",
        "staff": str(world.users["coordinator"].id),
    }
    return services.book(dbsession, place, {subject.id: subject}, form, SETUP).appointment


def run(registry) -> None:
    with transaction_scope(registry) as session:
        remind(JobContext(registry, session))


def test_reminders_once_a_day_ahead_again_when_moved_never_when_cancelled(
    world, dbsession, registry, mailbox
):
    soon = book(dbsession, world, "09:00")  # 23 hours ahead
    later = book(dbsession, world, "11:00")  # 25 hours ahead: not yet
    dbsession.flush()
    run(registry)
    (mail,) = mailbox.messages()
    assert mail["To"] == world.users["coordinator"].email
    assert mail["Subject"] == "Rappel de rendez-vous"
    # 09:00 in Paris is 03:00 in New York, the coordinator's zone
    assert "15 juin 2026 03:00 (America/New_York)" in mail.get_content()
    assert "par01-0001" in mail.get_content() and "Demo study" not in mail.get_content()
    run(registry)
    assert len(mailbox.messages()) == 1

    dbsession.refresh(soon)
    services.reschedule(
        dbsession,
        services.Place(
            world.study,
            world.sites["par01"],
            published_design(dbsession, world.study).definition.schedule,
        ),
        world.subjects["par01-0001"],
        soon,
        {
            "date": "2026-06-15",
            "start": "08:00",
            "end": "08:30",
            "staff": str(world.users["coordinator"].id),
        },
        SETUP,
    )
    services.change_status(dbsession, world.subjects["par01-0001"], later, "cancelled", SETUP)
    dbsession.flush()
    run(registry)
    assert len(mailbox.messages()) == 2
    assert "15 juin 2026 02:00" in mailbox.messages()[1].get_content()
