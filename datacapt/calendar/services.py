"""Booking appointments: the site's zone, its staff and rooms, the visit's window, and the rule
that nobody (subject, staff member, room) is booked twice at once.

On PostgreSQL that rule is the database's (exclusion constraints, see
:mod:`datacapt.models.calendar`): the booking is flushed in a savepoint and a violation becomes
the same field message SQLite gets from :func:`_check_free`, which runs the check here instead
(SQLite's writers take turns, so the check cannot race).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.calendar import rules, video
from datacapt.ecrf.definition import Schedule
from datacapt.ecrf.timing import Timing
from datacapt.i18n import _
from datacapt.models import (
    Appointment,
    AppointmentStatus,
    Room,
    Site,
    SiteClosure,
    SiteHours,
    Study,
    StudyRoleAssignment,
    StudyRoleSite,
    Subject,
    User,
)
from datacapt.models.calendar import EXCLUSIONS
from datacapt.permissions import StudyRole
from datacapt.subjects import visit_dates
from datacapt.validation import (
    FieldChecks,
    FieldErrors,
    ValidationError,
    clean_code,
    clean_text,
    whole_number,
)

S = AppointmentStatus
#: Roles that see subjects at a site and so may be booked with them.
STAFF_ROLES = (StudyRole.INVESTIGATOR, StudyRole.SUB_INVESTIGATOR, StudyRole.COORDINATOR)
#: Where an appointment may go from each status (cancelled, no-show and done are final).
NEXT_STATUS: dict[AppointmentStatus, tuple[AppointmentStatus, ...]] = {
    S.PROPOSED: (S.BOOKED, S.CONFIRMED, S.CANCELLED),
    S.BOOKED: (S.CONFIRMED, S.CANCELLED, S.NO_SHOW, S.DONE),
    S.CONFIRMED: (S.CANCELLED, S.NO_SHOW, S.DONE),
    S.CANCELLED: (),
    S.NO_SHOW: (),
    S.DONE: (),
}
#: The form field each double booking is reported on, and its message.
CONFLICTS: dict[str, tuple[str, Any]] = {
    "subject_id": ("subject", _("This subject already has an appointment at that time.")),
    "staff_id": ("staff", _("This staff member already has an appointment at that time.")),
    "room_id": ("room", _("This room is already booked at that time.")),
}
#: The longest appointment, so that a typing error does not block a room for a week.
MAX_LENGTH = timedelta(hours=12)


def site_zone(study: Study, site: Site) -> ZoneInfo:
    return ZoneInfo(site.timezone or study.timezone)


def staff_of(dbsession: Session, study: Study, site: Site) -> list[User]:
    """The users who hold a site role in the study, everywhere or at ``site``, by name."""
    restricted = exists().where(StudyRoleSite.study_role_id == StudyRoleAssignment.id)
    here = exists().where(
        StudyRoleSite.study_role_id == StudyRoleAssignment.id, StudyRoleSite.site_id == site.id
    )
    return list(
        dbsession.scalars(
            select(User)
            .where(
                exists().where(
                    StudyRoleAssignment.user_id == User.id,
                    StudyRoleAssignment.study_id == study.id,
                    StudyRoleAssignment.role.in_(STAFF_ROLES),
                    or_(~restricted, here),
                )
            )
            .order_by(User.name, User.id)
        )
    )


def rooms_of(dbsession: Session, site: Site) -> list[Room]:
    return list(dbsession.scalars(select(Room).where(Room.site_id == site.id).order_by(Room.code)))


def add_room(dbsession: Session, site: Site, code: str, name: str, actor: Actor) -> Room:
    """A new room of ``site`` (a code unique at the site, a name); audited."""
    check = FieldChecks()
    code = check(clean_code, "room_code", code) or ""
    name = check(clean_text, "room_name", name, 200) or ""
    if code and any(r.code == code for r in rooms_of(dbsession, site)):
        check.errors["room_code"] = _("This code is already used at this site.")
    check.raise_any()
    room = Room(
        tenant_id=site.tenant_id, study_id=site.study_id, site_id=site.id, code=code, name=name
    )
    dbsession.add(room)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=site.tenant_id,
        study_id=site.study_id,
        site_id=site.id,
        action="room.created",
        entity_type="room",
        entity_id=room.id,
        new={"code": code, "name": name},
    )
    return room


def hours_of(dbsession: Session, site: Site) -> dict[str, list[str]]:
    row = dbsession.get(SiteHours, site.id)
    return row.hours if row is not None else rules.DEFAULT_HOURS


def parse_hours(form: Mapping[str, str]) -> dict[str, list[str]]:
    """Opening hours from ``hours_N_opens`` and ``hours_N_closes`` (N the ISO weekday, both
    empty: closed that day)."""
    check = FieldChecks()
    hours: dict[str, list[str]] = {}
    for day in range(1, 8):
        opens_raw = form.get(f"hours_{day}_opens", "").strip()
        closes_raw = form.get(f"hours_{day}_closes", "").strip()
        if not opens_raw and not closes_raw:
            continue
        opens = check(rules.parse_time, opens_raw, f"hours_{day}_opens")
        closes = check(rules.parse_time, closes_raw, f"hours_{day}_closes")
        if opens is None or closes is None:
            continue
        if closes <= opens:
            check.errors[f"hours_{day}_closes"] = _("The closing time must be after the opening.")
            continue
        hours[str(day)] = [opens.strftime("%H:%M"), closes.strftime("%H:%M")]
    check.raise_any()
    return hours


def set_hours(dbsession: Session, site: Site, hours: dict[str, list[str]], actor: Actor) -> None:
    row = dbsession.get(SiteHours, site.id)
    old = row.hours if row is not None else None
    if row is None:
        row = SiteHours(site_id=site.id, tenant_id=site.tenant_id, study_id=site.study_id)
        dbsession.add(row)
    row.hours = hours
    audit.record(
        dbsession,
        actor,
        tenant_id=site.tenant_id,
        study_id=site.study_id,
        site_id=site.id,
        action="site.hours_changed",
        entity_type="site",
        entity_id=site.id,
        old=old,
        new=hours,
    )


def parse_closure(form: Mapping[str, str]) -> tuple[date, date, str]:
    """A closure's first and last days and its reason, from ``closure_from``, ``closure_to``
    (empty: one day) and ``closure_reason``."""
    check = FieldChecks()
    starts_on = check(_day, form.get("closure_from", ""), "closure_from")
    raw_end = form.get("closure_to", "").strip()
    ends_on = check(_day, raw_end, "closure_to") if raw_end else starts_on
    reason = check(clean_text, "closure_reason", form.get("closure_reason", ""), 200)
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        check.errors["closure_to"] = _("The last day cannot be before the first.")
    if check.errors or starts_on is None or ends_on is None or reason is None:
        raise FieldErrors(check.errors)
    return starts_on, ends_on, reason


def closures_from(dbsession: Session, site: Site, day: date) -> list[SiteClosure]:
    """The site's closures that end on or after ``day``, in order."""
    return list(
        dbsession.scalars(
            select(SiteClosure)
            .where(SiteClosure.site_id == site.id, SiteClosure.ends_on >= day)
            .order_by(SiteClosure.starts_on, SiteClosure.id)
        )
    )


