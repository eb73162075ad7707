"""Messages between a site and a subject, where the study enables it: the site starts a thread
with one of its subjects, who reads and replies from their questionnaires (recorded as the
subject, not a user); unread counts on both sides; another subject's thread, another site's
staff and a study without the setting all get 404."""

from __future__ import annotations

import pytest
import webtest
from sqlalchemy import event, select

from datacapt.accounts.services import grant_study_role
from datacapt.epro import services as epro
from datacapt.models import AuditEvent, Message, MessageThread
from datacapt.permissions import StudyRole
from tests.factories import SETUP, build_world, login, make_subject, make_user

MESSAGES = "/acme/demo/messages/"


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    berlin = make_user(dbsession, registry, "coordinator-berlin@example.org")
    grant_study_role(dbsession, berlin, world.study, StudyRole.COORDINATOR, [world.sites["ber01"]])
    world.users["coordinator_berlin"] = berlin
    world.subjects["par01-0002"] = make_subject(dbsession, world.sites["par01"], "par01-0002")
    world.study.subject_messages = True
    dbsession.flush()
    return world


def as_user(app, world, role) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, world.users[role].email).status_int == 303
    return client


def as_subject(app, dbsession, world, label="par01-0001") -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    handed = epro.hand_link(dbsession, world.subjects[label], SETUP)
    dbsession.flush()
    page = client.get(f"/p/@@start/{handed.token}")
    page.forms["start-form"].submit(status=303)
    return client


def start(client, subject="par01-0001", body="Please bring your diary on Monday."):
    form = client.get(MESSAGES).forms["thread-form"]
    form["site"], form["subject"] = "par01", subject
    form["topic"], form["body"] = "Your next visit", body
    return form.submit(status="*")


def test_the_site_and_its_subject_write_to_each_other(app, world, dbsession):
    coordinator = as_user(app, world, "coordinator")
    assert start(coordinator).status_int == 303
    thread = dbsession.scalar(select(MessageThread))
    assert thread.subject_id == world.subjects["par01-0001"].id
    assert "with subject par01-0001" in coordinator.get(MESSAGES).text

    subject = as_subject(app, dbsession, world)
    home = subject.get("/p/s/")
    listing = home.click(href="/p/s/messages/")
    assert "1 unread" in listing.html.find(id=f"thread-{thread.id}").text
    page = subject.get(f"/p/s/messages/{thread.id}/")
    assert "Please bring your diary on Monday." in page.text
    assert "New" in page.html.find("li", class_="message").text
    assert "1 unread" not in subject.get("/p/s/messages/").text
    reply = page.forms["reply-form"]
    reply["body"] = "I will, thank you."
    reply.submit(status=303)
    written = dbsession.scalars(select(Message).order_by(Message.id)).all()[-1]
    assert written.author_id is None
    assert written.author_subject_id == world.subjects["par01-0001"].id
    audited = dbsession.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "message.posted", AuditEvent.entity_id == str(written.id)
        )
    )
    assert audited.actor_id is None and "thank you" not in str(audited.new_value)

    row = coordinator.get(MESSAGES).html.find(id=f"thread-{thread.id}")
    assert "1 unread" in row.text
    staff_page = coordinator.get(f"{MESSAGES}{thread.id}/")
    assert "I will, thank you." in staff_page.text
    assert "par01-0001" in staff_page.text


def test_a_subject_posts_nothing_empty(app, world, dbsession):
    start(as_user(app, world, "coordinator"))
    thread = dbsession.scalar(select(MessageThread))
    subject = as_subject(app, dbsession, world)
    reply = subject.get(f"/p/s/messages/{thread.id}/").forms["reply-form"]
    reply["body"] = "   "
    refused = reply.submit(status=422)
    assert refused.html.find(id="field-body-error") or "Write something here." in refused.text


