"""iCalendar feeds and invitations, read back with the ``icalendar`` library: the instants are
those zoneinfo gives for the site's wall-clock times, across both changes of clock in Paris
(29 Mar 2026 02:30 does not exist and is refused; 25 Oct 2026 02:30 happens twice and is the
first); feeds name subjects by their ID only, and a reset address stops working; invitations
keep their UID and raise their SEQUENCE. A second parser, ical.js under Node, reads the feed to
the same instants."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import webtest
from icalendar import Calendar
from sqlalchemy import select

from datacapt import clock
from datacapt.calendar import feeds, services
from datacapt.ecrf.versions import published_design
from datacapt.models import Appointment, AuditEvent
from datacapt.subjects import contacts
from tests.factories import SETUP, build_world, login

SITE = "/acme/demo/sites/par01/"
ICALJS = Path(__file__).parent.parent / "data" / "icaljs"
PARIS = ZoneInfo("Europe/Paris")
HTMX = {"HX-Request": "true"}
#: Wall-clock times in Paris on both sides of each change of clock.
TIMES = [
    ("2026-03-28", "10:00"),  # CET, UTC+1
    ("2026-03-29", "01:30"),  # the last half hour of winter time
    ("2026-03-29", "03:30"),  # CEST, UTC+2, just after the gap
    ("2026-10-25", "01:30"),  # still summer time
    ("2026-10-25", "02:30"),  # happens twice: the first, UTC+2
    ("2026-10-25", "03:30"),  # CET again
]


@pytest.fixture(autouse=True)
def now(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    site = world.sites["par01"]
    site.timezone, site.country = "Europe/Paris", "FR"
    services.set_hours(
        site=site,
        dbsession=dbsession,
        actor=SETUP,
        hours={str(day): ["00:00", "23:59"] for day in range(1, 8)},
    )
    dbsession.flush()
    return world


@pytest.fixture
def coordinator(app, world):
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, world.users["coordinator"].email).status_int == 303
    return client


def book(client, world, day: str, start: str, end: str, status: int = 204):
    form = client.get(SITE + "@@book", {"date": day}, headers=HTMX).forms["booking-form"]
    form["subject"] = str(world.subjects["par01-0001"].id)
    form["visit"] = "screening"
    form["start"], form["end"] = start, end
    form["staff"] = str(world.users["coordinator"].id)
    return form.submit(headers=HTMX, status=status)


def new_address(client, scope: str) -> str:
    calendar = client.get(SITE + "@@calendar")
    answer = calendar.forms["feed-form"].submit("scope", value=scope, headers=HTMX)
    return answer.html.select_one("#field-feed-url")["value"]


def feed_text(app, url: str) -> bytes:
    """The feed as a calendar program reads it: no session, the address is the key."""
    anonymous = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    answer = anonymous.get(url.removeprefix("http://localhost"))
    assert answer.content_type == "text/calendar"
    return answer.body


def events(app, url: str) -> list:
    return Calendar.from_ical(feed_text(app, url)).walk("VEVENT")


def read_with_icaljs(text: bytes) -> list[dict]:
    """The events as ical.js (Node) reads them: UID, start and end in seconds since the epoch."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("Node is missing: `apt-get install nodejs` (make test does it)")
    done = subprocess.run(
        [node, str(ICALJS / "read_ics.cjs")],
        input=text,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


def test_feed_instants_match_zoneinfo_across_the_changes_of_clock(app, coordinator, world):
    for day, start in TIMES:
        end = f"{start[:3]}{int(start[3:]) + 10}"
        book(coordinator, world, day, start, end)
    text = feed_text(app, new_address(coordinator, "site"))
    read = Calendar.from_ical(text).walk("VEVENT")
    expected = [
        datetime.fromisoformat(f"{day}T{start}").replace(tzinfo=PARIS).astimezone(UTC)
        for day, start in TIMES
    ]
    assert [e.decoded("dtstart") for e in read] == expected
    assert expected[4] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # the second parser reads the same instants and UIDs
    second = read_with_icaljs(text)
    assert [datetime.fromtimestamp(e["start"], UTC) for e in second] == expected
    assert [e["uid"] for e in second] == [str(e["uid"]) for e in read]
    assert [e["end"] - e["start"] for e in second] == [600] * len(TIMES)
    assert all(e.decoded("dtstart").tzinfo is not None for e in read)
    assert [e.decoded("dtend") - e.decoded("dtstart") for e in read] == [
        e.decoded("dtend") - e.decoded("dtstart") for e in read[:1]
    ] * len(TIMES)


def test_a_time_the_clocks_skip_is_refused_in_the_form(coordinator, world):
    refused = book(coordinator, world, "2026-03-29", "02:30", "02:45", status=422)
    message = refused.html.select_one("#field-start-error").text
    assert "02:30 does not exist on 2026-03-29 in Europe/Paris" in message


def test_feeds_are_pseudonymous_per_site_or_staff_member_and_resettable(
    app, coordinator, world, dbsession
):
    book(coordinator, world, "2026-03-10", "09:00", "09:30")
    services.book(
        dbsession,
        services.Place(
            world.study,
            world.sites["par01"],
            published_design(dbsession, world.study).definition.schedule,
        ),
        {world.subjects["par01-0001"].id: world.subjects["par01-0001"]},
        {
            "subject": str(world.subjects["par01-0001"].id),
            "visit": "baseline",
            "date": "2026-03-11",
            "start": "09:00",
            "end": "09:30",
            "staff": str(world.users["investigator"].id),
        },
        SETUP,
    )
    site_url = new_address(coordinator, "site")
    mine_url = new_address(coordinator, "mine")
    site_events = events(app, site_url)
    assert [str(e["summary"]) for e in site_events] == [
        "par01-0001 · Screening",
        "par01-0001 · Baseline",
    ]
    assert [str(e["summary"]) for e in events(app, mine_url)] == ["par01-0001 · Screening"]
    anonymous = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    text = anonymous.get(site_url.removeprefix("http://localhost")).text
    assert "Demo study" not in text and "demo" not in text.lower().replace("datacapt", "")
    assert str(site_events[0]["location"]) == "Paris"

    renewed = new_address(coordinator, "site")
    anonymous.get(site_url.removeprefix("http://localhost"), status=404)
    assert len(events(app, renewed)) == 2
    anonymous.get("/calendar-feeds/not-a-token.ics", status=404)
    assert feeds.feed_of(dbsession, renewed.rsplit("/", 1)[1].removesuffix(".ics")) is not None


def test_invitations_keep_their_uid_and_raise_their_sequence(
    coordinator, world, dbsession, mailbox
):
    book(coordinator, world, "2026-03-10", "09:00", "09:30")
    appointment = dbsession.scalar(select(Appointment))
    page = coordinator.get(SITE + "@@calendar", {"day": "2026-03-10"})
    page.forms[f"appointment-status-{appointment.id}"].submit("status", value="cancelled")
    sent = mailbox.messages()
    assert [m["To"] for m in sent] == [world.users["coordinator"].email] * 2
    invitations = []
    for message in sent:
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        invitations.append(Calendar.from_ical(part.get_payload(decode=True)))
    assert [str(c["method"]) for c in invitations] == ["REQUEST", "CANCEL"]
    request, cancel = (c.walk("VEVENT")[0] for c in invitations)
    assert str(request["uid"]) == str(cancel["uid"]) == appointment.uid
    assert (request["sequence"], cancel["sequence"]) == (0, 1)
    assert str(cancel["status"]) == "CANCELLED"
    assert "Demo study" not in sent[0].as_string()
    assert request.decoded("dtstart") == datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def test_an_invited_subject_gets_the_site_and_the_time_only(
    coordinator, world, dbsession, registry, mailbox
):
    subject = world.subjects["par01-0001"]
    contacts.seal(registry, subject, contacts.Contact(email="pat@example.org"), dbsession)
    dbsession.flush()
    form = coordinator.get(SITE + "@@book", {"date": "2026-03-10"}, headers=HTMX).forms[
        "booking-form"
    ]
    form["subject"], form["visit"] = str(subject.id), "screening"
    form["start"], form["end"] = "09:00", "09:30"
    form["invite_subject"] = True
    form.submit(headers=HTMX, status=204)
    appointment = dbsession.scalar(select(Appointment))
    assert appointment.subject_invited
    (mail,) = mailbox.messages()
    assert mail["To"] == "pat@example.org"
    text = mail.as_string()
    assert "Demo study" not in text and "demo" not in mail.get_body(("plain",)).get_content()
    assert "10 Mar 2026 09:00 (Europe/Paris) at Paris" in mail.get_body(("plain",)).get_content()
    part = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    assert str(event["uid"]) == appointment.uid and "attendee" not in event
    used = dbsession.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_type == "subject_contact")
    ).all()
    assert used == ["subject.contact_used"]

    page = coordinator.get(SITE + "@@calendar", {"day": "2026-03-10"})
    page.forms[f"appointment-status-{appointment.id}"].submit("status", value="cancelled")
    cancelled = mailbox.messages()[1]
    assert cancelled["To"] == "pat@example.org"
    assert "is cancelled" in cancelled.get_body(("plain",)).get_content()


def test_a_subject_without_an_email_is_not_invited(coordinator, world, dbsession, mailbox):
    form = coordinator.get(SITE + "@@book", {"date": "2026-03-10"}, headers=HTMX).forms[
        "booking-form"
    ]
    form["subject"], form["visit"] = str(world.subjects["par01-0001"].id), "screening"
    form["start"], form["end"] = "09:00", "09:30"
    form["invite_subject"] = True
    form.submit(headers=HTMX, status=204)
    page = coordinator.get(SITE + "@@calendar", {"day": "2026-03-10"})
    assert "no invitation was sent to them" in page.text
    assert not dbsession.scalar(select(Appointment)).subject_invited
    assert mailbox.messages() == []
