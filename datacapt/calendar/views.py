"""Calendars of a site (or of one of its staff members) and of a subject, by day, week or
month, in the site's zone; booking an appointment and changing its status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from markupsafe import Markup
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from pyramid_mailer.message import Attachment
from sqlalchemy import select

from datacapt import clock
from datacapt.actor import Actor
from datacapt.calendar import feeds, opt_out, periods, services, video
from datacapt.ecrf.definition import text_in
from datacapt.htmx import page_view, redirect
from datacapt.i18n import MOMENT_PATTERN, _, zone_label
from datacapt.mail import send_mail
from datacapt.models import Appointment, AppointmentStatus, Room, Subject, SubjectStatus, User
from datacapt.permissions import Permission
from datacapt.resources import SiteResource, SubjectResource
from datacapt.subjects import contacts
from datacapt.validation import ValidationError, errors_of, whole_number

CALENDAR = "calendar/calendar.jinja2"
BOOKING = "calendar/book.jinja2"
MOVING = "calendar/reschedule.jinja2"
OPT_OUT_PAGE = "calendar/opt_out.jinja2"
OPT_OUT_ROUTE = "appointment_mail_opt_out"
STATUS_LABELS = {
    AppointmentStatus.PROPOSED: _("Proposed"),
    AppointmentStatus.BOOKED: _("Booked"),
    AppointmentStatus.CONFIRMED: _("Confirmed"),
    AppointmentStatus.CANCELLED: _("Cancelled"),
    AppointmentStatus.NO_SHOW: _("No-show"),
    AppointmentStatus.DONE: _("Done"),
}
#: What the buttons that move an appointment on say.
STATUS_ACTIONS = {
    AppointmentStatus.BOOKED: _("Book"),
    AppointmentStatus.CONFIRMED: _("Confirm"),
    AppointmentStatus.CANCELLED: _("Cancel"),
    AppointmentStatus.NO_SHOW: _("No-show"),
    AppointmentStatus.DONE: _("Done"),
}
VIEW_LABELS = {"day": _("Day"), "week": _("Week"), "month": _("Month")}
#: Subjects who may still be given appointments.
BOOKABLE = (SubjectStatus.SCREENING, SubjectStatus.INCLUDED)


def _shown(request: Request, value: datetime, zone: ZoneInfo, pattern: str) -> Markup:
    """A time in the site's zone (``03 Dec 2026 14:05`` or ``14:05``), the zone on hover."""
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        value.isoformat(),
        zone_label(zone, value),
        format_datetime(value, pattern, tzinfo=zone, locale=request.locale_name),
    )


@dataclass(frozen=True)
class Entry:
    """One appointment as a calendar cell shows it."""

    appointment: Appointment
    subject: Subject
    staff: User | None
    room: Room | None
    starts: Markup
    ends: Markup
    moment: Markup
    visit: str
    status: Any
    actions: list[tuple[str, Any]]
    movable: bool
    video: str | None  # an eConsult's link


def _visit_titles(context: Any, request: Request) -> dict[str, str]:
    design = context.study_node.design
    if design is None:
        return {}
    definition = design.definition
    return {
        v.name: text_in(v.title, request.locale_name, definition.default_language)
        for v in definition.schedule.visits
    }


