"""The daily retention run: the worker applies every tenant's retention policies (legal holds
kept, the run logged like one asked for on the retention page). The dry run stays a person's
action: counting without acting is only useful to someone reading the result."""

from __future__ import annotations

from datetime import timedelta

from datacapt.actor import Actor
from datacapt.jobs import JobContext, job
from datacapt.repository import rights

RETENTION = "repository.retention"
RETENTION_EVERY = timedelta(days=1)
ACTOR = Actor.system("retention schedule")


@job(RETENTION, every=RETENTION_EVERY)
def apply_retention(ctx: JobContext) -> None:
    rights.run_scheduled_retention(ctx.dbsession, ACTOR)
