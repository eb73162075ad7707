"""Automations: a study's event → action rules, the runs they make (the automation outbox and
its log in one row each) and the tasks they put on worklists.

A run is written in the transaction of the act that matched its rule, with an idempotency key
(rule × event) unique per rule, so an event never makes a rule act twice; a job then carries
the run out after the commit, once its ``due_at`` has come.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class RunState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


class AutomationRule(Base):
    """When ``trigger`` happens (and ``condition``, an expression, holds), do ``action`` with
    ``params`` after ``delay_minutes``."""

    __tablename__ = "automation_rule"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_automation_rule_study_id_trigger", "study_id", "trigger"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(40))
    #: The item an "item answered" rule watches (its variable name).
    item: Mapped[str | None] = mapped_column(String(100))
    condition: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    delay_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class AutomationRun(Base):
    """One rule acting on one event: written with the event (the outbox), then carried out by
    a job (the log). ``attempts``, ``last_error`` and ``next_attempt_at`` follow its retries."""

    __tablename__ = "automation_run"
    __table_args__ = (
        UniqueConstraint("rule_id", "event_key"),
        Index("ix_automation_run_state_due_at", "state", "due_at"),
        Index("ix_automation_run_study_id_created_at", "study_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rule.id"))
    #: The event's own key: with the rule, the run's idempotency key.
    event_key: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"))
    site_id: Mapped[int | None] = mapped_column()
    #: Ids the action needs (never personal data).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[RunState] = mapped_column(
        string_enum(RunState, "automation_run_state", 10), default=RunState.PENDING
    )
    outcome: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AutomationTask(Base):
    """Something a rule asks people of a kind (``audience``) to do, on their worklist."""

    __tablename__ = "automation_task"
    __table_args__ = (Index("ix_automation_task_study_id_audience", "study_id", "audience"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    site_id: Mapped[int | None] = mapped_column()
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("automation_run.id"), unique=True)
    audience: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
