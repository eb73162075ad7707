"""The job outbox: a job is a row written in the transaction that asks for it.

The row commits (or rolls back) with the work that wanted the job, so a job is never sent for a
change that did not happen, and a job whose dispatch failed (Redis down, a worker killed) is
still there to be sent again by the worker's sweep once ``retry_at`` has passed.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class JobState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class OutboxJob(Base):
    __tablename__ = "job_outbox"
    __table_args__ = (Index("ix_job_outbox_state_retry_at", "state", "retry_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[JobState] = mapped_column(
        string_enum(JobState, "job_state", length=10),
        default=JobState.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    #: When the sweep sends a job still pending again (seconds later, backing off).
    retry_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
