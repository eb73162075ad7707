"""The worker's ePRO chores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from datacapt.actor import Actor
from datacapt.epro import services
from datacapt.jobs import JobContext, job

SWEEP_EVERY = timedelta(minutes=10)


@job("datacapt.epro.sweep", every=SWEEP_EVERY)
def sweep_job(ctx: JobContext) -> None:
    """Questionnaires whose window closed unanswered become missed; the links and reminders
    due are queued (each mailed by its own job, after this one commits)."""
    now = datetime.now(UTC)
    services.mark_missed(ctx.dbsession, now, Actor.system("epro-sweep"))
    services.send_due_mails(ctx.dbsession, now)


@job(services.SEND_JOB)
def send_link_job(ctx: JobContext, occurrence_id: int, application_url: str) -> None:
    services.send_link(ctx.dbsession, ctx.registry, occurrence_id, application_url)
