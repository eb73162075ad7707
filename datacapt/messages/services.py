"""The rules of staff messages: who may read and write at which site, starting a thread,
posting to it, the unread counts, and how far each person has read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

from pyramid.i18n import TranslationString
from pyramid.registry import Registry
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.i18n import _
from datacapt.jobs import enqueue_after_commit
from datacapt.messages.events import MessagePosted
from datacapt.models import (
    Message,
    MessageAttachment,
    MessageRead,
    MessageThread,
    Site,
    Study,
    Subject,
    User,
)
from datacapt.pagination import Page, paginate
from datacapt.permissions import STUDY_ROLE_PERMISSIONS, Permission
from datacapt.reactions import publish
from datacapt.security import Identity
from datacapt.uploads import services as uploads
from datacapt.validation import whole_number

MAX_TOPIC = 200
MAX_BODY = 4000
PAGE_SIZE = 50
#: The form field of a message's file.
ATTACHMENT = "attachment"
#: The job telling a subject that their site wrote to them (:mod:`.notices`).
NOTICE_JOB = "datacapt.messages.notice_subject"


class MessageRefused(Exception):
    """Nothing was written; ``errors`` says why, by the input each refusal is shown beside."""

    def __init__(self, errors: dict[str, TranslationString]) -> None:
        super().__init__(errors)
        self.errors = errors


def clean(raw: str, field: str, limit: int) -> str:
    """A person's text, trimmed; refused when empty or longer than ``limit``."""
    text = raw.replace("\r\n", "\n").strip()
    if not text:
        raise MessageRefused({field: _("Write something here.")})
    if len(text) > limit:
        raise MessageRefused(
            {
                field: _(
                    "At most ${limit} characters here; this has ${count}. Shorten it.",
                    mapping={"limit": limit, "count": len(text)},
                )
            }
        )
    return text


def message_site_ids(identity: Identity, study: Study) -> frozenset[int] | None:
    """The sites of ``study`` where ``identity`` may message (None: every site)."""
    sites: frozenset[int] = frozenset()
    for grant in identity.roles_in_study(study.id):
        if Permission.MESSAGE not in STUDY_ROLE_PERMISSIONS[grant.role]:
            continue
        if grant.site_ids is None:
            return None
        sites |= grant.site_ids
    return sites


def sites_to_message(dbsession: Session, identity: Identity, study: Study) -> list[Site]:
    allowed = message_site_ids(identity, study)
    statement = select(Site).where(Site.study_id == study.id).order_by(Site.code)
    if allowed is not None:
        statement = statement.where(Site.id.in_(sorted(allowed)))
    return list(dbsession.scalars(statement))


def _audit(dbsession: Session, actor: Actor, thread: MessageThread, message: Message) -> None:
    """The message's place and author, never its text (which may name someone)."""
    audit.record(
        dbsession,
        actor,
        tenant_id=thread.tenant_id,
        study_id=thread.study_id,
        site_id=thread.site_id,
        action="message.posted",
        entity_type="message",
        entity_id=message.id,
        new={"thread": thread.id},
    )


