"""Recruitment: a study's recruitment campaigns (target, sites, period, the pre-screening form
of its design and the eligibility criteria), and the applications people send through its
public page. An applicant's identity and contacts live in the subject repository (a
:class:`~datacapt.models.repository.Person`, sealed); an application holds only the person's id,
the answers to the pre-screening questionnaire and where it stands in the pipeline."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class RecruitmentState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Recruitment(Base):
    __tablename__ = "recruitment"
    __table_args__ = (
        UniqueConstraint("study_id", "number"),
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    study_id: Mapped[int] = mapped_column()
    #: Its number in the study, in staff URLs.
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    target: Mapped[int] = mapped_column(Integer)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    #: The form of the study's published design asked as the pre-screening questionnaire.
    form: Mapped[str] = mapped_column(String(64))
    #: Inclusion criteria, one expression of the form's items per line: all true → eligible.
    criteria: Mapped[str] = mapped_column(Text, default="")
    #: The secret part of the public page's address.
    token: Mapped[str] = mapped_column(String(40), unique=True)
    state: Mapped[RecruitmentState] = mapped_column(
        string_enum(RecruitmentState, "recruitment_state", 20), default=RecruitmentState.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class RecruitmentSite(Base):
    """A site taking part in a recruitment (applicants choose one)."""

    __tablename__ = "recruitment_site"

    recruitment_id: Mapped[int] = mapped_column(ForeignKey("recruitment.id"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), primary_key=True)


class ApplicationState(enum.StrEnum):
    APPLIED = "applied"
    PRESCREENED = "prescreened"
    CONTACTED = "contacted"
    SCREENING_BOOKED = "screening_booked"
    ENROLLED = "enrolled"
    SCREEN_FAILED = "screen_failed"
    WITHDRAWN = "withdrawn"


class Application(Base):
    __tablename__ = "application"
    __table_args__ = (
        Index("ix_application_recruitment_id_state_id", "recruitment_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    recruitment_id: Mapped[int] = mapped_column(ForeignKey("recruitment.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: A person of the repository found at submission with the applicant's e-mail address or
    #: name and birth date: maybe the applicant again. Never merged automatically (anyone can
    #: type someone's address); staff link the application to them, or not.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    #: The raw answers to the pre-screening form, by item name (no identity: that is sealed).
    answers: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    #: The criteria's verdict at submission (None: they could not be evaluated) and why.
    eligible: Mapped[bool | None] = mapped_column(Boolean)
    eligibility_reason: Mapped[str] = mapped_column(Text, default="")
    #: A person's decision over the computed verdict.
    override: Mapped[bool | None] = mapped_column(Boolean)
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    override_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[ApplicationState] = mapped_column(
        string_enum(ApplicationState, "application_state", 20), default=ApplicationState.APPLIED
    )
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())

    @property
    def decided(self) -> bool | None:
        """The verdict that counts: the override, else the computed one."""
        return self.eligible if self.override is None else self.override


class ApplicationMove(Base):
    """One move of an application through the pipeline: from, to, why, who, when."""

    __tablename__ = "application_move"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class CampaignState(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"


class RecruitmentCampaign(Base):
    """One mailing of a recruitment's public page to the repository's persons who agreed to
    hear of future studies: who asked, when, and how many mails went (counts only)."""

    __tablename__ = "recruitment_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    recruitment_id: Mapped[int] = mapped_column(ForeignKey("recruitment.id"), index=True)
    state: Mapped[CampaignState] = mapped_column(
        string_enum(CampaignState, "campaign_state", 20), default=CampaignState.QUEUED
    )
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Mails sent, and persons passed over (no e-mail address on file).
    sent: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
