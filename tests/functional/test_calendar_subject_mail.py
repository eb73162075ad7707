"""Subjects' appointment mail: an invited subject is reminded a day ahead (once, again when
the appointment moves, never once it is cancelled, the subject has left, or they opted out),
naming the site and the time only; the opt-out link asks before it acts. eConsult appointments
carry the site's video link in their invitations and feeds, and refuse to be booked without
one."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import webtest
from icalendar import Calendar
from sqlalchemy import select

from datacapt import clock
from datacapt.calendar import services, video
from datacapt.calendar.jobs import remind
from datacapt.db import transaction_scope
from datacapt.ecrf.versions import published_design
from datacapt.jobs import JobContext
from datacapt.models import Appointment, AuditEvent, SubjectStatus
from datacapt.subjects import contacts
from tests.factories import SETUP, build_world, login

SITE = "/acme/demo/sites/par01/"
HTMX = {"HX-Request": "true"}
ADDRESS = "pat@example.org"
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
    subject = world.subjects["par01-0001"]
    contacts.seal(registry, subject, contacts.Contact(name="Pat Doe", email=ADDRESS), dbsession)
    dbsession.flush()
    return world


def client_of(app, email: str | None = None) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    if email is not None:
        assert login(client, email).status_int == 303
    return client


@pytest.fixture
def coordinator(app, world):
    return client_of(app, world.users["coordinator"].email)


def book(client, world, start="09:00", status=204, **fields):
    form = client.get(SITE + "@@book", {"date": "2026-06-15"}, headers=HTMX).forms["booking-form"]
    form["subject"], form["visit"] = str(world.subjects["par01-0001"].id), "screening"
    form["start"], form["end"] = start, f"{int(start[:2]) + 1:02}{start[2:]}"
    form["invite_subject"] = True
    for name, value in fields.items():
        form[name] = value
    return form.submit(headers=HTMX, status=status)


def run(registry) -> None:
    with transaction_scope(registry) as session:
        remind(JobContext(registry, session))


def reminders(mailbox) -> list:
    return [m for m in mailbox.messages() if m["Subject"] == "Appointment reminder"]


def text_of(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def opt_out_link(mail) -> str:
    return re.search(r"http://localhost(/appointment-mails/\S+)", text_of(mail))[1]


def place(dbsession, world) -> services.Place:
    schedule = published_design(dbsession, world.study).definition.schedule
    return services.Place(world.study, world.sites["par01"], schedule)


def test_an_invited_subject_is_reminded_once_again_when_moved_never_when_cancelled(
    coordinator, world, dbsession, registry, mailbox
):
    book(coordinator, world)
    run(registry)
    (mail,) = reminders(mailbox)
    assert mail["To"] == ADDRESS
    link = opt_out_link(mail)
    text = text_of(mail).replace(link, "")  # a random token could spell anything
    assert "15 Jun 2026 09:00 (Europe/Paris) at Paris" in text
    for private in ("Demo study", "demo", "par01-0001", "Pat", ADDRESS, "screening"):
        assert private not in text
    reasons = dbsession.scalars(
        select(AuditEvent.reason).where(AuditEvent.action == "subject.contact_used")
    ).all()
    assert reasons == ["appointment invitation", "appointment reminder"]
    run(registry)
    assert len(reminders(mailbox)) == 1

    appointment = dbsession.scalar(select(Appointment))
    subject = world.subjects["par01-0001"]
    form = {"date": "2026-06-15", "start": "08:00", "end": "08:30", "staff": ""}
    services.reschedule(dbsession, place(dbsession, world), subject, appointment, form, SETUP)
    dbsession.flush()
    run(registry)
    assert len(reminders(mailbox)) == 2
    assert "15 Jun 2026 08:00 (Europe/Paris)" in text_of(reminders(mailbox)[1])

    form = {"date": "2026-06-15", "start": "09:30", "end": "10:00", "staff": ""}
    services.reschedule(dbsession, place(dbsession, world), subject, appointment, form, SETUP)
    services.change_status(dbsession, subject, appointment, "cancelled", SETUP)
    dbsession.flush()
    run(registry)
    assert len(reminders(mailbox)) == 2


def test_no_reminder_a_day_early_or_for_a_subject_not_invited(
    coordinator, world, dbsession, registry, mailbox
):
    book(coordinator, world, start="11:00")  # 25 hours ahead
    book(coordinator, world, start="09:00", invite_subject=False)
    run(registry)
    assert reminders(mailbox) == []


@pytest.mark.parametrize("status", [SubjectStatus.WITHDRAWN, SubjectStatus.SCREEN_FAILURE])
def test_a_subject_who_left_is_not_reminded(
    coordinator, world, dbsession, registry, mailbox, status
):
    book(coordinator, world)
    world.subjects["par01-0001"].status = status
    dbsession.flush()
    run(registry)
    assert reminders(mailbox) == []


def test_the_opt_out_link_asks_then_stops_every_appointment_mail(
    app, coordinator, world, dbsession, registry, mailbox
):
    book(coordinator, world)
    (invitation,) = [m for m in mailbox.messages() if m["To"] == ADDRESS]
    link = opt_out_link(invitation)
    anonymous = client_of(app)
    page = anonymous.get(link)
    assert "Stop appointment e-mails" in page.text
    assert not contacts.is_contact_stopped(dbsession, world.subjects["par01-0001"].id)

    done = page.forms["opt-out-form"].submit()
    assert done.status_int == 200 and "no more appointment e-mails" in done.text
    assert contacts.is_contact_stopped(dbsession, world.subjects["par01-0001"].id)
    event = dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "subject.appointment_mail_opted_out")
    )
    assert event.subject_id == world.subjects["par01-0001"].id

    run(registry)
    assert reminders(mailbox) == []
    sent = len(mailbox.messages())
    book(coordinator, world, start="14:00")
    assert len(mailbox.messages()) == sent
    calendar = coordinator.get(SITE + "@@calendar", {"day": "2026-06-15"})
    assert "asked for no more appointment e-mails" in calendar.text


def test_a_bad_opt_out_token_is_the_same_404_either_way(app, world, dbsession):
    anonymous = client_of(app)
    shown = anonymous.get("/appointment-mails/not-a-token", status=404)
    posted = anonymous.post("/appointment-mails/not-a-token", status=404)
    assert shown.text == posted.text
    assert "Stop appointment e-mails" not in shown.text


def settings_form(client):
    return client.get(SITE + "@@calendar-settings").forms["video-form"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("http://meet.example.org/{uid}", "Enter an https address"),
        ("meet.example.org/{uid}", "Enter an https address"),
        ("https://meet.example.org/room", "The address must hold {uid}"),
    ],
)
def test_a_bad_video_link_is_refused_beside_its_field(app, world, raw, message):
    admin = client_of(app, world.users["study_admin"].email)
    form = settings_form(admin)
    form["video_link"] = raw
    page = form.submit(status=422)
    assert message in page.html.select_one("#field-video_link-error").text


def test_a_video_appointment_needs_a_provider_then_carries_its_link(
    app, coordinator, world, dbsession, mailbox
):
    refused = book(coordinator, world, status=422, video=True)
    assert "no video provider" in refused.html.select_one("#field-video-error").text

    admin = client_of(app, world.users["study_admin"].email)
    form = settings_form(admin)
    form["video_link"] = "https://meet.example.org/{uid}"
    form.submit(status=303)
    assert settings_form(admin)["video_link"].value == "https://meet.example.org/{uid}"

    book(coordinator, world, video=True, staff=str(world.users["coordinator"].id))
    appointment = dbsession.scalar(select(Appointment))
    assert appointment.video
    link = f"https://meet.example.org/{appointment.uid.split('@')[0]}"
    assert link == video.link(video.template_of(dbsession, world.sites["par01"].id), appointment)
    sent = mailbox.messages()
    assert sorted(m["To"] for m in sent) == sorted([ADDRESS, world.users["coordinator"].email])
    for mail in sent:
        assert link in text_of(mail)
        part = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
        event = Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
        assert str(event["url"]) == link

    calendar = coordinator.get(SITE + "@@calendar", {"day": "2026-06-15"})
    assert calendar.html.select_one(f"#appointment-{appointment.id} a.video")["href"] == link
    answer = calendar.forms["feed-form"].submit("scope", value="site", headers=HTMX)
    url = answer.html.select_one("#field-feed-url")["value"]
    feed = client_of(app).get(url.removeprefix("http://localhost")).body
    (event,) = Calendar.from_ical(feed).walk("VEVENT")
    assert str(event["url"]) == link and link in str(event["description"])


def test_the_reminder_is_in_the_studys_first_language(
    coordinator, world, dbsession, registry, mailbox
):
    book(coordinator, world)
    world.study.languages = ["fr", "en"]
    dbsession.flush()
    run(registry)
    (mail,) = [m for m in mailbox.messages() if m["Subject"] == "Rappel de rendez-vous"]
    assert "15 juin 2026 09:00 (Europe/Paris) à Paris" in text_of(mail)
    assert "Pour ne plus recevoir d'e-mails de rendez-vous" in text_of(mail)
