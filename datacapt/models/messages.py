"""Messages between a study's staff: threads at a site (a monitor and the site's team), each a
list of messages never changed nor deleted, and how far each person has read each thread."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, Text
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
    topic: Mapped[str] = mapped_column(String(200))
    started_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The last message's time, so the list is ordered without reading the messages.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Message(Base):
    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    thread_id: Mapped[int] = mapped_column(ForeignKey("message_thread.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageRead(Base):
    """The last message of a thread a person has seen (what comes after it is unread)."""

    __tablename__ = "message_read"

    thread_id: Mapped[int] = mapped_column(ForeignKey("message_thread.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    last_message_id: Mapped[int] = mapped_column()
