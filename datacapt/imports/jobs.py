"""The import jobs: the dry run of an uploaded file, and the confirmed run, each run by the
worker (or in-process after commit) for an import row."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update

from datacapt.actor import Actor
from datacapt.imports import services
from datacapt.jobs import JobContext, job
from datacapt.models import DataImport, ImportState, Study
from datacapt.reactions import reactions_of


def progress_reporter(
    ctx: JobContext, import_id: int, state: ImportState
) -> Callable[[int], None] | None:
    """Progress (and the run's ``state``) written at once on a connection of its own, so the
    page sees it while the job's transaction is still open; the job leaves the row alone until
    it ends, or this would wait for its lock. Not on SQLite: its one writer at a time is the
    job itself."""
    engine = ctx.registry["db.engine"]
    if engine.dialect.name == "sqlite":
        return None
    last = [-1]

    def report(percent: int) -> None:
        if percent == last[0]:
            return
        last[0] = percent
        with engine.connect() as connection, connection.begin():
            connection.execute(
                update(DataImport)
                .where(DataImport.id == import_id)
                .values(state=state, progress=percent)
            )

    report(0)
    return report


def _loaded(
    ctx: JobContext, import_id: int, *states: ImportState
) -> tuple[DataImport, Study] | None:
    """The import and its study, if the row is still waiting for this run or in it (a run cut
    short is run again; once it ended, another run of the same job does nothing)."""
    row = ctx.dbsession.get(DataImport, import_id)
    if row is None or row.state not in states:
        return None
    study = ctx.dbsession.get(Study, row.study_id)
    assert study is not None  # a foreign key keeps it
    return row, study


def _actor(user_id: int | None) -> Actor:
    return Actor.system("import", user_id=user_id)


@job(services.CHECK_IMPORT)
def check_import(ctx: JobContext, import_id: int) -> None:
    found = _loaded(ctx, import_id, ImportState.QUEUED, ImportState.CHECKING)
    if found is None:
        return
    row, study = found
    services.check(
        ctx.dbsession,
        ctx.registry,
        study,
        row,
        actor=_actor(row.requested_by_id),
        reactions=reactions_of(ctx.registry),
        progress=progress_reporter(ctx, import_id, ImportState.CHECKING),
    )


@job(services.WRITE_IMPORT)
def write_import(ctx: JobContext, import_id: int) -> None:
    found = _loaded(ctx, import_id, ImportState.WRITING)
    if found is None:
        return
    row, study = found
    services.write(
        ctx.dbsession,
        ctx.registry,
        study,
        row,
        actor=_actor(row.confirmed_by_id),
        reactions=reactions_of(ctx.registry),
        progress=progress_reporter(ctx, import_id, ImportState.WRITING),
    )