def test_other_subjects_other_sites_and_disabled_studies_get_404(app, world, dbsession):
    start(as_user(app, world, "coordinator"))
    thread = dbsession.scalar(select(MessageThread))
    other = as_subject(app, dbsession, world, "par01-0002")
    other.get(f"/p/s/messages/{thread.id}/", status=404)
    assert f"thread-{thread.id}" not in other.get("/p/s/messages/").text
    berlin = as_user(app, world, "coordinator_berlin")
    berlin.get(f"{MESSAGES}{thread.id}/", status=404)
    assert f"thread-{thread.id}" not in berlin.get(MESSAGES).text

    world.study.subject_messages = False
    dbsession.flush()
    subject = as_subject(app, dbsession, world)
    subject.get("/p/s/messages/", status=404)
    subject.get(f"/p/s/messages/{thread.id}/", status=404)
    assert "/p/s/messages/" not in subject.get("/p/s/").text
    coordinator = as_user(app, world, "coordinator")
    assert "field-subject" not in coordinator.get(MESSAGES).text


def test_a_subject_of_another_site_is_refused_beside_the_field(app, world, dbsession):
    coordinator = as_user(app, world, "coordinator")
    refused = start(coordinator, subject="ber01-0001")
    assert refused.status_int == 422
    assert "No subject of this site has this ID." in refused.text
    assert dbsession.scalar(select(MessageThread)) is None


def test_the_subjects_unread_counts_take_one_statement(app, world, dbsession, engine):
    coordinator = as_user(app, world, "coordinator")
    subject = as_subject(app, dbsession, world)

    def statements(count):
        for number in range(count):
            start(coordinator, body=f"Message {number}")
        seen = []

        def record(conn, cursor, statement, *args):
            if "message" in statement:
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            subject.get("/p/s/messages/")
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(seen)

    assert statements(1) == statements(3)


def test_the_subject_page_leads_to_the_subject_s_threads_with_their_unread_count(
    app, world, dbsession
):
    coordinator = as_user(app, world, "coordinator")
    start(coordinator, subject="par01-0002", body="Another subject's thread.")  # read marks
    start(coordinator)  # of two threads, so each thread's own must be counted
    thread = dbsession.scalars(select(MessageThread).order_by(MessageThread.id)).all()[-1]
    subject = as_subject(app, dbsession, world)
    reply = subject.get(f"/p/s/messages/{thread.id}/").forms["reply-form"]
    reply["body"] = "I will."
    reply.submit(status=303)

    page = coordinator.get("/acme/demo/subjects/par01-0001/")
    placeholder = page.html.find(id="panel-messages")
    assert placeholder["hx-get"] == "/acme/demo/subjects/par01-0001/@@messages"
    panel = coordinator.get(placeholder["hx-get"], headers={"HX-Request": "true"})
    assert "1 thread" in panel.text and "1 unread" in panel.text
    listing = coordinator.get(panel.html.find(id="subject-messages-link")["href"])
    assert listing.html.find(id=f"thread-{thread.id}") is not None
    assert (
        "Another subject's thread." not in listing.text and len(listing.html.select("tr[id]")) == 1
    )
    assert listing.forms["thread-form"]["subject"].value == "par01-0001"
    coordinator.get(f"{MESSAGES}{thread.id}/")
    read = coordinator.get("/acme/demo/subjects/par01-0001/@@messages").text
    assert "1 thread" in read and "unread" not in read

    # a monitor (who messages at every site) sees it; a reader who does not message does not
    monitor = as_user(app, world, "monitor")
    assert "subject-messages-link" in monitor.get("/acme/demo/subjects/par01-0001/@@messages")
    viewer = as_user(app, world, "sponsor_viewer")
    hidden = viewer.get("/acme/demo/subjects/par01-0001/@@messages", status="*")
    assert "subject-messages-link" not in hidden.text
    world.study.subject_messages = False
    dbsession.flush()
    off = coordinator.get("/acme/demo/subjects/par01-0001/@@messages").text
    assert "subject-messages-link" not in off
