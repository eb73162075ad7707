"""An export asked for: who asked, what for, and where its job stands.

The row is written with the request and the file by the job; the page polls the row for the
progress, and a download is checked against it (the study it belongs to, its expiry)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, ForeignKeyConstraint, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class ExportState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


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