def subject_to_message(dbsession: Session, study: Study, site: Site, label: str) -> Subject | None:
    """The subject of ``site`` labelled ``label`` (None when no label is written); refused
    when the study does not let subjects message their site, or no such subject is there."""
    label = label.strip()
    if not label:
        return None
    subject = None
    if study.subject_messages:
        subject = dbsession.scalar(
            select(Subject).where(
                Subject.study_id == study.id, Subject.site_id == site.id, Subject.label == label
            )
        )
    if subject is None:
        raise MessageRefused({"subject": _("No subject of this site has this ID.")})
    return subject


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message, as the request brought it (not yet checked)."""

    source: BinaryIO
    file_name: str


def _checked(
    dbsession: Session,
    registry: Registry,
    body: str,
    attachment: Attachment | None,
    errors: dict[str, TranslationString],
) -> uploads.Stored | None:
    """The message's text and file checked together, so both refusals are named; the file
    (taken by the upload rules) when nothing was refused. A refused message keeps no file: its
    bytes go with the transaction the refusal aborts."""
    try:
        clean(body, "body", MAX_BODY)
    except MessageRefused as refused:
        errors |= refused.errors
    stored = None
    if attachment is not None:
        try:
            stored = uploads.store(dbsession, registry, attachment.source, attachment.file_name)
        except uploads.Refused as refused:
            errors[ATTACHMENT] = refused.message
    if errors:
        raise MessageRefused(errors)
    return stored


def start_thread(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    study: Study,
    site: Site,
    topic: str,
    body: str,
    subject: Subject | None = None,
    attachment: Attachment | None = None,
) -> MessageThread:
    """A new thread at ``site`` with its first message (``topic``, ``body`` and the file are
    checked together: every refusal is named); with ``subject`` (of that site, in a study that
    lets subjects message their site), a thread between the site and that subject."""
    errors: dict[str, TranslationString] = {}
    if subject is not None and (
        not study.subject_messages or subject.site_id != site.id or subject.study_id != study.id
    ):
        errors["subject"] = _("This subject cannot be messaged here.")
    try:
        clean(topic, "topic", MAX_TOPIC)
    except MessageRefused as refused:
        errors |= refused.errors
    stored = _checked(dbsession, registry, body, attachment, errors)
    now = datetime.now(UTC)
    thread = MessageThread(
        tenant_id=study.tenant_id,
        study_id=study.id,
        site_id=site.id,
        subject_id=subject.id if subject is not None else None,
        topic=clean(topic, "topic", MAX_TOPIC),
        started_by_id=actor.user_id,
        started_at=now,
        updated_at=now,
    )
    dbsession.add(thread)
    dbsession.flush()
    _add(dbsession, actor, thread, body, None, stored)
    return thread


def post(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    thread: MessageThread,
    body: str,
    *,
    subject: Subject | None = None,
    attachment: Attachment | None = None,
) -> Message:
    """A message (with its file, if any) added to ``thread``, audited; read by its author
    (``subject``: the thread's subject wrote it, through their access)."""
    if subject is not None and subject.id != thread.subject_id:
        raise MessageRefused({"body": _("This subject cannot be messaged here.")})
    stored = _checked(dbsession, registry, body, attachment, {})
    return _add(dbsession, actor, thread, body, subject, stored)


def _add(
    dbsession: Session,
    actor: Actor,
    thread: MessageThread,
    body: str,
    subject: Subject | None,
    stored: uploads.Stored | None,
) -> Message:
    message = Message(
        tenant_id=thread.tenant_id,
        thread_id=thread.id,
        author_id=None if subject is not None else actor.user_id,
        author_subject_id=subject.id if subject is not None else None,
        body=clean(body, "body", MAX_BODY),
        posted_at=datetime.now(UTC),
    )
    dbsession.add(message)
    dbsession.flush()
    thread.updated_at = message.posted_at
    _audit(dbsession, actor, thread, message)
    if stored is not None:
        _attach(dbsession, actor, thread, message, stored)
    if subject is not None:
        mark_subject_read(thread, message.id)
    else:
        if actor.user_id is not None:
            mark_read(dbsession, thread, actor.user_id, message.id)
        if thread.subject_id is not None:
            enqueue_after_commit(dbsession, NOTICE_JOB, message_id=message.id)
    publish(MessagePosted(dbsession, actor, thread=thread, message=message))
    return message


def _attach(
    dbsession: Session,
    actor: Actor,
    thread: MessageThread,
    message: Message,
    stored: uploads.Stored,
) -> None:
    """The file's row; the trail holds its SHA-256 (so the hash chain vouches for the bytes),
    never its name (which may name someone)."""
    attachment = MessageAttachment(
        tenant_id=thread.tenant_id,
        message_id=message.id,
        file_name=stored.file_name,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        storage_name=stored.storage_name,
    )
    dbsession.add(attachment)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=thread.tenant_id,
        study_id=thread.study_id,
        site_id=thread.site_id,
        subject_id=thread.subject_id,
        action="message.attachment_received",
        entity_type="message_attachment",
        entity_id=attachment.id,
        new={"message": message.id, "sha256": stored.sha256},
    )


