"""Imports as a data manager or an operator runs them: the file stored outside the web root and
checked at once for what makes it unreadable, a dry run reporting what would change and every
refused row, then — confirmed — the same run written, whole or not at all."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from pyramid.registry import Registry
from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.clock import installation_today
from datacapt.ecrf.definition import Definition
from datacapt.ecrf.versions import published_design
from datacapt.i18n import _
from datacapt.imports import long_csv, odm_xml, redcap_csv
from datacapt.imports.cells import Cell, Refusal, Unreadable
from datacapt.imports.planning import Run, run
from datacapt.imports.report import Report, message
from datacapt.jobs import enqueue_after_commit
from datacapt.models import DataImport, ImportFormat, ImportState, Study
from datacapt.reactions import Reactions

CHECK_IMPORT = "imports.check"
WRITE_IMPORT = "imports.write"
#: The newest imports a study's page lists.
LISTED = 20
#: The longest file name kept (the rest is cut).
MAX_NAME = 200

Reader = Callable[[BinaryIO, Definition], Iterator[Cell | Refusal]]
READERS: dict[ImportFormat, Reader] = {
    ImportFormat.CSV: long_csv.read,
    ImportFormat.REDCAP: redcap_csv.read,
    ImportFormat.ODM: odm_xml.read,
}
SUFFIXES = {ImportFormat.CSV: ".csv", ImportFormat.REDCAP: ".csv", ImportFormat.ODM: ".xml"}


class TooBig(ValueError):
    """The file is larger than the configured limit."""


def import_path(registry: Registry, row: DataImport) -> Path:
    """Where an import's file lives: the configured folder, outside the web root."""
    folder: Path = registry["imports.folder"]
    return folder / str(row.tenant_id) / f"import-{row.id}{SUFFIXES[row.format]}"


def _design(dbsession: Session, study: Study) -> Definition:
    design = published_design(dbsession, study)
    if design is None:
        raise Unreadable(_("The study has no published design to import data into."))
    return design.definition


def check_readable(path: Path, kind: ImportFormat, definition: Definition) -> None:
    """What can be told at once: the file is the format it is said to be (its header, its
    root element). Raises Unreadable."""
    with path.open("rb") as raw:
        if kind is ImportFormat.CSV:
            long_csv.check(raw)
        elif kind is ImportFormat.REDCAP:
            redcap_csv.check(raw, definition)
        else:
            odm_xml.check(raw)


