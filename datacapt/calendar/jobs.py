"""The worker's reminders: each staff member is mailed their appointments a day ahead, the
time shown in their own zone (else the site's)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from datacapt import clock
from datacapt.calendar import reminders
from datacapt.i18n import MOMENT_PATTERN, _
from datacapt.jobs import JobContext, job
from datacapt.mail import send_mail_in

REMIND = "calendar.remind"
REMIND_EVERY = timedelta(minutes=5)


@job(REMIND, every=REMIND_EVERY)
def remind(ctx: JobContext) -> None:
    for appointment, subject, staff, site, study in reminders.due_reminders(
        ctx.dbsession, clock.now()
    ):
        zone = ZoneInfo(staff.timezone or site.timezone or study.timezone)
        send_mail_in(
            ctx.dbsession,
            to=staff,
            subject=_("Appointment reminder"),
            template="mail/appointment_reminder.jinja2",
            application_url="",
            when=format_datetime(
                appointment.starts_at, MOMENT_PATTERN, tzinfo=zone, locale=staff.locale or "en"
            ),
            zone=zone.key,
            subject_label=subject.label,
            site=site.code,
        )
