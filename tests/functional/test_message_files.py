"""Files sent with messages: taken by the upload rules (kind read from the bytes, size bounded,
stored outside the web root), listed under their message and downloaded with the thread's
access, each receipt and download audited (the SHA-256, never the name); a refused file is a
422 beside its field with the message's text kept; staff of another site or tenant, and another
subject, do not find a file."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
import webtest
from sqlalchemy import select

from datacapt.accounts.services import grant_study_role
from datacapt.epro import services as epro
from datacapt.models import AuditEvent, Message, MessageAttachment, MessageThread
from datacapt.permissions import StudyRole
from datacapt.uploads.services import upload_settings
from tests.factories import SETUP, build_world, login, make_subject, make_user

MESSAGES = "/acme/demo/messages/"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)


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


@pytest.fixture(autouse=True)
def folder(registry, tmp_path):
    """A folder of this test's own (created by the first file stored in it)."""
    kept = upload_settings(registry)
    registry["uploads.settings"] = dataclasses.replace(kept, folder=tmp_path / "uploads")
    yield tmp_path / "uploads"
    registry["uploads.settings"] = kept


def blobs(folder):
    return {path for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()


def as_user(app, world, role) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, world.users[role].email).status_int == 303
    return client


def as_subject(app, dbsession, world, label="par01-0001") -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    handed = epro.hand_link(dbsession, world.subjects[label], SETUP)
    dbsession.flush()
    client.get(f"/p/@@start/{handed.token}").forms["start-form"].submit(status=303)
    return client


def start(client, name="ecg report.pdf", content=PDF, body="The ECG is attached.", **fields):
    form = client.get(MESSAGES).forms["thread-form"]
    form["site"], form["topic"], form["body"] = "par01", "Source documents", body
    for field, value in fields.items():
        form[field] = value
    form["attachment"] = webtest.Upload(name, content)
    return form.submit(status="*")


def audited(dbsession, action):
    return dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


def test_a_file_sent_with_a_message_is_listed_and_downloaded_by_the_site(
    app, world, dbsession, folder
):
    monitor = as_user(app, world, "monitor")
    assert start(monitor).status_int == 303
    thread = dbsession.scalar(select(MessageThread))
    attachment = dbsession.scalar(select(MessageAttachment))
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert attachment.file_name == "ecg report.pdf" and attachment.size == len(PDF)
    [stored] = blobs(folder)
    assert stored.read_bytes() == PDF and "ecg" not in stored.name
    [received] = audited(dbsession, "message.attachment_received")
    assert received.actor_id == world.users["monitor"].id
    assert json.loads(received.new_value) == {
        "message": attachment.message_id,
        "sha256": attachment.sha256,
    }

    coordinator = as_user(app, world, "coordinator")
    page = coordinator.get(f"{MESSAGES}{thread.id}/")
    link = page.html.find(id=f"attachment-{attachment.id}").find("a")
    assert link.text == "ecg report.pdf"
    response = coordinator.get(link["href"])
    assert response.body == PDF
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    [downloaded] = audited(dbsession, "message.attachment_downloaded")
    assert downloaded.actor_id == world.users["coordinator"].id
    assert "ecg" not in str(downloaded.new_value) and "ecg" not in str(received.new_value)


def test_another_site_another_tenant_and_another_thread_do_not_find_the_file(app, world, dbsession):
    start(as_user(app, world, "monitor"))
    thread = dbsession.scalar(select(MessageThread))
    attachment = dbsession.scalar(select(MessageAttachment))
    url = f"{MESSAGES}{thread.id}/@@attachment?id={attachment.id}"
    as_user(app, world, "coordinator_berlin").get(url, status=404)
    as_user(app, world, "foreign").get(url, status=404)
    berlin_thread = start(as_user(app, world, "monitor"), body="Another one.")
    assert berlin_thread.status_int == 303
    other = dbsession.scalars(select(MessageThread).order_by(MessageThread.id)).all()[-1]
    coordinator = as_user(app, world, "coordinator")
    coordinator.get(f"{MESSAGES}{other.id}/@@attachment?id={attachment.id}", status=404)
    coordinator.get(f"{MESSAGES}{thread.id}/@@attachment?id=x", status=404)
    assert not audited(dbsession, "message.attachment_downloaded")


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("report.pdf", b"MZ\x90\x00 not a pdf", "not what its name says"),
        ("tool.exe", b"MZ\x90\x00", "Files of this type are not taken."),
        ("empty.pdf", b"", "This file is empty."),
    ],
)
def test_a_refused_file_is_shown_beside_its_field_and_the_text_is_kept(
    app, world, dbsession, folder, name, content, said
):
    start(as_user(app, world, "monitor"))
    thread = dbsession.scalar(select(MessageThread))
    coordinator = as_user(app, world, "coordinator")
    form = coordinator.get(f"{MESSAGES}{thread.id}/").forms["reply-form"]
    form["body"] = "Here is the signed page."
    form["attachment"] = webtest.Upload(name, content)
    refused = form.submit(status=422)
    assert said in refused.html.find(id="field-attachment-error").text
    assert refused.html.find(id="field-body").text == "Here is the signed page."
    assert refused.html.find(id="field-attachment")["aria-invalid"] == "true"
    dbsession.expire_all()
    assert len(dbsession.scalars(select(Message)).all()) == 1
    assert len(blobs(folder)) == 1  # the first thread's file only


