"""When the site writes in a subject's thread the subject is told by mail or text message (as
they prefer, in their language) with a fresh one-time link that leads to the thread, never the
message, the site or the subject; once until they read it; never when they left the study.
When the subject writes, the site's staff are told in the app and in their daily digest."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
import webtest
from sqlalchemy import select

from datacapt.db import transaction_scope
from datacapt.jobs import JOBS, JobContext
from datacapt.messages.services import NOTICE_JOB
from datacapt.models import (
    MessageThread,
    Notification,
    NotificationKind,
    OutboxJob,
    SubjectLink,
    SubjectStatus,
)
from datacapt.notifications.digest import DIGEST
from datacapt.notifications.services import Choice, set_choices
from datacapt.subjects import contacts
from tests.factories import build_world, login

MESSAGES = "/acme/demo/messages/"
TOKEN = re.compile(r"http://localhost/p/@@start/([A-Za-z0-9_-]{43})")
WORDS = ("Bring your diary", "Diary", "par01", "par01-0001", "Pat", "Doe", "demo", "Demo study")


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    world.study.subject_messages = True
    subject = world.subjects["par01-0001"]
    contacts.seal(
        registry, subject, contacts.Contact(name="Pat Doe", email="pat@example.org"), dbsession
    )
    dbsession.flush()
    return world


def as_user(app, world, role) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, world.users[role].email).status_int == 303
    return client


def start(client, body="Bring your diary on Monday."):
    form = client.get(MESSAGES).forms["thread-form"]
    form["site"], form["subject"], form["topic"], form["body"] = (
        "par01",
        "par01-0001",
        "Diary",
        body,
    )
    return form.submit(status=303)


def reply(client, thread, body):
    form = client.get(f"{MESSAGES}{thread.id}/").forms["reply-form"]
    form["body"] = body
    form.submit(status=303)


def notices(mailbox):
    return [m for m in mailbox.messages() if m["To"] == "pat@example.org"]


def test_the_subject_is_told_with_a_fresh_link_to_the_thread_and_nothing_else(
    app, world, dbsession, mailbox
):
    start(as_user(app, world, "coordinator"))
    thread = dbsession.scalar(select(MessageThread))
    job = dbsession.scalar(select(OutboxJob).where(OutboxJob.name == NOTICE_JOB))
    assert set(job.arguments) == {"message_id"}  # no token, no address waits in the outbox
    [mail] = notices(mailbox)
    assert mail["Subject"] == "A message from your study team"
    body = mail.get_content()
    for word in WORDS:  # the random token may hold any letters: it is left out of the search
        assert word not in TOKEN.sub("", body) and word not in mail["Subject"]
    token = TOKEN.search(body).group(1)
    link = dbsession.scalar(select(SubjectLink))
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.landing == f"messages/{thread.id}/" and link.subject_id == thread.subject_id

    subject = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    page = subject.get(f"/p/@@start/{token}")
    subject.get(f"/p/@@start/{token}")  # a mail scanner's fetch consumes nothing
    dbsession.expire_all()
    assert dbsession.get(SubjectLink, link.id).used_at is None
    landed = page.forms["start-form"].submit(status=303)
    assert landed.location == f"http://localhost/p/s/messages/{thread.id}/"
    assert token not in landed.location
    assert "Bring your diary on Monday." in landed.follow().text
    subject.reset()
    assert "start-form" not in subject.get(f"/p/@@start/{token}", status="*").text  # spent


def test_once_until_read_then_again(app, world, dbsession, mailbox):
    coordinator = as_user(app, world, "coordinator")
    start(coordinator)
    thread = dbsession.scalar(select(MessageThread))
    reply(coordinator, thread, "And your shoes.")
    assert len(notices(mailbox)) == 1  # the first notice waits unread
    token = TOKEN.search(notices(mailbox)[0].get_content()).group(1)
    subject = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    subject.get(f"/p/@@start/{token}").forms["start-form"].submit().follow()  # read now
    reply(coordinator, thread, "See you Monday.")
    assert len(notices(mailbox)) == 2
    assert len(dbsession.scalars(select(SubjectLink)).all()) == 2  # each notice its own link


def test_by_text_message_in_the_subject_s_language(app, world, dbsession, registry, sms_folder):
    contacts.seal(
        registry,
        world.subjects["par01-0001"],
        contacts.Contact(name="Pat Doe", phone="+33 6 12 34 56 78", channel="sms", language="fr"),
        dbsession,
    )
    dbsession.flush()
    start(as_user(app, world, "coordinator"))
    [path] = sms_folder.glob("*.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["to"] == "+33 6 12 34 56 78"
    assert "équipe" in record["body"] and TOKEN.search(record["body"])
    for word in WORDS:
        assert word not in TOKEN.sub("", record["body"])


@pytest.mark.parametrize("status", [SubjectStatus.WITHDRAWN, SubjectStatus.SCREEN_FAILURE])
def test_a_subject_who_left_is_sent_nothing(app, world, dbsession, mailbox, sms_folder, status):
    world.subjects["par01-0001"].status = status
    dbsession.flush()
    start(as_user(app, world, "coordinator"))
    assert notices(mailbox) == [] and not list(sms_folder.glob("*"))
    assert dbsession.scalar(select(SubjectLink)) is None


def test_the_worker_job_re_checks_before_sending(world, dbsession, registry, mailbox, app):
    start(as_user(app, world, "coordinator"))
    thread = dbsession.scalar(select(MessageThread))
    message_id = dbsession.scalar(select(OutboxJob).where(OutboxJob.name == NOTICE_JOB)).arguments[
        "message_id"
    ]
    thread.subject_read_id = message_id  # the subject has read it meanwhile
    dbsession.flush()
    with transaction_scope(registry) as session:
        JOBS[NOTICE_JOB](JobContext(registry, session), message_id=message_id)
    assert len(notices(mailbox)) == 1  # only the first, sent after the request's commit


def told(dbsession, world, role):
    dbsession.expire_all()
    return dbsession.scalars(
        select(Notification).where(
            Notification.user_id == world.users[role].id,
            Notification.kind == NotificationKind.MESSAGE_POSTED,
        )
    ).all()


def test_the_site_s_staff_are_told_when_the_subject_writes(
    app, world, dbsession, registry, mailbox
):
    set_choices(
        dbsession,
        world.users["coordinator"].id,
        [Choice(NotificationKind.MESSAGE_POSTED, True, True)],  # in the app and by mail
    )
    dbsession.flush()
    coordinator = as_user(app, world, "coordinator")
    start(coordinator)
    thread = dbsession.scalar(select(MessageThread))
    assert not told(dbsession, world, "coordinator")  # one's own message
    token = TOKEN.search(notices(mailbox)[0].get_content()).group(1)
    subject = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    page = subject.get(f"/p/@@start/{token}").forms["start-form"].submit().follow()
    form = page.forms["reply-form"]
    form["body"] = "I will bring it."
    form.submit(status=303)
    assert len(notices(mailbox)) == 1  # the subject is not told of their own message
    [notification] = told(dbsession, world, "coordinator")
    assert notification.path == f"/acme/demo/messages/{thread.id}/"
    assert "bring" not in json.dumps(notification.parameters)
    assert told(dbsession, world, "investigator") and told(dbsession, world, "monitor")
    assert "New message in a thread at par01" in coordinator.get("/notifications")
    with transaction_scope(registry) as session:
        JOBS[DIGEST](JobContext(registry, session))
    [digest] = [m for m in mailbox.messages() if m["To"] == world.users["coordinator"].email]
    content = digest.get_content()
    assert "- Messages at your sites: 1" in content
    assert "bring" not in content and "par01-0001" not in content
