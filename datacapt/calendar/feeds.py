"""Calendar feeds (secret, resettable addresses of a site's or a staff member's appointments)
and invitations (an appointment as an iCalendar REQUEST or CANCEL for its staff member)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pyramid.registry import Registry
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.calendar import ical, services, video
from datacapt.ecrf.definition import text_in
from datacapt.ecrf.versions import published_design
from datacapt.models import (
    Appointment,
    AppointmentStatus,
    CalendarFeed,
    Room,
    Site,
    Study,
    Subject,
    SubjectContact,
    User,
)
from datacapt.subjects import contacts

#: How far back a feed reaches (calendar programs keep what they have already read).
FEED_PAST = timedelta(days=90)
#: How far ahead a feed reaches.
FEED_FUTURE = timedelta(days=400)


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def reset_feed(dbsession: Session, site: Site, user: User | None, actor: Actor) -> str:
    """A new secret token for ``site``'s feed (``user``: that staff member's at the site);
    the feed's former address stops working. Only the token's hash is stored."""
    dbsession.execute(
        delete(CalendarFeed).where(
            CalendarFeed.site_id == site.id,
            CalendarFeed.user_id.is_(None) if user is None else CalendarFeed.user_id == user.id,
        )
    )
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(
        tenant_id=site.tenant_id,
        study_id=site.study_id,
        site_id=site.id,
        user_id=user.id if user is not None else None,
        token_hash=_hashed(token),
    )
    dbsession.add(feed)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=site.tenant_id,
        study_id=site.study_id,
        site_id=site.id,
        action="calendar.feed_reset",
        entity_type="calendar_feed",
        entity_id=feed.id,
        new={"staff_id": feed.user_id},
    )
    return token


def feed_of(dbsession: Session, token: str) -> CalendarFeed | None:
    return dbsession.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == _hashed(token)))


def _visit_titles(dbsession: Session, study: Study) -> dict[str, str]:
    design = published_design(dbsession, study)
    if design is None:
        return {}
    definition = design.definition
    language = definition.default_language
    return {v.name: text_in(v.title, language, language) for v in definition.schedule.visits}


def listed(
    dbsession: Session,
    study: Study,
    site: Site,
    rows: list[tuple[Appointment, Subject, User | None, Room | None]],
) -> list[ical.Listed]:
    titles = _visit_titles(dbsession, study)
    template = video.template_of(dbsession, site.id)
    return [
        ical.Listed(
            appointment,
            subject.label,
            titles.get(appointment.visit, appointment.visit),
            ", ".join(part for part in (room.name if room else "", site.name) if part),
            (staff.name, staff.email) if staff is not None else None,
            video.link(template, appointment),
        )
        for appointment, subject, staff, room in rows
    ]


def feed_calendar(dbsession: Session, feed: CalendarFeed, now: datetime) -> bytes:
    """The feed's appointments from :data:`FEED_PAST` ago to :data:`FEED_FUTURE` ahead, in
    UTC, named by the site's code only."""
    site = dbsession.get_one(Site, feed.site_id)
    study = dbsession.get_one(Study, feed.study_id)
    rows = services.appointments_between(
        dbsession, now - FEED_PAST, now + FEED_FUTURE, site_id=site.id, staff_id=feed.user_id
    )
    return ical.calendar(listed(dbsession, study, site, rows), now, name=site.code)


@dataclass(frozen=True)
class Invitation:
    """What tells a staff member's calendar of an appointment: a REQUEST, or a CANCEL."""

    staff: User
    method: str
    body: bytes
    video: str | None


def invitation(
    dbsession: Session,
    study: Study,
    site: Site,
    appointment: Appointment,
    now: datetime,
    *,
    organizer: str,
) -> Invitation | None:
    """The appointment's invitation for its staff member (None without one)."""
    if appointment.staff_id is None:
        return None
    rows = services.appointments_between(
        dbsession,
        appointment.starts_at,
        appointment.ends_at,
        subject_id=appointment.subject_id,
        staff_id=appointment.staff_id,
    )
    row = next(r for r in rows if r[0].id == appointment.id)
    staff = row[2]
    if staff is None:
        return None
    method = "CANCEL" if appointment.status is AppointmentStatus.CANCELLED else "REQUEST"
    shown = listed(dbsession, study, site, [row])
    body = ical.calendar(shown, now, method=method, organizer=organizer)
    return Invitation(staff, method, body, shown[0].video)


@dataclass(frozen=True)
class SubjectInvitation:
    """An invitation for the subject, at the e-mail of their contact details."""

    address: str
    method: str
    body: bytes
    video: str | None


def subject_invitation(
    dbsession: Session,
    registry: Registry,
    study: Study,
    site: Site,
    appointment: Appointment,
    now: datetime,
    *,
    organizer: str,
    actor: Actor,
) -> SubjectInvitation | None:
    """The subject's invitation (None without an e-mail on file), opened and audited by
    :func:`subject_address`; the event names the subject by its ID and the site, never the
    study."""
    subject = dbsession.get_one(Subject, appointment.subject_id)
    address = subject_address(dbsession, registry, subject, actor, "appointment invitation")
    if not address:
        return None
    rows = services.appointments_between(
        dbsession, appointment.starts_at, appointment.ends_at, subject_id=subject.id
    )
    row_of = next(r for r in rows if r[0].id == appointment.id)
    shown = [
        ical.Listed(appointment, subject.label, entry.visit, entry.place, video=entry.video)
        for entry in listed(dbsession, study, site, [row_of])
    ]
    method = "CANCEL" if appointment.status is AppointmentStatus.CANCELLED else "REQUEST"
    body = ical.calendar(shown, now, method=method, organizer=organizer)
    return SubjectInvitation(address, method, body, shown[0].video)


def subject_address(
    dbsession: Session, registry: Registry, subject: Subject, actor: Actor, reason: str
) -> str:
    """The e-mail of the subject's sealed contact details ("" without one); opening them is
    recorded in the audit trail with ``reason``."""
    row = dbsession.get(SubjectContact, subject.id)
    address = (
        contacts.open_logged(
            dbsession, registry, row, actor, purpose="contact", fields=("email",)
        ).email
        if row is not None
        else ""
    )
    if not address:
        return ""
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="subject.contact_used",
        entity_type="subject_contact",
        entity_id=subject.id,
        field="email",
        reason=reason,
    )
    return address
