"""An export asked for: who asked, what for, and where its job stands; and the saved
definitions that ask for exports again, by a click or on a schedule.

The row is written with the request and the file by the job; the page polls the row for the
progress, and a download is checked against it (the study it belongs to, its expiry)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class ExportState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Every(enum.StrEnum):
    """How often a saved definition runs on its own."""

    DAY = "day"
    WEEK = "week"


class DataExport(Base):
    __tablename__ = "data_export"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_data_export_study_id_created_at", "study_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: ``ExportOptions.describe()``: what was asked, as the audit trail records it.
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[ExportState] = mapped_column(
        string_enum(ExportState, "export_state", 10), default=ExportState.QUEUED
    )
    progress: Mapped[int] = mapped_column(default=0, server_default="0")  # percent
    values: Mapped[int | None] = mapped_column(BigInteger)
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The time the data is taken as of, written into the files' headers: a retry writes the
    #: same bytes. None for exports asked before it was recorded.
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The job's last sign of life (its last progress); a running export silent for long is
    #: stuck and may be retried.
    progressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The saved definition this export is a run of, if any.
    definition_id: Mapped[int | None] = mapped_column(
        ForeignKey("export_definition.id", ondelete="SET NULL"), index=True
    )


class ExportDefinition(Base):
    """An export's options saved under a name, to run again; optionally every day or every week
    at an hour of its time zone, as its owner."""

    __tablename__ = "export_definition"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        UniqueConstraint("study_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column(index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    name: Mapped[str] = mapped_column(String(120))
    #: ``ExportOptions.describe()``, as an export row stores them.
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    every: Mapped[Every | None] = mapped_column(string_enum(Every, "export_every", 8))
    weekday: Mapped[int | None] = mapped_column(SmallInteger)  # 0 Monday … 6 Sunday
    hour: Mapped[int | None] = mapped_column(SmallInteger)
    timezone: Mapped[str] = mapped_column(String(64))
    #: When the schedule runs it next; moved on in the transaction that starts a run, so one
    #: slot never runs twice.
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: The address the owner saved it from: the link in the mail of a scheduled run.
    application_url: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