def _calendar(
    context: Any,
    request: Request,
    zone: ZoneInfo,
    *,
    filters: Mapping[str, int | None],
    query: Mapping[str, Any],
) -> dict[str, Any]:
    view = request.GET.get("view", "week")
    if view not in periods.PERIODS:
        view = "week"
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = clock.now().astimezone(zone).date()
    shown = periods.period(view, day)
    starts, ends = periods.local_bounds(shown.first, shown.last, zone)
    titles = _visit_titles(context, request)
    may_book = request.has_permission(Permission.BOOK_APPOINTMENT, context)
    template = video.template_of(request.dbsession, context.site.id)
    by_day: dict[date, list[Entry]] = {}
    for appointment, subject, staff, room in services.appointments_between(
        request.dbsession, starts, ends, **filters
    ):
        actions = [
            (status.value, STATUS_ACTIONS[status])
            for status in services.NEXT_STATUS[appointment.status]
            if may_book
        ]
        entry = Entry(
            appointment,
            subject,
            staff,
            room,
            _shown(request, appointment.starts_at, zone, "HH:mm"),
            _shown(request, appointment.ends_at, zone, "HH:mm"),
            _shown(request, appointment.starts_at, zone, MOMENT_PATTERN),
            titles.get(appointment.visit, appointment.visit),
            STATUS_LABELS[appointment.status],
            actions,
            may_book and appointment.status in services.MOVABLE,
            video.link(template, appointment),
        )
        by_day.setdefault(appointment.starts_at.astimezone(zone).date(), []).append(entry)
    kept = {k: v for k, v in query.items() if v is not None}
    here = request.resource_path(context, f"@@{request.view_name}")

    def link(view: str, day: date) -> str:
        return f"{here}?{urlencode({'view': view, 'day': day.isoformat(), **kept})}"

    def book_link(day: date) -> str:
        booking = request.resource_path(context, "@@book")
        return f"{booking}?{urlencode({'date': day.isoformat(), **kept})}"

    return {
        "link": link,
        "book_link": book_link,
        "period": shown,
        "weekdays": [format_date(day, "EEE", locale=request.locale_name) for day in shown.weeks[0]],
        "by_day": by_day,
        "zone": zone,
        "today": clock.now().astimezone(zone).date(),
        "views": VIEW_LABELS,
        "may_book": may_book,
    }


def _site_staff(context: SiteResource, request: Request) -> dict[int, User]:
    return {u.id: u for u in services.staff_of(request.dbsession, context.study, context.site)}


@page_view(SiteResource, CALENDAR, Permission.VIEW_SUBJECT, name="calendar")
def site_calendar(context: SiteResource, request: Request) -> dict[str, Any]:
    """The site's appointments; ``?staff=ID``: one staff member's only."""
    staff = _site_staff(context, request)
    staff_id = whole_number(request.GET.get("staff"))
    chosen = staff.get(staff_id or 0)
    zone = services.site_zone(context.study, context.site)
    data = _calendar(
        context,
        request,
        zone,
        filters={"site_id": context.site.id, "staff_id": chosen.id if chosen else None},
        query={"staff": chosen.id if chosen else None},
    )
    return {**data, "site": context.site, "staff": staff, "chosen": chosen, "subject": None}


@page_view(SubjectResource, CALENDAR, Permission.VIEW_SUBJECT, name="appointments")
def subject_calendar(context: SubjectResource, request: Request) -> dict[str, Any]:
    zone = services.site_zone(context.study, context.site)
    data = _calendar(context, request, zone, filters={"subject_id": context.subject.id}, query={})
    return {**data, "site": context.site, "staff": {}, "chosen": None, "subject": context.subject}


def _bookable(request: Request, context: SiteResource) -> dict[int, Subject]:
    return {
        s.id: s
        for s in request.dbsession.scalars(
            select(Subject)
            .where(Subject.site_id == context.site.id, Subject.status.in_(BOOKABLE))
            .order_by(Subject.label)
        )
    }


def _booking_page(
    context: SiteResource, request: Request, values: Mapping[str, str], errors: Mapping[str, Any]
) -> dict[str, Any]:
    subjects = _bookable(request, context).values()
    staff = _site_staff(context, request).values()
    rooms = services.rooms_of(request.dbsession, context.site)
    return {
        "subject_choices": [(str(s.id), s.label) for s in subjects],
        "visit_choices": list(_visit_titles(context, request).items()),
        "staff_choices": [(str(u.id), u.name) for u in staff],
        "room_choices": [(str(r.id), r.name) for r in rooms],
        "zone": services.site_zone(context.study, context.site),
        "values": values,
        "errors": errors,
    }