def downloaded(
    dbsession: Session, actor: Actor, thread: MessageThread, raw_id: str | None
) -> MessageAttachment | None:
    """The attachment ``raw_id`` of a message of ``thread``, its download recorded in the trail
    (an access event); None for any other file (another thread's, site's or tenant's)."""
    number = whole_number(raw_id)
    if number is None:
        return None
    attachment = dbsession.scalar(
        select(MessageAttachment)
        .join(Message, Message.id == MessageAttachment.message_id)
        .where(
            MessageAttachment.id == number,
            Message.thread_id == thread.id,
            MessageAttachment.tenant_id == thread.tenant_id,
        )
    )
    if attachment is not None:
        audit.record(
            dbsession,
            actor,
            tenant_id=thread.tenant_id,
            study_id=thread.study_id,
            site_id=thread.site_id,
            subject_id=thread.subject_id,
            action="message.attachment_downloaded",
            entity_type="message_attachment",
            entity_id=attachment.id,
            new={"sha256": attachment.sha256},
        )
    return attachment


def mark_subject_read(thread: MessageThread, last_id: int) -> None:
    """The thread's subject has seen it up to message ``last_id`` (a receipt: not audited)."""
    if (thread.subject_read_id or 0) < last_id:
        thread.subject_read_id = last_id


def mark_read(dbsession: Session, thread: MessageThread, user_id: int, last_id: int) -> None:
    """``user_id`` has seen ``thread`` up to message ``last_id`` (a receipt, not data: not
    audited)."""
    found = dbsession.get(MessageRead, (thread.id, user_id))
    if found is None:
        dbsession.add(MessageRead(thread_id=thread.id, user_id=user_id, last_message_id=last_id))
    elif found.last_message_id < last_id:
        found.last_message_id = last_id


def _unread(user_id: int) -> Any:
    """The thread's messages by others after the last one ``user_id`` has seen."""
    seen = (
        select(MessageRead.last_message_id)
        .where(MessageRead.thread_id == MessageThread.id, MessageRead.user_id == user_id)
        .correlate(MessageThread)
        .scalar_subquery()
    )
    return (
        select(func.count(Message.id))
        .where(
            Message.thread_id == MessageThread.id,
            or_(Message.author_id.is_(None), Message.author_id != user_id),
            Message.id > func.coalesce(seen, 0),
        )
        .scalar_subquery()
    )


def threads_of(
    dbsession: Session,
    identity: Identity,
    study: Study,
    number: int,
    *,
    subject_label: str | None = None,
) -> Page[Any]:
    """A page of the threads ``identity`` may read in ``study`` (only those with the subject
    ``subject_label``, when given), the latest first, with their site's code and the reader's
    unread count (one statement for the page)."""
    statement = (
        select(MessageThread, Site.code, _unread(identity.user.id).label("unread"), Subject.label)
        .join(Site, Site.id == MessageThread.site_id)
        .outerjoin(Subject, Subject.id == MessageThread.subject_id)
        .where(MessageThread.study_id == study.id)
        .order_by(MessageThread.updated_at.desc(), MessageThread.id.desc())
    )
    if subject_label is not None:
        statement = statement.where(Subject.label == subject_label)
    allowed = message_site_ids(identity, study)
    if allowed is not None:
        statement = statement.where(MessageThread.site_id.in_(sorted(allowed)))
    return paginate(dbsession, statement, number, PAGE_SIZE)


@dataclass(frozen=True)
class Counts:
    threads: int
    unread: int


