"""The worker's reminders: each staff member is mailed their appointments a day ahead, the
time shown in their own zone (else the site's); each invited subject theirs, in the site's zone
and the study's first language, naming the site and the time only, with the link to opt out."""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from datacapt import clock
from datacapt.actor import Actor
from datacapt.calendar import feeds, opt_out, reminders, services, video
from datacapt.i18n import MOMENT_PATTERN, _
from datacapt.jobs import JobContext, job
from datacapt.mail import send_mail_in

REMIND = "calendar.remind"
REMIND_EVERY = timedelta(minutes=5)
OPT_OUT_PATH = "/appointment-mails/"

log = logging.getLogger(__name__)


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
    _remind_subjects(ctx)


def _remind_subjects(ctx: JobContext) -> None:
    """Without ``datacapt.public_url`` the opt-out link could not be written, so subjects'
    reminders wait for that setting."""
    public_url = (ctx.registry.settings.get("datacapt.public_url") or "").strip().rstrip("/")
    if not public_url:
        log.warning("no datacapt.public_url: subjects' appointment reminders are not sent")
        return
    dbsession = ctx.dbsession
    for appointment, subject, site, study in reminders.due_subject_reminders(
        dbsession, clock.now()
    ):
        actor = Actor.system(REMIND, tenant_id=subject.tenant_id)
        address = feeds.subject_address(
            dbsession, ctx.registry, subject, actor, "appointment reminder"
        )
        if not address:
            continue
        zone = services.site_zone(study, site)
        language = study.languages[0] if study.languages else "en"
        send_mail_in(
            dbsession,
            to=address,
            subject=_("Appointment reminder"),
            template="mail/subject_appointment_reminder.jinja2",
            application_url=public_url,
            locale=language,
            when=format_datetime(
                appointment.starts_at, MOMENT_PATTERN, tzinfo=zone, locale=language
            ),
            zone=zone.key,
            site=site.name,
            video=video.link(video.template_of(dbsession, site.id), appointment),
            opt_out=f"{public_url}{OPT_OUT_PATH}{opt_out.new_token(dbsession, subject)}",
        )
