"""Booking rules, the same on PostgreSQL (exclusion constraints) and SQLite (checks in the
service): nobody is booked twice at once, cancelled appointments hold nothing, the site must be
open (hours, closures, public holidays), local times that a change of clock skips are refused,
and a day outside the visit's window warns or is refused as the study says. Two bookings of
the same slot racing each other: one wins, the other is told why."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from datacapt.calendar import services
from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.ecrf import versions
from datacapt.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Room,
    Site,
    Study,
    Subject,
    SubjectStatus,
    User,
)
from datacapt.validation import ValidationError, errors_of
from tests.conftest import app_settings, create_database, migrate
from tests.factories import SETUP, build_world, make_subject
from tests.functional.test_concurrency import drop_database

MONDAY = "2026-06-15"


def prepare(dbsession, world):
    """par01 in Paris (France), a second subject there, two rooms."""
    site = world.sites["par01"]
    site.timezone, site.country = "Europe/Paris", "FR"
    make_subject(dbsession, site, "par01-0002")
    services.add_room(dbsession, site, "r1", "Room 1", SETUP)
    services.add_room(dbsession, site, "r2", "Room 2", SETUP)
    dbsession.flush()


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    prepare(dbsession, world)
    return world


def place(dbsession, study_id: int, code: str = "par01") -> services.Place:
    study = dbsession.get(Study, study_id)
    site = dbsession.scalar(select(Site).where(Site.study_id == study_id, Site.code == code))
    design = versions.published_design(dbsession, study)
    return services.Place(study, site, design.definition.schedule)


def ids(dbsession, study_id: int) -> dict[str, int]:
    """The ids a booking form names, by a short name."""
    found = {
        f"s{int(s.label[-4:])}": s.id
        for s in dbsession.scalars(select(Subject).where(Subject.study_id == study_id))
        if s.label.startswith("par01")
    }
    found |= {
        u.email.split("@")[0]: u.id
        for u in dbsession.scalars(select(User).where(User.email.like("%@example.org")))
    }
    return found | {r.code: r.id for r in dbsession.scalars(select(Room))}


def book(dbsession, world, **fields):
    study_id = world if isinstance(world, int) else world.study.id
    known = ids(dbsession, study_id)
    form = {
        "subject": str(known["s1"]),
        "visit": "screening",
        "date": MONDAY,
        "start": "09:00",
        "end": "10:00",
        "staff": str(known["coordinator"]),
        "room": str(known["r1"]),
        "status": "booked",
    }
    form.update({k: str(known.get(v, v)) for k, v in fields.items()})
    where = place(dbsession, study_id)
    allowed = {
        s.id: s for s in dbsession.scalars(select(Subject).where(Subject.site_id == where.site.id))
    }
    return services.book(dbsession, where, allowed, form, SETUP)


def refusal(dbsession, world, **fields) -> dict[str, str]:
    with pytest.raises(ValidationError) as refused:
        book(dbsession, world, **fields)
    return {field: message.interpolate() for field, message in errors_of(refused.value).items()}


def test_a_booking_stores_utc_and_is_audited(dbsession, world):
    booked = book(dbsession, world)
    appointment = booked.appointment
    assert appointment.starts_at == datetime(2026, 6, 15, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert appointment.ends_at == datetime(2026, 6, 15, 8, 0, tzinfo=UTC)
    assert appointment.status is AppointmentStatus.BOOKED
    assert booked.outside is None
    event = dbsession.scalar(select(AuditEvent).where(AuditEvent.action == "appointment.booked"))
    assert event.entity_id == str(appointment.id)
    assert event.subject_id == world.subjects["par01-0001"].id


@pytest.mark.parametrize(
    ("second", "field", "message"),
    [
        (
            {"room": "r2", "staff": "investigator", "start": "09:30", "end": "10:30"},
            "subject",
            "This subject already has an appointment at that time.",
        ),
        (
            {"subject": "s2", "room": "r2", "start": "08:30", "end": "09:01"},
            "staff",
            "This staff member already has an appointment at that time.",
        ),
        (
            {"subject": "s2", "staff": "investigator", "start": "09:59", "end": "11:00"},
            "room",
            "This room is already booked at that time.",
        ),
    ],
)
def test_a_double_booking_is_refused_on_its_field(dbsession, world, second, field, message):
    book(dbsession, world)
    assert refusal(dbsession, world, **second) == {field: message}
    assert len(dbsession.scalars(select(Appointment)).all()) == 1


def test_back_to_back_and_cancelled_appointments_do_not_conflict(dbsession, world):
    first = book(dbsession, world).appointment
    book(dbsession, world, start="10:00", end="11:00")  # touching, not overlapping
    services.change_status(dbsession, world.subjects["par01-0001"], first, "cancelled", SETUP)
    assert first.sequence == 1
    again = book(dbsession, world, start="09:00", end="09:30").appointment
    assert again.status is AppointmentStatus.BOOKED
    with pytest.raises(ValidationError):
        services.change_status(dbsession, world.subjects["par01-0001"], first, "booked", SETUP)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"date": "2026-06-13"}, {"date": "The site is closed on this day of the week."}),
        (
            {"date": "2026-07-14"},
            {"date": "This day is a public holiday at the site: National Day."},
        ),
        ({"start": "07:30"}, {"start": "The site is open from 08:00 to 18:00 on this day."}),
        ({"end": "18:30"}, {"start": "The site is open from 08:00 to 18:00 on this day."}),
        ({"end": "08:00"}, {"end": "The end must be after the start."}),
        (
            {"start": "9h", "date": "15/06/2026"},
            {
                "date": "Enter a date, for example 2026-01-31.",
                "start": "Enter a time, for example 14:05.",
            },
        ),
        (
            {"subject": "999999", "room": "999999"},
            {
                "subject": "Choose a subject of this site.",
                "room": "Choose a room of this site.",
            },
        ),
        ({"staff": "999999"}, {"staff": "Choose a staff member of this site."}),
        ({"visit": "nope"}, {"visit": "Choose a visit of the schedule."}),
    ],
)
def test_bad_bookings_are_refused_with_clear_messages(dbsession, world, fields, expected):
    assert refusal(dbsession, world, **fields) == expected


def test_closures_are_refused_with_their_reason(dbsession, world):
    services.add_closure(
        dbsession, world.sites["par01"], date(2026, 6, 15), date(2026, 6, 16), "Works", SETUP
    )
    assert refusal(dbsession, world) == {"date": "The site is closed on this day: Works."}
    assert book(dbsession, world, date="2026-06-17").appointment.id


def test_opening_hours_are_the_sites(dbsession, world):
    services.set_hours(dbsession, world.sites["par01"], {"6": ["09:00", "12:00"]}, SETUP)
    assert book(dbsession, world, date="2026-06-13").appointment.id  # a Saturday now
    assert refusal(dbsession, world) == {"date": "The site is closed on this day of the week."}


def test_a_local_time_the_clocks_skip_is_refused(dbsession, world):
    services.set_hours(dbsession, world.sites["par01"], {"7": ["00:00", "23:59"]}, SETUP)
    assert refusal(dbsession, world, date="2026-03-29", start="02:30", end="03:30") == {
        "start": "02:30 does not exist on 2026-03-29 in Europe/Paris: the clocks go forward "
        "at that hour. Choose another time."
    }
    # 02:30 happens twice on 25 October: the first time, still summer time (UTC+2)
    booked = book(dbsession, world, date="2026-10-25", start="02:30", end="02:45")
    assert booked.appointment.starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert booked.appointment.ends_at == datetime(2026, 10, 25, 0, 45, tzinfo=UTC)


def test_a_day_outside_the_visits_window_warns_or_is_refused(dbsession, world):
    subject = world.subjects["par01-0001"]
    subject.status, subject.included_on = SubjectStatus.INCLUDED, date(2026, 5, 1)
    # screening: day -14, window -7/+0 → 2026-04-10 to 2026-04-17
    assert book(dbsession, world, date="2026-04-13").outside is None
    warned = book(dbsession, world, date="2026-04-20")
    assert warned.outside is not None and warned.outside.latest == date(2026, 4, 17)
    world.study.visit_window_blocking = True
    assert refusal(dbsession, world, date="2026-04-21") == {
        "date": "This day is outside the visit's window, from 2026-04-10 to 2026-04-17."
    }


def test_two_bookings_of_one_slot_racing_one_wins(tmp_path):
    """Each booking in its own committed transaction; the first holds its transaction open
    while the second tries, so the second meets it (PostgreSQL: the constraint waits for the
    first to commit; SQLite: the write lock)."""
    url = create_database("calendar_race", tmp_path)
    migrate(url)
    app = configure(app_settings(url)).make_wsgi_app()
    try:
        with transaction_scope(app.registry) as dbsession:
            world = build_world(dbsession, app.registry)
            prepare(dbsession, world)
            study_id = world.study.id
        outcomes: list[object] = []
        first_flushed = threading.Event()

        def attempt(first: bool) -> None:
            """The same subject, with another staff member in another room."""
            other = {} if first else {"staff": "investigator", "room": "r2"}
            with transaction_scope(app.registry) as dbsession:
                try:
                    booked = book(dbsession, study_id, **other)
                except ValidationError as error:
                    outcomes.append({k: v.interpolate() for k, v in errors_of(error).items()})
                    return
                outcomes.append(booked.appointment.id)
                if first:
                    first_flushed.set()
                    time.sleep(0.5)  # the second booking now waits for this transaction

        winner = threading.Thread(target=attempt, args=(True,))
        winner.start()
        assert first_flushed.wait(timeout=60)
        loser = threading.Thread(target=attempt, args=(False,))
        loser.start()
        winner.join(timeout=120)
        loser.join(timeout=120)
        assert isinstance(outcomes[0], int)
        assert outcomes[1] == {"subject": "This subject already has an appointment at that time."}
        with transaction_scope(app.registry) as dbsession:
            assert len(dbsession.scalars(select(Appointment)).all()) == 1
    finally:
        app.registry["db.engine"].dispose()
        drop_database(url)