def subject_thread_counts(dbsession: Session, subject: Subject, user_id: int) -> Counts:
    """How many threads the site has with ``subject`` and how many of their messages
    ``user_id`` has not read (one statement)."""
    threads = (
        select(_unread(user_id).label("unread"))
        .where(MessageThread.subject_id == subject.id, MessageThread.site_id == subject.site_id)
        .subquery()
    )
    row = dbsession.execute(
        select(func.count(), func.coalesce(func.sum(threads.c.unread), 0)).select_from(threads)
    ).one()
    return Counts(int(row[0]), int(row[1]))


@dataclass(frozen=True)
class Shown:
    message: Message
    author: str
    unread: bool
    attachments: tuple[MessageAttachment, ...] = ()


def read_thread(dbsession: Session, thread: MessageThread, user_id: int) -> list[Shown]:
    """The thread's messages, oldest first, marking those new to ``user_id``, who has now read
    them all."""
    seen = dbsession.get(MessageRead, (thread.id, user_id))
    last = seen.last_message_id if seen is not None else 0
    rows = _messages(dbsession, thread)
    if rows:
        mark_read(dbsession, thread, user_id, rows[-1][0].id)
    files = _attachments(dbsession, thread)
    return [
        Shown(
            message,
            name,
            message.id > last and message.author_id != user_id,
            files.get(message.id, ()),
        )
        for message, name in rows
    ]


def _attachments(
    dbsession: Session, thread: MessageThread
) -> dict[int, tuple[MessageAttachment, ...]]:
    """The thread's files by message (one statement for the thread)."""
    found: dict[int, tuple[MessageAttachment, ...]] = {}
    for attachment in dbsession.scalars(
        select(MessageAttachment)
        .join(Message, Message.id == MessageAttachment.message_id)
        .where(Message.thread_id == thread.id)
        .order_by(MessageAttachment.id)
    ):
        found[attachment.message_id] = (*found.get(attachment.message_id, ()), attachment)
    return found


def _messages(dbsession: Session, thread: MessageThread) -> list[Any]:
    """The thread's messages, oldest first, each with its author's name (a member of staff's)
    or the subject's label."""
    return list(
        dbsession.execute(
            select(Message, func.coalesce(User.name, Subject.label))
            .outerjoin(User, User.id == Message.author_id)
            .outerjoin(Subject, Subject.id == Message.author_subject_id)
            .where(Message.thread_id == thread.id)
            .order_by(Message.id)
        ).all()
    )


# --- the subject's side ----------------------------------------------------------------------


def subject_may_message(study: Study) -> bool:
    return bool(study.subject_messages)


def _subject_unread() -> Any:
    """The thread's messages by the site after the last one its subject has seen."""
    return (
        select(func.count(Message.id))
        .where(
            Message.thread_id == MessageThread.id,
            Message.author_subject_id.is_(None),
            Message.id > func.coalesce(MessageThread.subject_read_id, 0),
        )
        .scalar_subquery()
    )


def subject_threads(dbsession: Session, subject: Subject) -> list[Any]:
    """The threads of ``subject`` (theirs only), the latest first, each with its unread count
    (one statement)."""
    return list(
        dbsession.execute(
            select(MessageThread, _subject_unread().label("unread"))
            .where(
                MessageThread.subject_id == subject.id,
                MessageThread.tenant_id == subject.tenant_id,
            )
            .order_by(MessageThread.updated_at.desc(), MessageThread.id.desc())
        ).all()
    )


def read_subject_thread(dbsession: Session, thread: MessageThread) -> list[Shown]:
    """The thread as its subject reads it (the site's messages new to them marked), now read."""
    last = thread.subject_read_id or 0
    rows = _messages(dbsession, thread)
    if rows:
        mark_subject_read(thread, rows[-1][0].id)
    files = _attachments(dbsession, thread)
    return [
        Shown(
            message,
            name,
            message.id > last and message.author_subject_id is None,
            files.get(message.id, ()),
        )
        for message, name in rows
    ]
