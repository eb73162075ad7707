"""Subjects enrolled in a study at one of its sites."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class SubjectStatus(enum.StrEnum):
    SCREENING = "screening"
    INCLUDED = "included"
    SCREEN_FAILURE = "screen_failure"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class Subject(Base):
    __tablename__ = "subject"
    __table_args__ = (
        UniqueConstraint("study_id", "label"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        Index("ix_subject_study_id_site_id", "study_id", "site_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    study_id: Mapped[int] = mapped_column()
    site_id: Mapped[int] = mapped_column()
    label: Mapped[str] = mapped_column(String(40))
    status: Mapped[SubjectStatus] = mapped_column(
        string_enum(SubjectStatus, "subject_status", length=20),
        default=SubjectStatus.SCREENING,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())

    def __repr__(self) -> str:
        return f"<Subject {self.label}>"
