"""The worker's ePRO chores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from datacapt.actor import Actor
from datacapt.epro import services
from datacapt.jobs import JobContext, job

SWEEP_EVERY = timedelta(minutes=10)


@job("datacapt.epro.mark_missed", every=SWEEP_EVERY)
def mark_missed_job(ctx: JobContext) -> None:
    """Questionnaires whose window closed unanswered become missed."""
    services.mark_missed(ctx.dbsession, datetime.now(UTC), Actor.system("epro-sweep"))


@job(services.SEND_JOB)
def send_link_job(ctx: JobContext, occurrence_id: int, application_url: str) -> None:
    services.send_link(ctx.dbsession, ctx.registry, occurrence_id, application_url)
