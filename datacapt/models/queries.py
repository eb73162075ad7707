"""Queries (discrepancy notes): a question about an item, a form, a visit or a subject, its
state, and its thread.

A query is never deleted; each step (raised, answered, closed, re-opened) adds a message with
who and when, and the query keeps the time of each state it reached, so the list and the metrics
read one row per query. System queries follow a warning kept on save (``entry_warning``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class QueryState(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class QueryOrigin(enum.StrEnum):
    MANUAL = "manual"  # raised by a monitor or a data manager
    SYSTEM = "system"  # opened by a warning check on save


class QueryStep(enum.StrEnum):
    RAISED = "raised"
    ANSWERED = "answered"
    CLOSED = "closed"
    REOPENED = "reopened"


class Query(Base):
    __tablename__ = "data_query"
    __table_args__ = (
        UniqueConstraint("study_id", "number"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_data_query_study_id_site_id_state", "study_id", "site_id", "state"),
        Index("ix_data_query_form_instance_id_item_oid", "form_instance_id", "item_oid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    #: Shown to people and used in URLs: 1, 2, 3 ... within the study.
    number: Mapped[int] = mapped_column()
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    #: Where the query sits: an item (form instance + item), a whole form (no item), a whole
    #: visit (visit instance, no form) or the subject (neither).
    form_instance_id: Mapped[int | None] = mapped_column(ForeignKey("form_instance.id"))
    visit_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("visit_instance.id"), index=True
    )
    item_oid: Mapped[str | None] = mapped_column(String(120))  # None: about the whole form
    origin: Mapped[QueryOrigin] = mapped_column(string_enum(QueryOrigin, "query_origin", 10))
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("entry_warning.id"), unique=True)
    state: Mapped[QueryState] = mapped_column(string_enum(QueryState, "query_state", 10))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: The first answer (for the time-to-answer metric) and the last close.
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QueryMessage(Base):
    """One step of a query's thread: the text a person wrote (or the system's note)."""

    __tablename__ = "query_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    query_id: Mapped[int] = mapped_column(ForeignKey("data_query.id"), index=True)
    step: Mapped[QueryStep] = mapped_column(string_enum(QueryStep, "query_step", 10))
    state: Mapped[QueryState] = mapped_column(string_enum(QueryState, "query_message_state", 10))
    body: Mapped[str] = mapped_column(Text)
    #: How the system words ``body`` in the reader's language: ``{"msgid", "mapping"}`` for the
    #: interface's messages, ``{"text": {language: text}}`` for a design's check message; None for
    #: a person's own words (and system messages from before it was kept).
    wording: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    #: An answer that corrected the value (the change itself is in the audit trail).
    corrected: Mapped[bool] = mapped_column(default=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: system
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
