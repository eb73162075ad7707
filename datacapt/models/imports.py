"""A clinical-data import: the file a data manager uploaded, its dry run's report, and whether
it was confirmed and written.

The file is kept outside the web root, named by the row; the row keeps what identifies it (name,
size, SHA-256) so the confirmed run writes exactly what the dry run checked."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, ForeignKeyConstraint, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class ImportFormat(enum.StrEnum):
    CSV = "csv"  # the long values.csv of our CSV export
    REDCAP = "redcap"  # REDCap's flat CSV export of records
    ODM = "odm"  # CDISC ODM 1.3.2 ClinicalData


class ImportState(enum.StrEnum):
    QUEUED = "queued"  # uploaded, its dry run not started
    CHECKING = "checking"  # the dry run is reading the file
    READY = "ready"  # checked without a refusal: waits for confirmation
    REFUSED = "refused"  # rows refused (dry run) or forms changed since (confirmed run)
    WRITING = "writing"  # confirmed, being written
    DONE = "done"  # written
    FAILED = "failed"  # the file could not be read at all


class DataImport(Base):
    __tablename__ = "data_import"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_data_import_study_id_created_at", "study_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    file_name: Mapped[str] = mapped_column(String(255))
    format: Mapped[ImportFormat] = mapped_column(string_enum(ImportFormat, "import_format", 10))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[ImportState] = mapped_column(
        string_enum(ImportState, "import_state", 10), default=ImportState.QUEUED
    )
    progress: Mapped[int] = mapped_column(default=0, server_default="0")  # percent
    #: What the last run found: counts, subjects and forms created, changes, refused rows.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rows: Mapped[int | None] = mapped_column(BigInteger)
    values_changed: Mapped[int | None] = mapped_column(BigInteger)
    refused: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    #: When the dry run began: a form saved since is refused by the confirmed run (409).
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