def add_closure(
    dbsession: Session, site: Site, starts_on: date, ends_on: date, reason: str, actor: Actor
) -> SiteClosure:
    closure = SiteClosure(
        tenant_id=site.tenant_id,
        study_id=site.study_id,
        site_id=site.id,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
    )
    dbsession.add(closure)
    dbsession.flush()
    audit.record(
        dbsession,
        actor,
        tenant_id=site.tenant_id,
        study_id=site.study_id,
        site_id=site.id,
        action="site.closure_added",
        entity_type="site_closure",
        entity_id=closure.id,
        new={"from": starts_on.isoformat(), "to": ends_on.isoformat(), "reason": reason},
    )
    return closure


def _closures(dbsession: Session, site: Site, day: date) -> list[rules.Closure]:
    rows = dbsession.scalars(
        select(SiteClosure).where(
            SiteClosure.site_id == site.id, SiteClosure.starts_on <= day, SiteClosure.ends_on >= day
        )
    )
    return [rules.Closure(r.starts_on, r.ends_on, r.reason) for r in rows]


@dataclass(frozen=True)
class Place:
    """Where a booking happens: the study, the site and its published schedule."""

    study: Study
    site: Site
    schedule: Schedule
    #: The language messages name public holidays in (the user's).
    language: str = "en"

    @property
    def zone(self) -> ZoneInfo:
        return site_zone(self.study, self.site)


