"""Messages between a study's staff: threads at a site (a monitor and the site's team), each a
list of messages never changed nor deleted, and how far each person has read each thread."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime


class MessageThread(Base):
    __tablename__ = "message_thread"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_message_thread_study_id_site_id", "study_id", "site_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    #: The site whose team (and the study-wide staff) read and write the thread.
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    #: A thread between the site and this one subject (through the subject's access), or None
    #: for a thread between staff only.
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("subject.id"), index=True, default=None
    )
    #: The last message the subject has seen (a subject thread's own read mark).
    subject_read_id: Mapped[int | None] = mapped_column(default=None)
    topic: Mapped[str] = mapped_column(String(200))
    started_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The last message's time, so the list is ordered without reading the messages.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (
        CheckConstraint(
            "(author_id IS NULL) <> (author_subject_id IS NULL)", name="message_one_author"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    thread_id: Mapped[int] = mapped_column(ForeignKey("message_thread.id"), index=True)
    #: A member of staff wrote it, or (``author_subject_id``) the thread's subject: one of both.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    author_subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), default=None)
    body: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageRead(Base):
    """The last message of a thread a person has seen (what comes after it is unread)."""

    __tablename__ = "message_read"

    thread_id: Mapped[int] = mapped_column(ForeignKey("message_thread.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    last_message_id: Mapped[int] = mapped_column()


class MessageAttachment(Base):
    """A file sent with a message, checked and stored by the upload rules (:mod:`datacapt.
    uploads`): its bytes outside the web root under ``storage_name``, with their SHA-256. Never
    changed nor deleted, as its message."""

    __tablename__ = "message_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