@page_view(SiteResource, BOOKING, Permission.BOOK_APPOINTMENT, name="book")
def booking_form(context: SiteResource, request: Request) -> dict[str, Any]:
    """The booking form, filled from the calendar (``?date=``, ``?staff=``) or a subject's
    page (``?subject=``)."""
    values = {key: request.GET.get(key, "")[:40] for key in ("date", "subject", "staff", "visit")}
    return _booking_page(context, request, values, {})


@view_config(
    context=SiteResource,
    name="book",
    request_method="POST",
    renderer=BOOKING,
    permission=Permission.BOOK_APPOINTMENT,
)
def book(context: SiteResource, request: Request) -> Any:
    values = {
        key: request.POST.get(key, "")[:100]
        for key in (
            "subject",
            "visit",
            "date",
            "start",
            "end",
            "staff",
            "room",
            "status",
            "video",
            "invite_subject",
        )
    }
    design = context.study_node.design
    try:
        if design is None:
            raise ValidationError("visit", _("The study has no published schedule yet."))
        place = services.Place(
            context.study, context.site, design.definition.schedule, request.locale_name
        )
        booked = services.book(
            request.dbsession, place, _bookable(request, context), values, request.actor
        )
    except ValidationError as error:
        request.response.status_int = 422
        return _booking_page(context, request, values, errors_of(error))
    if values["invite_subject"] and request.has_permission(Permission.VIEW_PII, context):
        booked.appointment.subject_invited = True
    _invite(context, request, booked.appointment)
    message = _("The appointment was booked.")
    if booked.outside is not None:
        message = services.window_message(booked.outside, saved=True)
    request.session.flash(request.localizer.translate(message))
    return redirect(
        request,
        request.resource_url(context, "@@calendar", query={"day": values["date"]}),
    )


def _appointment(context: SiteResource, request: Request, raw: str | None) -> Appointment:
    """An appointment of this site by its id (another site's, or none: 404)."""
    appointment = request.dbsession.scalar(
        select(Appointment).where(
            Appointment.site_id == context.site.id,
            Appointment.id == (whole_number(raw) or 0),
        )
    )
    if appointment is None:
        raise HTTPNotFound()
    return appointment


def _move_page(
    context: SiteResource,
    request: Request,
    appointment: Appointment,
    values: Mapping[str, str],
    errors: Mapping[str, Any],
) -> dict[str, Any]:
    subject = request.dbsession.get_one(Subject, appointment.subject_id)
    return {
        **_booking_page(context, request, values, errors),
        "appointment": appointment,
        "subject": subject,
        "visit": _visit_titles(context, request).get(appointment.visit, appointment.visit),
    }


@page_view(SiteResource, MOVING, Permission.BOOK_APPOINTMENT, name="reschedule")
def reschedule_form(context: SiteResource, request: Request) -> dict[str, Any]:
    """``?id=``: the appointment's slot, to change."""
    appointment = _appointment(context, request, request.GET.get("id"))
    zone = services.site_zone(context.study, context.site)
    starts, ends = appointment.starts_at.astimezone(zone), appointment.ends_at.astimezone(zone)
    values = {
        "date": starts.date().isoformat(),
        "start": starts.strftime("%H:%M"),
        "end": ends.strftime("%H:%M"),
        "staff": str(appointment.staff_id or ""),
        "room": str(appointment.room_id or ""),
    }
    return _move_page(context, request, appointment, values, {})


