"""Study versions: the draft being designed and the published, frozen ones.

The design itself is one JSON document per version (see :mod:`datacapt.ecrf.definition`).
A trigger refuses any change to a published or discarded version (see the migration), and at
most one draft exists per study (a partial unique index). Nothing is deleted: a discarded draft
stays, so version numbers and the audit trail's references to them stay unambiguous.
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
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class VersionState(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    DISCARDED = "discarded"  # kept, so its number is never given again


class StudyVersion(Base):
    __tablename__ = "study_version"
    __table_args__ = (
        UniqueConstraint("study_id", "number"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index(
            "uq_study_version_one_draft",
            "study_id",
            unique=True,
            postgresql_where=text("state = 'draft'"),
            sqlite_where=text("state = 'draft'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    study_id: Mapped[int] = mapped_column()
    number: Mapped[int] = mapped_column()
    state: Mapped[VersionState] = mapped_column(string_enum(VersionState, "version_state", 10))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Raised by every save of a draft; a save naming an older value is refused (409).
    lock_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    publish_reason: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    __mapper_args__ = {"version_id_col": lock_version}