@dataclass(frozen=True)
class Booked:
    appointment: Appointment
    #: The visit's window when the appointment falls outside it (the study allows it).
    outside: Timing | None


def _one_of(field: str, raw: str, choices: Mapping[int, Any], message: Any) -> Any:
    """The choice whose id was sent in ``raw`` (empty: none), or a refusal."""
    if not raw.strip():
        return None
    found = choices.get(whole_number(raw) or 0)
    if found is None:
        raise ValidationError(field, message)
    return found


def _time_range(form: Mapping[str, str], zone: ZoneInfo) -> tuple[datetime, datetime]:
    check = FieldChecks()
    day = check(_day, form.get("date", ""))
    start = check(rules.parse_time, form.get("start", ""), "start")
    end = check(rules.parse_time, form.get("end", ""), "end")
    if day is None or start is None or end is None:
        raise FieldErrors(check.errors)
    starts = check(rules.local_instant, day, start, zone, "start")
    ends = check(rules.local_instant, day, end, zone, "end")
    if starts is None or ends is None:
        raise FieldErrors(check.errors)
    if ends <= starts:
        raise ValidationError("end", _("The end must be after the start."))
    if ends - starts > MAX_LENGTH:
        raise ValidationError("end", _("An appointment lasts 12 hours at most."))
    return starts, ends


def _day(raw: str, field: str = "date") -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationError(
            field, _("Enter a date, for example ${example}.", mapping={"example": "2026-01-31"})
        ) from None


@dataclass(frozen=True)
class Slot:
    """When and with whom: what booking and rescheduling both choose."""

    starts: datetime
    ends: datetime
    staff_id: int | None
    room_id: int | None

    def audited(self) -> dict[str, Any]:
        return {
            "starts_at": self.starts.isoformat(),
            "ends_at": self.ends.isoformat(),
            "staff_id": self.staff_id,
            "room_id": self.room_id,
        }


def _slot(dbsession: Session, place: Place, form: Mapping[str, str], check: FieldChecks) -> Any:
    """The slot ``form`` asks for (date, start, end, staff, room), its refusals kept in
    ``check`` (None then)."""
    staff = check(
        _one_of,
        "staff",
        form.get("staff", ""),
        {u.id: u for u in staff_of(dbsession, place.study, place.site)},
        _("Choose a staff member of this site."),
    )
    room = check(
        _one_of,
        "room",
        form.get("room", ""),
        {r.id: r for r in rooms_of(dbsession, place.site)},
        _("Choose a room of this site."),
    )
    times = check(_time_range, form, place.zone)
    if times is None or "staff" in check.errors or "room" in check.errors:
        return None
    return Slot(*times, staff.id if staff else None, room.id if room else None)


def _bookable_slot(
    dbsession: Session, place: Place, subject: Subject, visit: str, slot: Slot
) -> Timing | None:
    """Refuses a slot the site is closed for, or outside the visit's window when the study
    says so; the window when the slot is outside it (a warning)."""
    rules.check_open(
        slot.starts,
        slot.ends,
        place.zone,
        hours=hours_of(dbsession, place.site),
        closures=_closures(dbsession, place.site, slot.starts.astimezone(place.zone).date()),
        country=place.site.country,
        language=place.language,
    )
    timing = visit_dates.visit_timing(dbsession, subject, place.schedule, visit, 1)
    local_day = slot.starts.astimezone(place.zone).date()
    outside = timing if timing is not None and timing.outside(local_day) else None
    if outside is not None and place.study.visit_window_blocking:
        raise ValidationError("date", window_message(outside))
    return outside


