"""The export job: run by the worker (or in-process after commit) for an export row."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from datacapt.actor import Actor
from datacapt.exports import definitions, services
from datacapt.exports.events import ExportFinished
from datacapt.exports.mail import MAIL_EXPORT
from datacapt.jobs import JobContext, enqueue_after_commit, job
from datacapt.models import DataExport, Study
from datacapt.models.exports import ExportState
from datacapt.reactions import publish

RUN_DUE_DEFINITIONS = "exports.run_due_definitions"
#: How often the worker looks for saved definitions whose slot has come.
DEFINITIONS_EVERY = timedelta(minutes=1)


def progress_reporter(ctx: JobContext, export_id: int) -> Callable[[int], None] | None:
    """Progress written at once on a connection of its own, so the page sees it while the job's
    transaction is still open. Not on SQLite: its one writer at a time is the job itself."""
    engine = ctx.registry["db.engine"]
    if engine.dialect.name == "sqlite":
        return None

    def report(percent: int) -> None:
        with engine.connect() as connection, connection.begin():
            connection.execute(
                update(DataExport)
                .where(DataExport.id == export_id)
                .values(
                    state=ExportState.RUNNING, progress=percent, progressed_at=datetime.now(UTC)
                )
            )

    report(0)
    return report


@job(services.RUN_EXPORT)
def run_export(ctx: JobContext, export_id: int, application_url: str | None = None) -> None:
    """Write the export's file; a refusal (a site or form gone meanwhile) fails it with its
    reason. Run again for a row already finished, it does nothing. The file is written beside
    its place and moved there whole, so a killed run leaves no half file to download, and two
    runs of one row (a retry beside the sweep's resend) write the same bytes. The requester is
    mailed, when ``application_url`` says where the page is."""
    dbsession = ctx.dbsession
    row = dbsession.get(DataExport, export_id)
    if row is None or row.state in (ExportState.DONE, ExportState.FAILED):
        return
    study = dbsession.get(Study, row.study_id)
    assert study is not None  # a foreign key keeps it
    options = replace(services.options_of(row.options), stamp=row.snapshot_at or row.created_at)
    target = services.export_path(ctx.registry, row)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        result = services.export(
            dbsession,
            study,
            options,
            partial,
            actor=Actor.system("export", user_id=row.requested_by_id),
            progress=progress_reporter(ctx, export_id),
        )
    except services.ExportRefused as refusal:
        row.state, row.error = ExportState.FAILED, str(refusal)
    else:
        os.replace(partial, target)
        row.state, row.progress = ExportState.DONE, 100
        row.values, row.size, row.sha256 = result.values, result.size, result.sha256
        row.expires_at = datetime.now(UTC) + services.KEPT_FOR
    finally:
        partial.unlink(missing_ok=True)
    row.finished_at = datetime.now(UTC)
    publish(
        ExportFinished(dbsession, Actor.system("export", user_id=row.requested_by_id), export=row)
    )
    if application_url and row.requested_by_id is not None:
        enqueue_after_commit(
            dbsession, MAIL_EXPORT, export_id=row.id, application_url=application_url
        )


@job(RUN_DUE_DEFINITIONS, every=DEFINITIONS_EVERY)
def run_due_definitions(ctx: JobContext) -> None:
    """The worker's periodic start of the scheduled export definitions whose slot has come."""
    definitions.run_due(ctx.dbsession)
