"""The calendars as site staff use them: booking from a site's calendar (field errors in a 422
fragment, double bookings refused on PostgreSQL and SQLite alike), the appointment shown in the
site's zone on the site's, the staff member's and the subject's calendars, its status changed;
other sites and tenants are not found."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import webtest
from sqlalchemy import select

from datacapt import clock
from datacapt.calendar import services
from datacapt.models import Appointment, AppointmentStatus, AuditEvent
from tests.factories import SETUP, build_world, login

SITE = "/acme/demo/sites/par01/"
CALENDAR = SITE + "@@calendar"
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def now(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 6, 10, 10, 0, tzinfo=UTC))


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    site = world.sites["par01"]
    site.timezone, site.country = "Europe/Paris", "FR"
    services.add_room(dbsession, site, "r1", "Room 1", SETUP)
    dbsession.flush()
    return world


def as_user(app, email: str) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, email).status_int == 303
    return client


@pytest.fixture
def coordinator(app, world):
    return as_user(app, world.users["coordinator"].email)


def booking_form(client, day="2026-06-15"):
    """The form as the calendar's Book link loads it into the page (htmx)."""
    calendar = client.get(CALENDAR, {"day": day})
    link = calendar.html.select_one(f'td[data-day="{day}"] a.book-link')
    fragment = client.get(link["hx-get"], headers=HTMX)
    assert "<html" not in fragment.text
    return fragment.forms["booking-form"]


def fill(form, world, **fields):
    form["subject"] = str(world.subjects["par01-0001"].id)
    form["visit"] = "screening"
    form["start"] = "14:05"
    form["end"] = "14:35"
    form["staff"] = str(world.users["coordinator"].id)
    form["room"] = form["room"].options[1][0]
    for name, value in fields.items():
        form[name] = value
    return form


def errors(page) -> dict[str, str]:
    return {
        p["id"].removeprefix("field-").removesuffix("-error"): " ".join(p.text.split())[2:]
        for p in page.html.select("p.field-error")
    }


def test_booking_from_the_calendar_shows_it_in_the_sites_zone(coordinator, world, dbsession):
    form = fill(booking_form(coordinator), world)
    answer = form.submit(headers=HTMX, status=204)
    assert answer.headers["HX-Redirect"].endswith("@@calendar?day=2026-06-15")
    appointment = dbsession.scalar(select(Appointment))
    assert appointment.starts_at == datetime(2026, 6, 15, 12, 5, tzinfo=UTC)
    page = coordinator.get(CALENDAR, {"day": "2026-06-15"})
    assert "The appointment was booked." in page.text
    cell = page.html.select_one('td[data-day="2026-06-15"]')
    text = " ".join(cell.text.split())
    assert "14:05–14:35 par01-0001 Screening (Booked)" in text
    assert "Room 1" in text and "15 Jun 2026 14:05" in text
    assert cell.select_one("time")["title"] == "Europe/Paris (UTC+02:00)"

    # the staff member's calendar, the subject's, and the month
    mine = coordinator.get(CALENDAR, {"day": "2026-06-15", "staff": world.users["coordinator"].id})
    assert mine.html.select("li.appointment")
    other = coordinator.get(
        CALENDAR, {"day": "2026-06-15", "staff": world.users["investigator"].id}
    )
    assert not other.html.select("li.appointment")
    subject = coordinator.get(
        "/acme/demo/subjects/par01-0001/@@appointments", {"view": "month", "day": "2026-06-01"}
    )
    assert len(subject.html.select("li.appointment")) == 1
    assert len(subject.html.select("table.calendar-month tbody tr")) == 5

    # confirmed, then cancelled: the slot is free again
    status_form = f"appointment-status-{appointment.id}"
    page.forms[status_form].submit("status", value="confirmed").follow()
    dbsession.refresh(appointment)
    assert appointment.status is AppointmentStatus.CONFIRMED
    coordinator.get(CALENDAR, {"day": "2026-06-15"}).forms[status_form].submit(
        "status", value="cancelled"
    ).follow()
    dbsession.refresh(appointment)
    assert appointment.status is AppointmentStatus.CANCELLED
    fill(booking_form(coordinator), world).submit(headers=HTMX, status=204)
    actions = dbsession.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_type == "appointment")
    ).all()
    assert sorted(actions) == [
        "appointment.booked",
        "appointment.booked",
        "appointment.status_changed",
        "appointment.status_changed",
    ]


