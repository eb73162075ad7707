"""A file uploaded into a file item of a form: what identifies it, and where its bytes are.

The bytes live outside the web root under a random name (``storage_name``); the row keeps the
name the person gave, the type read from the bytes, the size and the SHA-256, so what is shown,
exported and audited names the file without opening it. The item's value is the row's id: a
replaced file keeps its row, reachable from the value history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime


class UploadedFile(Base):
    __tablename__ = "uploaded_file"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        Index("ix_uploaded_file_form_instance_id_item_oid", "form_instance_id", "item_oid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    study_id: Mapped[int] = mapped_column()
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    #: Set when the save that brought the file is applied (a form saved the first time has none
    #: before); a row without one belongs to no saved value.
    form_instance_id: Mapped[int | None] = mapped_column(ForeignKey("form_instance.id"))
    item_oid: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
