"""Studies and their sites.

Composite foreign keys make the tree's isolation a database fact: a site can only point at a
study of its own tenant, and a subject only at a site of its own study.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime

DEFAULT_SUBJECT_ID_PATTERN = "{site}-{seq:04}"


def _(text: str) -> str:
    """Marks a text for the catalogues (models stay free of the request's translation): the
    default labels are stored in English and translated where they are shown."""
    return text


DEFAULT_MISSING_CODES = (
    ("NA", _("Not applicable")),
    ("NK", _("Not known")),
    ("ND", _("Not done")),
    ("NASK", _("Not asked")),
)
DEFAULT_LANGUAGES = ("en",)
DEFAULT_TIMEZONE = "UTC"


class Study(Base):
    __tablename__ = "study"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        UniqueConstraint("tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    #: The interface languages the study is run in (codes of datacapt.i18n.LANGUAGES).
    languages: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(DEFAULT_LANGUAGES))
    #: The IANA zone the study's calendar days are counted in (its sites may have their own).
    timezone: Mapped[str] = mapped_column(
        String(64), default=DEFAULT_TIMEZONE, server_default=DEFAULT_TIMEZONE
    )
    #: How subject IDs are made: {site} is the site code, {seq:04} its next number.
    subject_id_pattern: Mapped[str] = mapped_column(
        String(60), default=DEFAULT_SUBJECT_ID_PATTERN, server_default=DEFAULT_SUBJECT_ID_PATTERN
    )
    #: Missing-data codes offered beside a value: [[code, label], ...] (labels as the study
    #: typed them; the default English ones are shown in the reader's language).
    missing_codes: Mapped[list[list[str]]] = mapped_column(
        JSON, default=lambda: [list(pair) for pair in DEFAULT_MISSING_CODES]
    )
    #: A visit date outside its window is refused (True) or saved with a warning (False).
    visit_window_blocking: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The triggers its enabled automation rules wait for, comma-separated (kept by the
    #: automations with the rules): an act no rule waits for costs no query.
    automation_triggers: Mapped[str] = mapped_column(String(400), default="", server_default="")
    #: Subjects may set a password (and an authenticator) to sign in to their questionnaires
    #: without a new link each time (long studies).
    epro_accounts: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Whether a site and its subjects may write to each other (through the subject's access).
    subject_messages: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())

    def __repr__(self) -> str:
        return f"<Study {self.code}>"


class Site(Base):
    __tablename__ = "site"
    __table_args__ = (
        UniqueConstraint("study_id", "code"),
        UniqueConstraint("study_id", "id"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    study_id: Mapped[int] = mapped_column(index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    #: ISO 3166-1 alpha-2 code of the site's country; None while not told.
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    #: The site's IANA zone; None: the study's.
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    #: The {seq} of the next generated subject ID at this site (taken under a row lock).
    next_subject_number: Mapped[int] = mapped_column(default=1, server_default="1")
    #: How many subjects the site means to enrol (at least 1), drawn on the enrolment report;
    #: None while the sponsor has not set one.
    target_enrolment: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())

    def __repr__(self) -> str:
        return f"<Site {self.code}>"


class StudyCounter(Base):
    """The last number a study gave to one kind of thing (``query``, ``version``).

    It is taken by one atomic increment that keeps the row locked until commit (see
    :mod:`datacapt.counters`), so two transactions never get the same number, and one that rolls
    back gives its number back: numbers stay consecutive.
    """

    __tablename__ = "study_counter"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    study_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    value: Mapped[int] = mapped_column()