def test_a_refused_booking_is_a_422_fragment_with_messages_beside_the_fields(coordinator, world):
    fill(booking_form(coordinator), world).submit(headers=HTMX, status=204)
    again = fill(booking_form(coordinator), world, start="14:30", end="15:00")
    refused = again.submit(headers=HTMX, status=422)
    assert "<html" not in refused.text
    assert errors(refused) == {
        "subject": "This subject already has an appointment at that time.",
        "staff": "This staff member already has an appointment at that time.",
        "room": "This room is already booked at that time.",
    }
    assert refused.forms["booking-form"]["start"].value == "14:30"

    bad = fill(booking_form(coordinator), world, start="", end="25:00", visit="")
    assert errors(bad.submit(headers=HTMX, status=422)) == {
        "visit": "Choose a visit of the schedule.",
        "start": "Enter a time, for example 14:05.",
        "end": "Enter a time, for example 14:05.",
    }
    holiday = fill(booking_form(coordinator, "2026-07-14"), world)
    assert errors(holiday.submit(headers=HTMX, status=422)) == {
        "date": "This day is a public holiday at the site: National Day."
    }


def test_other_sites_and_tenants_are_not_found(app, coordinator, world, dbsession):
    fill(booking_form(coordinator), world).submit(headers=HTMX, status=204)
    appointment = dbsession.scalar(select(Appointment))
    coordinator.get("/acme/demo/sites/ber01/@@calendar", status=404)
    coordinator.get("/acme/demo/sites/ber01/@@book", status=404)
    coordinator.get("/acme/demo/subjects/ber01-0001/@@appointments", status=404)
    foreign = as_user(app, world.users["foreign"].email)
    foreign.get(CALENDAR, status=404)
    lyon = "/globex/other/sites/lyo01/@@appointment-status"
    page = foreign.get("/globex/other/sites/lyo01/@@book")
    csrf = page.html.find("input", attrs={"name": "csrf_token"})["value"]
    foreign.post(
        lyon, {"csrf_token": csrf, "id": appointment.id, "status": "cancelled"}, status=404
    )
    dbsession.refresh(appointment)
    assert appointment.status is AppointmentStatus.BOOKED
    # a monitor reads the calendar but books nothing
    monitor = as_user(app, world.users["monitor"].email)
    page = monitor.get(CALENDAR, {"day": "2026-06-15"})
    assert page.html.select("li.appointment") and not page.html.select("a.book-link")
    monitor.get(SITE + "@@book", status=403)


def test_the_study_admin_keeps_rooms_hours_and_closures(app, world, coordinator, dbsession):
    admin = as_user(app, world.users["study_admin"].email)
    page = admin.get(SITE).click(linkid="calendar-settings")
    rooms = page.forms["room-form"]
    rooms["room_code"], rooms["room_name"] = "r1", "Another room"
    assert errors(rooms.submit(status=422)) == {
        "room_code": "This code is already used at this site."
    }
    rooms = admin.get(SITE + "@@calendar-settings").forms["room-form"]
    rooms["room_code"], rooms["room_name"] = "scan", "Scanner"
    saved = rooms.submit().follow()
    assert "The room was added." in saved.text and "Scanner" in saved.text

    hours = saved.forms["hours-form"]
    assert hours["hours_1_opens"].value == "08:00" and hours["hours_6_opens"].value == ""
    hours["hours_6_opens"], hours["hours_6_closes"] = "09:00", "08:00"
    hours["hours_7_opens"] = "9h"
    assert errors(hours.submit(status=422)) == {
        "hours_6_closes": "The closing time must be after the opening.",
        "hours_7_opens": "Enter a time, for example 14:05.",
        "hours_7_closes": "Enter a time, for example 14:05.",
    }
    hours = admin.get(SITE + "@@calendar-settings").forms["hours-form"]
    hours["hours_6_opens"], hours["hours_6_closes"] = "09:00", "12:00"
    hours.submit().follow()

    closure = admin.get(SITE + "@@calendar-settings").forms["closure-form"]
    closure["closure_from"], closure["closure_to"] = "2026-06-16", "2026-06-15"
    assert errors(closure.submit(status=422)) == {
        "closure_to": "The last day cannot be before the first.",
        "closure_reason": "This field is required.",
    }
    closure["closure_to"], closure["closure_reason"] = "", "Works"
    assert "2026-06-16: Works" in closure.submit().follow().text

    # the coordinator books on Saturday morning now, not on the closed Tuesday
    fill(booking_form(coordinator, "2026-06-13"), world, start="09:00", end="09:30").submit(
        headers=HTMX, status=204
    )
    refused = fill(booking_form(coordinator, "2026-06-16"), world).submit(headers=HTMX, status=422)
    assert errors(refused) == {"date": "The site is closed on this day: Works."}
    actions = dbsession.scalars(
        select(AuditEvent.action).where(AuditEvent.site_id == world.sites["par01"].id)
    ).all()
    assert {"room.created", "site.hours_changed", "site.closure_added"} <= set(actions)
    coordinator.get(SITE + "@@calendar-settings", status=403)


