"""Which appointments are due a reminder: those starting within a day whose staff member (or
invited subject) has not been reminded of that start (moving an appointment re-plans its
reminder)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from datacapt.calendar.services import MOVABLE
from datacapt.models import Appointment, Site, Study, Subject, User
from datacapt.subjects.contacts import contact_stopped

#: How long before an appointment its staff member is reminded of it.
REMINDER_LEAD = timedelta(hours=24)


def due_reminders(
    dbsession: Session, now: datetime
) -> list[tuple[Appointment, Subject, User, Site, Study]]:
    """Appointments still to come that start within :data:`REMINDER_LEAD` and whose staff
    member has not been reminded of this start (a moved appointment is due again), with what
    the reminder shows; each is marked reminded."""
    rows = dbsession.execute(
        select(Appointment, Subject, User, Site, Study)
        .join(Subject, Subject.id == Appointment.subject_id)
        .join(User, User.id == Appointment.staff_id)
        .join(Site, Site.id == Appointment.site_id)
        .join(Study, Study.id == Appointment.study_id)
        .where(
            Appointment.status.in_(MOVABLE),
            Appointment.starts_at > now,
            Appointment.starts_at <= now + REMINDER_LEAD,
            or_(
                Appointment.reminded_for.is_(None),
                Appointment.reminded_for != Appointment.starts_at,
            ),
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .with_for_update(of=Appointment, skip_locked=True)
    ).all()
    for appointment, *_rest in rows:
        appointment.reminded_for = appointment.starts_at
    return [tuple(row) for row in rows]  # type: ignore[misc]


def due_subject_reminders(
    dbsession: Session, now: datetime
) -> list[tuple[Appointment, Subject, Site, Study]]:
    """Appointments still to come within :data:`REMINDER_LEAD` whose subject was invited,
    may still be contacted (:func:`contact_stopped`) and has not been reminded of this start;
    each is marked reminded."""
    rows = dbsession.execute(
        select(Appointment, Subject, Site, Study)
        .join(Subject, Subject.id == Appointment.subject_id)
        .join(Site, Site.id == Appointment.site_id)
        .join(Study, Study.id == Appointment.study_id)
        .where(
            Appointment.subject_invited.is_(True),
            Appointment.status.in_(MOVABLE),
            Appointment.starts_at > now,
            Appointment.starts_at <= now + REMINDER_LEAD,
            or_(
                Appointment.subject_reminded_for.is_(None),
                Appointment.subject_reminded_for != Appointment.starts_at,
            ),
            ~contact_stopped(Subject.id),
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .with_for_update(of=Appointment, skip_locked=True)
    ).all()
    for appointment, *_rest in rows:
        appointment.subject_reminded_for = appointment.starts_at
    return [tuple(row) for row in rows]  # type: ignore[misc]