def _store(source: BinaryIO, target: Path, limit: int) -> tuple[int, str]:
    """Copy ``source`` to ``target`` in blocks; its size and SHA-256. TooBig past ``limit``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        for block in iter(lambda: source.read(1 << 20), b""):
            size += len(block)
            if size > limit:
                raise TooBig()
            digest.update(block)
            out.write(block)
    return size, digest.hexdigest()


def receive(
    dbsession: Session,
    registry: Registry,
    study: Study,
    *,
    source: BinaryIO,
    file_name: str,
    kind: ImportFormat,
    requested_by_id: int | None,
) -> DataImport:
    """The import's row and its stored file, checked for what makes it unreadable; raises
    TooBig or Unreadable, having kept nothing. The dry run is for the caller to ask."""
    definition = _design(dbsession, study)
    row = DataImport(
        tenant_id=study.tenant_id,
        study_id=study.id,
        requested_by_id=requested_by_id,
        file_name=Path(file_name.replace("\\", "/")).name[:MAX_NAME] or "import",
        format=kind,
        size=0,
        sha256="",
        state=ImportState.QUEUED,
    )
    dbsession.add(row)
    dbsession.flush()
    path = import_path(registry, row)
    try:
        row.size, row.sha256 = _store(source, path, registry["imports.max_bytes"])
        check_readable(path, kind, definition)
    except (TooBig, Unreadable):
        path.unlink(missing_ok=True)
        dbsession.delete(row)
        dbsession.flush()
        raise
    return row


def request_check(dbsession: Session, row: DataImport) -> None:
    enqueue_after_commit(dbsession, CHECK_IMPORT, import_id=row.id)


def reason_of(row: DataImport) -> str:
    """The reason every value the import changes is recorded with."""
    return f"import {row.file_name}"


def _run(
    dbsession: Session,
    registry: Registry,
    study: Study,
    row: DataImport,
    *,
    actor: Actor,
    reactions: Reactions,
    checked_at: datetime | None,
    progress: Callable[[int], None] | None,
) -> Report:
    design = published_design(dbsession, study)
    if design is None:
        raise Unreadable(_("The study has no published design to import data into."))
    work = Run(
        dbsession,
        study,
        design,
        actor,
        reactions,
        reason_of(row),
        installation_today(registry),
        checked_at=checked_at,
    )
    path = import_path(registry, row)
    with path.open("rb") as raw:
        size = max(1, row.size)

        def told() -> None:
            if progress is not None:
                progress(min(99, 100 * raw.tell() // size))

        return run(work, READERS[row.format](raw, design.definition), progress=told)


def _finish(row: DataImport, report: Report, state: ImportState) -> None:
    row.report, row.state, row.progress = report.as_json(), state, 100
    row.rows, row.values_changed, row.refused = report.rows, report.values_changed, report.refused
    row.finished_at = datetime.now(UTC)


def check(
    dbsession: Session,
    registry: Registry,
    study: Study,
    row: DataImport,
    *,
    actor: Actor,
    reactions: Reactions,
    progress: Callable[[int], None] | None = None,
) -> Report | None:
    """The dry run: every row read, planned and saved inside a savepoint rolled back; the
    report kept on the row (READY without a refusal, else REFUSED). None: the file could not
    be read (FAILED, with the reason). The row is written only at the end: until then the
    progress is written to it from another connection."""
    started = datetime.now(UTC)
    try:
        report = _run(
            dbsession,
            registry,
            study,
            row,
            actor=actor,
            reactions=reactions,
            checked_at=None,
            progress=progress,
        )
    except Unreadable as unreadable:
        row.state, row.error = ImportState.FAILED, unreadable.message.interpolate()
        row.report = {"error": message(unreadable.message)}
        row.checked_at = row.finished_at = datetime.now(UTC)
        return None
    row.checked_at = started
    _finish(row, report, ImportState.REFUSED if report.refused else ImportState.READY)
    return report


class NotConfirmable(ValueError):
    """Only an import whose dry run refused nothing can be confirmed, once."""


def mark_confirmed(row: DataImport, confirmed_by_id: int | None) -> None:
    """A clean dry run confirmed: its confirmed run may write it (once)."""
    if row.state is not ImportState.READY:
        raise NotConfirmable()
    row.state, row.progress = ImportState.WRITING, 0
    row.confirmed_by_id, row.confirmed_at = confirmed_by_id, datetime.now(UTC)


def confirm(dbsession: Session, row: DataImport, confirmed_by_id: int | None) -> None:
    """Ask for the confirmed run of a clean dry run (its job once the transaction commits)."""
    mark_confirmed(row, confirmed_by_id)
    enqueue_after_commit(dbsession, WRITE_IMPORT, import_id=row.id)


def write(
    dbsession: Session,
    registry: Registry,
    study: Study,
    row: DataImport,
    *,
    actor: Actor,
    reactions: Reactions,
    progress: Callable[[int], None] | None = None,
) -> Report | None:
    """The confirmed run, all or nothing: written through the save, and rolled back whole at
    the first refusal (a form changed since the dry run is one: REFUSED, its report says
    which). DONE and audited when written."""
    assert row.checked_at is not None
    savepoint = dbsession.begin_nested()
    try:
        report = _run(
            dbsession,
            registry,
            study,
            row,
            actor=actor,
            reactions=reactions,
            checked_at=row.checked_at,
            progress=progress,
        )
    except Unreadable as unreadable:
        savepoint.rollback()
        row.state, row.error = ImportState.FAILED, unreadable.message.interpolate()
        row.report = {"error": message(unreadable.message)}
        row.finished_at = datetime.now(UTC)
        return None
    if report.refused:
        savepoint.rollback()
        _finish(row, report, ImportState.REFUSED)
        return report
    savepoint.commit()
    _finish(row, report, ImportState.DONE)
    audit.record(
        dbsession,
        actor,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action="data.imported",
        entity_type="data_import",
        entity_id=row.id,
        new={
            "format": row.format.value,
            "sha256": row.sha256,
            "rows": report.rows,
            "subjects_created": report.subjects_created,
            "values_changed": report.values_changed,
        },
    )
    return report


def recent_imports(dbsession: Session, study: Study) -> list[DataImport]:
    return list(
        dbsession.scalars(
            select(DataImport)
            .where(DataImport.study_id == study.id)
            .order_by(DataImport.id.desc())
            .limit(LISTED)
        )
    )