def test_the_calendar_reads_the_same_whatever_it_shows(
    coordinator, world, dbsession, query_counter
):
    """One query for the appointments with their subjects, staff and rooms: no query per
    appointment."""
    coordinator.get(CALENDAR, {"day": "2026-06-15"})

    def count() -> int:
        query_counter.clear()
        coordinator.get(CALENDAR, {"day": "2026-06-15", "view": "month"})
        return len(query_counter)

    fill(booking_form(coordinator), world).submit(headers=HTMX, status=204)
    one = count()
    for day in ("2026-06-16", "2026-06-17", "2026-06-18", "2026-06-19"):
        form = fill(booking_form(coordinator, day), world, staff="")
        form["room"] = ""
        form.submit(headers=HTMX, status=204)
    assert count() == one
    assert len(dbsession.scalars(select(Appointment)).all()) == 5


def test_moving_an_appointment_keeps_its_rules_and_raises_its_sequence(
    coordinator, world, dbsession
):
    fill(booking_form(coordinator), world).submit(headers=HTMX, status=204)
    fill(
        booking_form(coordinator),
        world,
        subject=str(world.subjects["par01-0001"].id),
        start="16:00",
        end="16:30",
        visit="baseline",
    ).submit(headers=HTMX, status=204)
    first, second = dbsession.scalars(select(Appointment).order_by(Appointment.id)).all()
    subject_page = coordinator.get(
        "/acme/demo/subjects/par01-0001/@@appointments", {"day": "2026-06-15"}
    )
    link = subject_page.html.select_one(f"#appointment-{first.id} a")
    form = coordinator.get(link["hx-get"], headers=HTMX).forms["reschedule-form"]
    assert (form["date"].value, form["start"].value, form["end"].value) == (
        "2026-06-15",
        "14:05",
        "14:35",
    )
    form["start"], form["end"] = "16:15", "16:45"
    refused = form.submit(headers=HTMX, status=422)
    assert errors(refused) == {
        "subject": "This subject already has an appointment at that time.",
        "staff": "This staff member already has an appointment at that time.",
        "room": "This room is already booked at that time.",
    }
    form = refused.forms["reschedule-form"]
    form["date"], form["start"], form["end"] = "2026-06-17", "10:00", "10:30"
    form.submit(headers=HTMX, status=204)
    dbsession.refresh(first)
    assert first.starts_at == datetime(2026, 6, 17, 8, 0, tzinfo=UTC)
    assert first.sequence == 1 and second.sequence == 0
    event = dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "appointment.rescheduled")
    )
    assert event.entity_id == str(first.id)
    coordinator.get("/acme/demo/sites/ber01/@@reschedule", {"id": first.id}, status=404)


def test_a_public_holiday_is_named_in_the_users_language(app, world, dbsession):
    world.users["coordinator"].locale = "fr"
    dbsession.flush()
    coordinator = as_user(app, world.users["coordinator"].email)
    refused = fill(booking_form(coordinator, "2026-07-14"), world).submit(headers=HTMX, status=422)
    assert errors(refused) == {"date": "Ce jour est férié au centre : Fête nationale."}