@view_config(
    context=SiteResource,
    name="reschedule",
    request_method="POST",
    renderer=MOVING,
    permission=Permission.BOOK_APPOINTMENT,
)
def reschedule(context: SiteResource, request: Request) -> Any:
    appointment = _appointment(context, request, request.POST.get("id"))
    values = {
        key: request.POST.get(key, "")[:100] for key in ("date", "start", "end", "staff", "room")
    }
    design = context.study_node.design
    subject = request.dbsession.get_one(Subject, appointment.subject_id)
    try:
        if design is None:
            raise ValidationError("date", _("The study has no published schedule yet."))
        place = services.Place(
            context.study, context.site, design.definition.schedule, request.locale_name
        )
        moved = services.reschedule(
            request.dbsession, place, subject, appointment, values, request.actor
        )
    except ValidationError as error:
        request.response.status_int = 422
        return _move_page(context, request, appointment, values, errors_of(error))
    _invite(context, request, appointment)
    message = _("The appointment was moved.")
    if moved.outside is not None:
        message = services.window_message(moved.outside, saved=True)
    request.session.flash(request.localizer.translate(message))
    return redirect(
        request, request.resource_url(context, "@@calendar", query={"day": values["date"]})
    )


@view_config(
    context=SiteResource,
    name="appointment-status",
    request_method="POST",
    renderer="calendar/_refused.jinja2",
    permission=Permission.BOOK_APPOINTMENT,
)
def change_status(context: SiteResource, request: Request) -> Any:
    """``id`` (an appointment of this site, else 404) to ``status``; back to its day."""
    appointment = _appointment(context, request, request.POST.get("id"))
    subject = request.dbsession.get_one(Subject, appointment.subject_id)
    try:
        services.change_status(
            request.dbsession, subject, appointment, request.POST.get("status", ""), request.actor
        )
    except ValidationError as error:
        request.response.status_int = 422
        return {"errors": errors_of(error)}
    if appointment.status is AppointmentStatus.CANCELLED:
        _invite(context, request, appointment)
    request.session.flash(request.localizer.translate(_("The appointment was changed.")))
    zone = services.site_zone(context.study, context.site)
    day = appointment.starts_at.astimezone(zone).date().isoformat()
    view = request.POST.get("view", "week")
    query = {"day": day, "view": view if view in periods.PERIODS else "week"}
    return redirect(request, request.resource_url(context, "@@calendar", query=query))


def _invite(context: SiteResource, request: Request, appointment: Appointment) -> None:
    """Mail the appointment's staff member its invitation (REQUEST, or CANCEL once cancelled),
    and the subject theirs if they were invited, sent when the transaction commits."""
    organizer = (
        parseaddr(request.registry.settings.get("mail.default_sender", ""))[1]
        or "calendar@datacapt.invalid"
    )
    found = feeds.invitation(
        request.dbsession,
        context.study,
        context.site,
        appointment,
        clock.now(),
        organizer=organizer,
    )
    zone = services.site_zone(context.study, context.site)
    if appointment.subject_invited:
        _invite_subject(context, request, appointment, organizer, zone)
    if found is None:
        return
    send_mail(
        request,
        to=found.staff,
        template="mail/appointment.jinja2",
        video=found.video,
        **_invitation_mail(found.method, found.body, appointment, zone, found.staff.locale or "en"),
    )


def _invitation_mail(
    method: str, body: str, appointment: Appointment, zone: ZoneInfo, locale: str
) -> dict[str, Any]:
    """What the staff member's and the subject's invitation mails share: the subject line, the
    iCalendar attachment and the time in the site's zone."""
    return {
        "subject": _("Appointment cancelled") if method == "CANCEL" else _("Appointment"),
        "attachments": [
            Attachment("appointment.ics", f"text/calendar; method={method}; charset=UTF-8", body)
        ],
        "cancelled": method == "CANCEL",
        "when": format_datetime(appointment.starts_at, MOMENT_PATTERN, tzinfo=zone, locale=locale),
        "zone": zone.key,
    }


@view_config(
    context=SiteResource,
    name="calendar-feed",
    request_method="POST",
    renderer="calendar/_feed.jinja2",
    permission=Permission.BOOK_APPOINTMENT,
)
def reset_feed(context: SiteResource, request: Request) -> dict[str, Any]:
    """A new address for the site's feed (``scope=site``) or the user's own at the site
    (``scope=mine``, for its staff); shown once, the former one stops working."""
    user = None
    if request.POST.get("scope") == "mine":
        user = _site_staff(context, request).get(request.actor.user_id or 0)
        if user is None:
            raise HTTPNotFound()
    token = feeds.reset_feed(request.dbsession, context.site, user, request.actor)
    url = request.route_url("calendar_feed", token=token)
    return {"url": url, "mine": user is not None}


