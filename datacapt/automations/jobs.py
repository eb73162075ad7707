"""The automations' jobs: carrying out one run, and the periodic turn that asks for the runs
whose delay or retry wait is over."""

from __future__ import annotations

from datetime import timedelta

from datacapt.automations import services
from datacapt.jobs import JobContext, job

DUE_EVERY = timedelta(minutes=1)


@job(services.RUN_JOB)
def run_job(ctx: JobContext, run_id: int) -> None:
    services.carry_out(ctx.dbsession, ctx.registry, run_id)


@job("datacapt.automations.due", every=DUE_EVERY)
def due_job(ctx: JobContext) -> None:
    services.queue_due(ctx.dbsession)
