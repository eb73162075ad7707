"""Appointments of subjects at their site, with a staff member and a room.

Times are UTC; a site's opening hours are local wall-clock times in the site's zone. On
PostgreSQL, exclusion constraints over ``tstzrange(starts_at, ends_at)`` (created by the
migration, see :data:`EXCLUSIONS`) make a double booking of a subject, a staff member or a room
impossible, whatever the application does; SQLite gets the same rule from the service layer.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacapt.db import Base
from datacapt.models.types import UTCDateTime, string_enum


class AppointmentStatus(enum.StrEnum):
    PROPOSED = "proposed"
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    DONE = "done"


#: The exclusion constraints (name → the column that may not be booked twice at once); a
#: cancelled appointment holds nothing.
EXCLUSIONS = {
    "ex_appointment_subject": "subject_id",
    "ex_appointment_staff": "staff_id",
    "ex_appointment_room": "room_id",
}


class Room(Base):
    """A room or resource of a site (consultation room, scanner) that appointments book."""

    __tablename__ = "room"
    __table_args__ = (
        UniqueConstraint("site_id", "code"),
        UniqueConstraint("site_id", "id"),
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    study_id: Mapped[int] = mapped_column()
    site_id: Mapped[int] = mapped_column(index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))


class SiteHours(Base):
    """When a site receives subjects: per ISO weekday (1 = Monday) an opening and a closing
    time, "HH:MM" in the site's zone; a weekday absent is closed. No row: the defaults of
    :data:`datacapt.calendar.rules.DEFAULT_HOURS`."""

    __tablename__ = "site_hours"
    __table_args__ = (ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),)

    site_id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    study_id: Mapped[int] = mapped_column()
    hours: Mapped[dict[str, list[str]]] = mapped_column(JSON)


class SiteClosure(Base):
    """Days a site is closed (holidays of its own, works), first and last day included."""

    __tablename__ = "site_closure"
    __table_args__ = (
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        CheckConstraint("starts_on <= ends_on", name="ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    study_id: Mapped[int] = mapped_column()
    site_id: Mapped[int] = mapped_column(index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))


class Appointment(Base):
    __tablename__ = "appointment"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "study_id"], ["study.tenant_id", "study.id"]),
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        ForeignKeyConstraint(["site_id", "room_id"], ["room.site_id", "room.id"]),
        CheckConstraint("starts_at < ends_at", name="ordered"),
        Index("ix_appointment_site_id_starts_at", "site_id", "starts_at"),
        Index("ix_appointment_subject_id_starts_at", "subject_id", "starts_at"),
        Index("ix_appointment_staff_id_starts_at", "staff_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    study_id: Mapped[int] = mapped_column()
    site_id: Mapped[int] = mapped_column()
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    #: The scheduled visit's name in the study's design.
    visit: Mapped[str] = mapped_column(String(60))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    room_id: Mapped[int | None] = mapped_column()
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[AppointmentStatus] = mapped_column(
        string_enum(AppointmentStatus, "appointment_status", length=20),
        default=AppointmentStatus.BOOKED,
    )
    #: The iCalendar UID, stable across every change of the appointment.
    uid: Mapped[str] = mapped_column(String(80), unique=True)
    #: The iCalendar SEQUENCE: raised by every change an invitation announces.
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    #: The subject was sent the invitation (at the e-mail of their sealed contact details), so
    #: a move or a cancellation is sent to them too.
    subject_invited: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The start its staff member was reminded of: a reminder is due again once the
    #: appointment has moved.
    reminded_for: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: The start the invited subject was reminded of (their reminder is planned apart).
    subject_reminded_for: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: An eConsult: held by video, at the link the site's provider template makes of the UID.
    video: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class CalendarFeed(Base):
    """A secret address calendar programs subscribe to: a site's appointments (``user_id``
    None) or one staff member's at the site. Only the token's SHA-256 is kept; resetting the
    feed replaces the row, so the old address stops working."""

    __tablename__ = "calendar_feed"
    __table_args__ = (
        ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),
        UniqueConstraint("site_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    study_id: Mapped[int] = mapped_column()
    site_id: Mapped[int] = mapped_column()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class SiteVideo(Base):
    """A site's video provider for eConsult appointments: an https link template holding
    ``{uid}``, filled with each appointment's stable UID."""

    __tablename__ = "site_video"
    __table_args__ = (ForeignKeyConstraint(["study_id", "site_id"], ["site.study_id", "site.id"]),)

    site_id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    study_id: Mapped[int] = mapped_column()
    link_template: Mapped[str] = mapped_column(String(300))


class SubjectMailLink(Base):
    """A one-click opt-out address sent in a subject's appointment mail (one per mail; only
    the token's SHA-256 is kept). Once one is used (``opted_out_at``) the subject gets no more
    appointment mails."""

    __tablename__ = "subject_mail_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
