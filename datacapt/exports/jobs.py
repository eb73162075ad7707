"""The export job: run by the worker (or in-process after commit) for an export row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import update

from datacapt.actor import Actor
from datacapt.exports import services
from datacapt.jobs import JobContext, job
from datacapt.models import DataExport, Study
from datacapt.models.exports import ExportState


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
                .values(state=ExportState.RUNNING, progress=percent)
            )

    report(0)
    return report


@job(services.RUN_EXPORT)
def run_export(ctx: JobContext, export_id: int) -> None:
    """Write the export's file; a refusal (a site or form gone meanwhile) fails it with its
    reason. Run again for a row already finished, it does nothing."""
    dbsession = ctx.dbsession
    row = dbsession.get(DataExport, export_id)
    if row is None or row.state in (ExportState.DONE, ExportState.FAILED):
        return
    study = dbsession.get(Study, row.study_id)
    assert study is not None  # a foreign key keeps it
    options = services.options_of(row.options)
    target = services.export_path(ctx.registry, row)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = services.export(
            dbsession,
            study,
            options,
            target,
            actor=Actor.system("export", user_id=row.requested_by_id),
        )
    except services.ExportRefused as refusal:
        row.state, row.error = ExportState.FAILED, str(refusal)
    else:
        row.state, row.progress = ExportState.DONE, 100
        row.values, row.size, row.sha256 = result.values, result.size, result.sha256
        row.expires_at = datetime.now(UTC) + services.KEPT_FOR
    row.finished_at = datetime.now(UTC)
