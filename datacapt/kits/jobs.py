"""The daily resupply: shipments proposed to the sites below their minimum."""

from __future__ import annotations

from datetime import timedelta

from datacapt.actor import Actor
from datacapt.jobs import JobContext, job
from datacapt.kits import services

PROPOSE_RESUPPLY = "kits.propose_resupply"
RESUPPLY_EVERY = timedelta(days=1)
ACTOR = Actor.system("resupply")


@job(PROPOSE_RESUPPLY, every=RESUPPLY_EVERY)
def propose_resupply(ctx: JobContext) -> None:
    services.propose_resupply(ctx.dbsession, ACTOR)
