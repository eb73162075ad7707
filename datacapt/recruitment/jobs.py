"""The recruitment's jobs: sending a campaign's mails."""

from __future__ import annotations

from datacapt.jobs import JobContext, job
from datacapt.recruitment import campaigns


@job(campaigns.SEND_JOB)
def send_campaign_job(ctx: JobContext, campaign_id: int, application_url: str, locale: str) -> None:
    campaigns.send(ctx.dbsession, ctx.registry, campaign_id, application_url, locale)