def test_a_refused_file_and_an_empty_topic_are_both_named(app, world, dbsession, folder):
    refused = start(as_user(app, world, "monitor"), name="tool.exe", content=b"MZ", topic="")
    assert refused.status_int == 422
    assert refused.html.find(id="field-topic-error") is not None
    assert refused.html.find(id="field-attachment-error") is not None
    assert refused.html.find(id="field-body").text == "The ECG is attached."
    assert dbsession.scalar(select(MessageThread)) is None and not blobs(folder)


def test_a_subject_sends_and_reads_files_of_their_own_thread_only(app, world, dbsession):
    coordinator = as_user(app, world, "coordinator")
    assert start(coordinator, subject="par01-0001").status_int == 303
    thread = dbsession.scalar(select(MessageThread))
    sent_by_site = dbsession.scalar(select(MessageAttachment))
    subject = as_subject(app, dbsession, world)
    page = subject.get(f"/p/s/messages/{thread.id}/")
    link = page.html.find(id=f"attachment-{sent_by_site.id}").find("a")
    assert subject.get(link["href"]).body == PDF
    form = page.forms["reply-form"]
    form["body"] = "My diary page."
    form["attachment"] = webtest.Upload("diary.png", PNG)
    form.submit(status=303)
    mine = dbsession.scalars(select(MessageAttachment).order_by(MessageAttachment.id)).all()[-1]
    received = audited(dbsession, "message.attachment_received")[-1]
    assert received.actor_id is None and received.entity_id == str(mine.id)
    shown = coordinator.get(f"{MESSAGES}{thread.id}/@@attachment?id={mine.id}&view=1")
    assert shown.body == PNG and shown.headers["Content-Disposition"].startswith("inline;")

    other = as_subject(app, dbsession, world, "par01-0002")
    other.get(f"/p/s/messages/{thread.id}/@@attachment?id={mine.id}", status=404)
    staff_only = start(coordinator, body="Between staff.")
    assert staff_only.status_int == 303
    staff_file = dbsession.scalars(select(MessageAttachment).order_by(MessageAttachment.id)).all()
    subject.get(
        f"/p/s/messages/{thread.id}/@@attachment?id={staff_file[-1].id}", status=404
    )  # a staff thread's file through the subject's own thread: not found
    staff_url = subject.get(f"{MESSAGES}{thread.id}/@@attachment?id={mine.id}", status=303)
    assert "/login" in staff_url.location  # the subject's session is no staff identity


def test_a_subject_s_refused_file_keeps_their_text(app, world, dbsession):
    start(as_user(app, world, "coordinator"), subject="par01-0001")
    thread = dbsession.scalar(select(MessageThread))
    form = as_subject(app, dbsession, world).get(f"/p/s/messages/{thread.id}/").forms["reply-form"]
    form["body"] = "My photo."
    form["attachment"] = webtest.Upload("photo.png", b"GIF89a not a png")
    refused = form.submit(status=422)
    assert refused.html.find(id="field-attachment-error") is not None
    assert refused.html.find(id="field-body").text == "My photo."


def test_a_thread_s_files_take_one_statement(app, world, dbsession, engine):
    from sqlalchemy import event

    monitor = as_user(app, world, "monitor")
    start(monitor)
    thread = dbsession.scalar(select(MessageThread))

    def statements(replies):
        for number in range(replies):
            form = monitor.get(f"{MESSAGES}{thread.id}/").forms["reply-form"]
            form["body"] = f"Page {number}"
            form["attachment"] = webtest.Upload(f"page{number}.pdf", PDF)
            form.submit(status=303)
        seen = []

        def record(conn, cursor, statement, *args):
            if "message_attachment" in statement:
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            monitor.get(f"{MESSAGES}{thread.id}/")
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(seen)

    assert statements(1) == statements(3) == 1