def book(
    dbsession: Session,
    place: Place,
    subjects: Mapping[int, Subject],
    form: Mapping[str, str],
    actor: Actor,
) -> Booked:
    """Book the appointment described by ``form`` (subject, visit, date, start, end, staff,
    room, status: proposed or booked, video: an eConsult, once the site has a provider) at
    ``place``, for one of ``subjects`` (those the user may book, by id). Every refusal is a
    field message; audited."""
    check = FieldChecks()
    subject = check(
        _one_of, "subject", form.get("subject", ""), subjects, _("Choose a subject of this site.")
    )
    if subject is None and "subject" not in check.errors:
        check.errors["subject"] = _("Choose a subject of this site.")
    visit = form.get("visit", "")
    if visit not in {v.name for v in place.schedule.visits}:
        check.errors["visit"] = _("Choose a visit of the schedule.")
    status = form.get("status", S.BOOKED.value)
    if status not in (S.PROPOSED.value, S.BOOKED.value):
        check.errors["status"] = _("Choose proposed or booked.")
    by_video = bool(form.get("video"))
    if by_video and video.template_of(dbsession, place.site.id) is None:
        check.errors["video"] = _(
            "This site has no video provider: set its link in Rooms, hours and closures first."
        )
    slot = _slot(dbsession, place, form, check)
    if check.errors or subject is None or slot is None:
        raise FieldErrors(check.errors)
    outside = _bookable_slot(dbsession, place, subject, visit, slot)
    appointment = Appointment(
        tenant_id=place.site.tenant_id,
        study_id=place.site.study_id,
        site_id=place.site.id,
        subject_id=subject.id,
        visit=visit,
        staff_id=slot.staff_id,
        room_id=slot.room_id,
        starts_at=slot.starts,
        ends_at=slot.ends,
        status=AppointmentStatus(status),
        uid=f"{uuid.uuid4()}@datacapt",
        video=by_video,
        created_by_id=actor.user_id,
    )
    _save_free(dbsession, appointment)
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="appointment.booked",
        entity_type="appointment",
        entity_id=appointment.id,
        new={"visit": visit, "status": status, "video": by_video, **slot.audited()},
    )
    return Booked(appointment, outside)


#: The statuses of an appointment still to come, which may be moved.
MOVABLE = (S.PROPOSED, S.BOOKED, S.CONFIRMED)


def reschedule(
    dbsession: Session,
    place: Place,
    subject: Subject,
    appointment: Appointment,
    form: Mapping[str, str],
    actor: Actor,
) -> Booked:
    """Move ``appointment`` to the slot of ``form`` (date, start, end, staff, room) under the
    rules of a booking; its SEQUENCE rises, so calendars replace the event. Audited old → new."""
    if appointment.status not in MOVABLE:
        raise ValidationError("date", _("This appointment cannot be moved any more."))
    check = FieldChecks()
    slot = _slot(dbsession, place, form, check)
    if slot is None:
        raise FieldErrors(check.errors)
    outside = _bookable_slot(dbsession, place, subject, appointment.visit, slot)
    old = Slot(
        appointment.starts_at, appointment.ends_at, appointment.staff_id, appointment.room_id
    )
    if old == slot:
        return Booked(appointment, outside)
    _save_free(
        dbsession,
        appointment,
        starts_at=slot.starts,
        ends_at=slot.ends,
        staff_id=slot.staff_id,
        room_id=slot.room_id,
        sequence=appointment.sequence + 1,
    )
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="appointment.rescheduled",
        entity_type="appointment",
        entity_id=appointment.id,
        old=old.audited(),
        new=slot.audited(),
    )
    return Booked(appointment, outside)


def window_message(timing: Timing, *, saved: bool = False) -> Any:
    mapping = {
        "earliest": timing.earliest.isoformat() if timing.earliest else "",
        "latest": timing.latest.isoformat() if timing.latest else "",
    }
    if saved:
        return _(
            "The appointment was booked, but it is outside the visit's window, from "
            "${earliest} to ${latest}.",
            mapping=mapping,
        )
    return _(
        "This day is outside the visit's window, from ${earliest} to ${latest}.", mapping=mapping
    )


def _is_postgresql(dbsession: Session) -> bool:
    return dbsession.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True)