@view_config(
    route_name="calendar_feed", request_method=("GET", "HEAD"), permission=NO_PERMISSION_REQUIRED
)
def feed(request: Request) -> Response:
    """A feed for calendar programs, which cannot sign in: the secret address is the key."""
    found = feeds.feed_of(request.dbsession, request.matchdict["token"])
    if found is None:  # a plain 404 for the program, not the sign-in page people get
        return HTTPNotFound(content_type="text/plain", body="Not found")
    body = feeds.feed_calendar(request.dbsession, found, clock.now())
    response = Response(body=body, content_type="text/calendar", charset="utf-8")
    response.cache_control = "private, no-cache"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _invite_subject(
    context: SiteResource,
    request: Request,
    appointment: Appointment,
    organizer: str,
    zone: ZoneInfo,
) -> None:
    """The subject's invitation, at the e-mail of their contact details: the site and the
    time only, never the study, and the link to opt out. Without an e-mail on file (or once
    nothing may be sent to them: opted out, withdrawn) the subject is not invited."""
    if contacts.is_contact_stopped(request.dbsession, appointment.subject_id):
        appointment.subject_invited = False
        request.session.flash(
            request.localizer.translate(
                _("The subject asked for no more appointment e-mails: none was sent to them.")
            )
        )
        return
    found = feeds.subject_invitation(
        request.dbsession,
        request.registry,
        context.study,
        context.site,
        appointment,
        clock.now(),
        organizer=organizer,
        actor=request.actor,
    )
    if found is None:
        appointment.subject_invited = False
        request.session.flash(
            request.localizer.translate(
                _("The subject has no e-mail address on file: no invitation was sent to them.")
            )
        )
        return
    subject = request.dbsession.get_one(Subject, appointment.subject_id)
    token = opt_out.new_token(request.dbsession, subject)
    send_mail(
        request,
        to=found.address,
        template="mail/subject_appointment.jinja2",
        site=context.site.name,
        video=found.video,
        opt_out=request.route_url(OPT_OUT_ROUTE, token=token),
        **_invitation_mail(found.method, found.body, appointment, zone, request.locale_name),
    )


def _unknown_link(request: Request) -> dict[str, Any]:
    """The page of an address that is not one, GET or POST alike: a 404 of its own, since
    the app's would send a person without a session to the sign-in page."""
    request.response.status_int = 404
    return {"unknown": True, "done": False}


@view_config(
    route_name=OPT_OUT_ROUTE,
    request_method="GET",
    renderer=OPT_OUT_PAGE,
    permission=NO_PERMISSION_REQUIRED,
)
def opt_out_page(request: Request) -> dict[str, Any]:
    """What the link in a subject's mail opens: a button to confirm, so that a mail scanner
    following links changes nothing."""
    link = opt_out.link_of(request.dbsession, request.matchdict["token"])
    if link is None:
        return _unknown_link(request)
    return {"unknown": False, "done": link.opted_out_at is not None}


@view_config(
    route_name=OPT_OUT_ROUTE,
    request_method="POST",
    renderer=OPT_OUT_PAGE,
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,
)
def opt_out_confirmed(request: Request) -> dict[str, Any]:
    """No session to hold a CSRF token: the secret address is the key, and all it can do is
    stop mail."""
    link = opt_out.link_of(request.dbsession, request.matchdict["token"])
    if link is None:
        return _unknown_link(request)
    actor = Actor.subject(link.subject_id, tenant_id=link.tenant_id, address=request.client_addr)
    opt_out.opt_out(request.dbsession, link, clock.now(), actor)
    return {"unknown": False, "done": True}
