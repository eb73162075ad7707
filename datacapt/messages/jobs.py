"""The messages' work after commit: a subject's notice of a message from their site."""

from __future__ import annotations

from datacapt.jobs import JobContext, job
from datacapt.messages import notices
from datacapt.messages.services import NOTICE_JOB


@job(NOTICE_JOB)
def notice_subject_job(ctx: JobContext, message_id: int) -> None:
    notices.notify_subject(ctx.dbsession, ctx.registry, message_id)
