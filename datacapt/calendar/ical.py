"""iCalendar (RFC 5545) for feeds and invitations, written with the ``icalendar`` library.

Times are written in UTC (``20261025T003000Z``): every program reads them the same, where a
VTIMEZONE of our own would be one more thing for each to interpret, and the instant is what was
booked (the site's wall-clock time is in the booking form and the calendar pages). An event
names the subject by its pseudonymous ID and the visit only: no study, no diagnosis, no
personal data; an eConsult carries its video link (URL, and the description). Its UID never
changes; its SEQUENCE rises with each change announced, so calendar programs replace the event
instead of adding one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from icalendar import Calendar, Event, vCalAddress, vText

from datacapt.models import Appointment, AppointmentStatus

PRODID = "-//Datacapt//Calendar//EN"
#: RFC 5545 STATUS of each appointment status.
EVENT_STATUS = {
    AppointmentStatus.PROPOSED: "TENTATIVE",
    AppointmentStatus.BOOKED: "CONFIRMED",
    AppointmentStatus.CONFIRMED: "CONFIRMED",
    AppointmentStatus.DONE: "CONFIRMED",
    AppointmentStatus.NO_SHOW: "CONFIRMED",
    AppointmentStatus.CANCELLED: "CANCELLED",
}


@dataclass(frozen=True)
class Listed:
    """An appointment with what its event shows."""

    appointment: Appointment
    subject_label: str
    visit: str
    place: str  # the room and the site
    attendee: tuple[str, str] | None = None  # the staff member's (name, e-mail)
    video: str | None = None  # an eConsult's link


def event(listed: Listed, stamp: datetime, organizer: str | None = None) -> Event:
    appointment = listed.appointment
    found = Event()
    found.add("uid", appointment.uid)
    found.add("sequence", appointment.sequence)
    found.add("dtstamp", stamp)
    found.add("dtstart", appointment.starts_at)
    found.add("dtend", appointment.ends_at)
    found.add("summary", f"{listed.subject_label} · {listed.visit}")
    found.add("location", listed.place)
    found.add("status", EVENT_STATUS[appointment.status])
    if listed.video is not None:  # URL for the programs that read it, the text for the rest
        found.add("url", listed.video)
        found.add("description", listed.video)
    if organizer is not None:
        found.add("organizer", vCalAddress(f"mailto:{organizer}"))
    if listed.attendee is not None:
        name, address = listed.attendee
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        found.add("attendee", attendee)
    return found


def calendar(
    listed: Iterable[Listed],
    stamp: datetime,
    *,
    name: str | None = None,
    method: str | None = None,
    organizer: str | None = None,
) -> bytes:
    """A VCALENDAR of ``listed`` (a feed; with ``method`` REQUEST or CANCEL, an invitation)."""
    found = Calendar()
    found.add("prodid", PRODID)
    found.add("version", "2.0")
    if method is not None:
        found.add("method", method)
    if name is not None:
        found.add("x-wr-calname", name)
    for entry in listed:
        found.add_component(event(entry, stamp, organizer))
    return found.to_ical()
