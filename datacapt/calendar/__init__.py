"""Appointments of subjects at their site (a staff member, a room, a time in the site's zone),
without double bookings: calendars per site, staff member and subject, and iCalendar feeds and
invitations. The rules are in :mod:`.services` and :mod:`.rules`."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_route("calendar_feed", "/calendar-feeds/{token}.ics")
    config.add_route("appointment_mail_opt_out", "/appointment-mails/{token}")
    config.scan(".views")
    config.scan(".settings_views")
    config.scan(".jobs")
