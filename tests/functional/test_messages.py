"""Staff messages as the monitor and a site's team use them: a thread at a site, replies, unread
counts, every message audited without its text, never changed nor deleted; someone restricted
to another site neither lists nor opens it; bad input is shown beside its field."""

from __future__ import annotations

import pytest
import webtest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from datacapt.accounts.services import grant_study_role
from datacapt.models import AuditEvent, Message, MessageThread, Notification, NotificationKind
from datacapt.permissions import StudyRole
from tests.factories import build_world, login, make_user

MESSAGES = "/acme/demo/messages/"


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    berlin = make_user(dbsession, registry, "coordinator-berlin@example.org")
    grant_study_role(dbsession, berlin, world.study, StudyRole.COORDINATOR, [world.sites["ber01"]])
    world.users["coordinator_berlin"] = berlin
    dbsession.flush()
    return world


def as_user(app, world, role) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, world.users[role].email).status_int == 303
    return client


def start(client, site="par01", topic="Missing source documents", body="Visit 2 ECG missing."):
    form = client.get(MESSAGES).forms["thread-form"]
    form["site"].force_value(site)  # as a forged request would, for a site not offered
    form["topic"], form["body"] = topic, body
    return form.submit(status="*")


def unread_cell(client, thread_id) -> str:
    row = client.get(MESSAGES).html.find(id=f"thread-{thread_id}")
    return " ".join(row.find_all("td")[-1].text.split())


def test_a_monitor_and_the_site_write_to_each_other(app, world, dbsession):
    monitor = as_user(app, world, "monitor")
    thread_page = start(monitor).follow()
    assert "Visit 2 ECG missing." in thread_page.text
    thread = dbsession.scalar(select(MessageThread))
    coordinator = as_user(app, world, "coordinator")
    assert "Messages" in coordinator.get("/acme/demo/").text
    assert unread_cell(coordinator, thread.id) == "1 unread"
    assert unread_cell(monitor, thread.id) == ""  # one's own message is read
    page = coordinator.get(f"{MESSAGES}{thread.id}/")
    assert "New" in page.html.find("li", class_="message").text
    assert unread_cell(coordinator, thread.id) == ""  # read now
    reply = page.forms["reply-form"]
    reply["body"] = "Filed this morning."
    reply.submit().follow()
    assert unread_cell(monitor, thread.id) == "1 unread"
    events = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "message.posted").order_by(AuditEvent.id)
    ).all()
    authors = [world.users["monitor"].id, world.users["coordinator"].id]
    assert [e.actor_id for e in events] == authors
    assert all("ECG" not in str(e.new_value) and "Filed" not in str(e.new_value) for e in events)


def told(dbsession, world, role):
    dbsession.expire_all()
    return dbsession.scalars(
        select(Notification).where(
            Notification.user_id == world.users[role].id,
            Notification.kind == NotificationKind.MESSAGE_POSTED,
        )
    ).all()


def test_the_site_is_notified_of_a_message_never_of_its_words(app, world, dbsession):
    monitor = as_user(app, world, "monitor")
    start(monitor)
    thread = dbsession.scalar(select(MessageThread))
    [notification] = told(dbsession, world, "coordinator")
    assert notification.parameters == {"study": "demo", "site": "par01"}
    assert notification.path == f"/acme/demo/messages/{thread.id}/"
    assert not told(dbsession, world, "coordinator_berlin")
    assert not told(dbsession, world, "monitor")  # the author
    coordinator = as_user(app, world, "coordinator")
    assert "New message in a thread at par01" in coordinator.get("/notifications")
    reply = monitor.get(f"{MESSAGES}{thread.id}/").forms["reply-form"]
    reply["body"] = "Also the lab report."
    reply.submit()
    assert len(told(dbsession, world, "coordinator")) == 1  # not told again until read


def test_another_site_neither_lists_nor_opens_a_thread(app, world, dbsession):
    start(as_user(app, world, "monitor"))
    thread = dbsession.scalar(select(MessageThread))
    berlin = as_user(app, world, "coordinator_berlin")
    assert "Missing source documents" not in berlin.get(MESSAGES).text
    berlin.get(f"{MESSAGES}{thread.id}/", status=404)  # another site: not found
    # nor starts one at a site not theirs
    refused = start(berlin, site="par01")
    assert refused.status_int == 422 and "Choose one of your sites." in refused.text
    # another tenant's coordinator does not find the study at all
    as_user(app, world, "foreign").get(f"{MESSAGES}{thread.id}/", status=404)
    # roles that do not message: refused
    as_user(app, world, "sponsor_viewer").get(MESSAGES, status=403)


def test_empty_or_long_input_is_shown_beside_its_field(app, world, dbsession):
    monitor = as_user(app, world, "monitor")
    refused = start(monitor, topic="", body="x" * 4001)
    assert refused.status_int == 422
    assert refused.html.find(id="field-topic-error") is not None
    assert "this has 4001" in refused.html.find(id="field-body-error").text
    assert dbsession.scalar(select(MessageThread)) is None


def test_the_database_keeps_every_message(app, world, dbsession):
    start(as_user(app, world, "monitor"))
    for statement in (
        update(Message).values(body="rewritten"),
        delete(Message),
        delete(MessageThread),
    ):
        with pytest.raises(DBAPIError), dbsession.begin_nested():
            dbsession.execute(statement)
    assert dbsession.scalar(select(Message.body)) == "Visit 2 ECG missing."