class _Claim:
    """What an appointment holds: its parties (by column) over a time range."""

    parties: dict[str, int | None]
    starts: datetime
    ends: datetime
    own_id: int


def _claim(appointment: Appointment, changes: Mapping[str, Any]) -> _Claim:
    def value(name: str) -> Any:
        return changes[name] if name in changes else getattr(appointment, name)

    return _Claim(
        {column: value(column) for column in EXCLUSIONS.values()},
        value("starts_at"),
        value("ends_at"),
        appointment.id or 0,
    )


def _save_free(dbsession: Session, appointment: Appointment, **changes: Any) -> None:
    """Flush ``appointment``, new or with ``changes`` (a move), unless it double-books
    someone: a message on each field concerned. On PostgreSQL the changes are made inside a
    savepoint (beginning one flushes what is pending), and once the constraint has refused
    them the same query as SQLite's names every party booked."""
    claim = _claim(appointment, changes)
    if not _is_postgresql(dbsession):
        with dbsession.no_autoflush:
            _check_free(dbsession, claim)
        dbsession.add(appointment)
        for name, new in changes.items():
            setattr(appointment, name, new)
        dbsession.flush()
        return
    try:
        with dbsession.begin_nested():
            dbsession.add(appointment)
            for name, new in changes.items():
                setattr(appointment, name, new)
            dbsession.flush()
    except IntegrityError as error:
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
        if constraint not in EXCLUSIONS:
            raise
        _check_free(dbsession, claim)
        field, message = CONFLICTS[EXCLUSIONS[constraint]]
        raise ValidationError(field, message) from None


def _check_free(dbsession: Session, claim: _Claim) -> None:
    """What the exclusion constraints refuse, asked in one query per booked party."""
    check = FieldChecks()
    for column, value in claim.parties.items():
        if value is None:
            continue
        clash = dbsession.scalar(
            select(Appointment.id)
            .where(
                getattr(Appointment, column) == value,
                Appointment.status != S.CANCELLED,
                Appointment.starts_at < claim.ends,
                Appointment.ends_at > claim.starts,
                Appointment.id != claim.own_id,
            )
            .limit(1)
        )
        if clash is not None:
            field, message = CONFLICTS[column]
            check.errors.setdefault(field, message)
    check.raise_any()


def change_status(
    dbsession: Session,
    subject: Subject,
    appointment: Appointment,
    status: str,
    actor: Actor,
) -> None:
    """Move ``appointment`` to ``status`` if the status it has allows it; a cancellation raises
    the iCalendar SEQUENCE (attendees' calendars replace the event). Audited."""
    try:
        new = AppointmentStatus(status)
    except ValueError:
        raise ValidationError("status", _("Choose a status.")) from None
    old = appointment.status
    if new not in NEXT_STATUS[old]:
        raise ValidationError("status", _("This appointment cannot take this status any more."))
    appointment.status = new
    appointment.sequence += 1
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="appointment.status_changed",
        entity_type="appointment",
        entity_id=appointment.id,
        field="status",
        old=old.value,
        new=new.value,
    )


def appointments_between(
    dbsession: Session,
    starts: datetime,
    ends: datetime,
    *,
    site_id: int | None = None,
    subject_id: int | None = None,
    staff_id: int | None = None,
) -> list[tuple[Appointment, Subject, User | None, Room | None]]:
    """The appointments overlapping [starts, ends), with their subject, staff and room (one
    query), filtered by whichever ids are given, in time order."""
    filters = [
        column == value
        for column, value in (
            (Appointment.site_id, site_id),
            (Appointment.subject_id, subject_id),
            (Appointment.staff_id, staff_id),
        )
        if value is not None
    ]
    rows = dbsession.execute(
        select(Appointment, Subject, User, Room)
        .join(Subject, Subject.id == Appointment.subject_id)
        .outerjoin(User, User.id == Appointment.staff_id)
        .outerjoin(Room, Room.id == Appointment.room_id)
        .where(Appointment.starts_at < ends, Appointment.ends_at > starts, *filters)
        .order_by(Appointment.starts_at, Appointment.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]
