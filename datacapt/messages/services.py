"""The rules of staff messages: who may read and write at which site, starting a thread,
posting to it, the unread counts, and how far each person has read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyramid.i18n import TranslationString
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.i18n import _
from datacapt.messages.events import MessagePosted
from datacapt.models import Message, MessageRead, MessageThread, Site, Study, User
from datacapt.pagination import Page, paginate
from datacapt.permissions import STUDY_ROLE_PERMISSIONS, Permission
from datacapt.reactions import publish
from datacapt.security import Identity

MAX_TOPIC = 200
MAX_BODY = 4000
PAGE_SIZE = 50


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


def start_thread(
    dbsession: Session, actor: Actor, study: Study, site: Site, topic: str, body: str
) -> MessageThread:
    """A new thread at ``site`` with its first message (``topic`` and ``body`` are checked
    together: both refusals are named)."""
    errors: dict[str, TranslationString] = {}
    for field, raw, limit in (("topic", topic, MAX_TOPIC), ("body", body, MAX_BODY)):
        try:
            clean(raw, field, limit)
        except MessageRefused as refused:
            errors |= refused.errors
    if errors:
        raise MessageRefused(errors)
    now = datetime.now(UTC)
    thread = MessageThread(
        tenant_id=study.tenant_id,
        study_id=study.id,
        site_id=site.id,
        topic=clean(topic, "topic", MAX_TOPIC),
        started_by_id=actor.user_id,
        started_at=now,
        updated_at=now,
    )
    dbsession.add(thread)
    dbsession.flush()
    post(dbsession, actor, thread, body)
    return thread


def post(dbsession: Session, actor: Actor, thread: MessageThread, body: str) -> Message:
    """A message added to ``thread``, audited; read by its author."""
    message = Message(
        tenant_id=thread.tenant_id,
        thread_id=thread.id,
        author_id=actor.user_id,
        body=clean(body, "body", MAX_BODY),
        posted_at=datetime.now(UTC),
    )
    dbsession.add(message)
    dbsession.flush()
    thread.updated_at = message.posted_at
    _audit(dbsession, actor, thread, message)
    mark_read(dbsession, thread, actor.user_id, message.id)
    publish(MessagePosted(dbsession, actor, thread=thread, message=message))
    return message


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
        .scalar_subquery()
    )
    return (
        select(func.count(Message.id))
        .where(
            Message.thread_id == MessageThread.id,
            Message.author_id != user_id,
            Message.id > func.coalesce(seen, 0),
        )
        .scalar_subquery()
    )


def threads_of(dbsession: Session, identity: Identity, study: Study, number: int) -> Page[Any]:
    """A page of the threads ``identity`` may read in ``study``, the latest first, with their
    site's code and the reader's unread count (one statement for the page)."""
    statement = (
        select(MessageThread, Site.code, _unread(identity.user.id).label("unread"))
        .join(Site, Site.id == MessageThread.site_id)
        .where(MessageThread.study_id == study.id)
        .order_by(MessageThread.updated_at.desc(), MessageThread.id.desc())
    )
    allowed = message_site_ids(identity, study)
    if allowed is not None:
        statement = statement.where(MessageThread.site_id.in_(sorted(allowed)))
    return paginate(dbsession, statement, number, PAGE_SIZE)


@dataclass(frozen=True)
class Shown:
    message: Message
    author: str
    unread: bool


def read_thread(dbsession: Session, thread: MessageThread, user_id: int) -> list[Shown]:
    """The thread's messages, oldest first, marking those new to ``user_id``, who has now read
    them all."""
    seen = dbsession.get(MessageRead, (thread.id, user_id))
    last = seen.last_message_id if seen is not None else 0
    rows = dbsession.execute(
        select(Message, User.name)
        .join(User, User.id == Message.author_id)
        .where(Message.thread_id == thread.id)
        .order_by(Message.id)
    ).all()
    if rows:
        mark_read(dbsession, thread, user_id, rows[-1][0].id)
    return [
        Shown(message, name, message.id > last and message.author_id != user_id)
        for message, name in rows
    ]
