"""Retrying an export whose job failed or died: the same row, the same snapshot time, so the
retry writes the same bytes as a first run that had gone through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.exports.deterministic import snapshot_second
from datacapt.exports.services import RUN_EXPORT
from datacapt.jobs import enqueue_after_commit
from datacapt.models import DataExport
from datacapt.models.exports import ExportState

#: A queued or running export without a sign of life (a progress report) for this long has
#: lost its job (a killed worker, a job that gave up): it may be retried.
STUCK_AFTER = timedelta(minutes=15)


class NotRetryable(ValueError):
    """The export is done, or its job may still be at work."""


def retryable(row: DataExport, now: datetime | None = None) -> bool:
    if row.state is ExportState.FAILED:
        return True
    if row.state is ExportState.DONE:
        return False
    last_sign = row.progressed_at or row.created_at
    return last_sign is not None and last_sign <= (now or datetime.now(UTC)) - STUCK_AFTER


def retry_export(
    dbsession: Session,
    row: DataExport,
    actor: Actor,
    *,
    application_url: str | None = None,
    now: datetime | None = None,
) -> DataExport:
    """Queue the export's job again (audited); refused while it may still run or once done."""
    if not retryable(row, now):
        state = "done" if row.state is ExportState.DONE else "still running"
        raise NotRetryable(f"export {row.id} is {state}: nothing to retry")
    audit.record(
        dbsession,
        actor,
        tenant_id=row.tenant_id,
        study_id=row.study_id,
        action="data.export_retried",
        entity_type="data_export",
        entity_id=row.id,
        old={"state": row.state.value, "progress": row.progress},
        new={"state": ExportState.QUEUED.value},
    )
    if row.snapshot_at is None:  # asked before snapshot times were recorded
        row.snapshot_at = snapshot_second(row.created_at)
    row.state, row.progress, row.error = ExportState.QUEUED, 0, None
    row.values = row.size = row.sha256 = None
    row.finished_at = row.progressed_at = row.expires_at = None
    dbsession.flush()
    enqueue_after_commit(dbsession, RUN_EXPORT, export_id=row.id, application_url=application_url)
    return row
