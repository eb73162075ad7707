"""Running an export: check what was asked, stream the study into the chosen format, and audit
who took which data (the options and the SHA-256 of the file, never a value)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyramid.registry import Registry
from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.exports import (
    csv_wide,
    csv_zip,
    dataset_json,
    odm,
    pdf,
    r_script,
    shifting,
    statistical,
    subject_columns,
    xlsx,
)
from datacapt.exports.deterministic import snapshot_second
from datacapt.exports.options import Coded, ExportFormat, ExportOptions
from datacapt.exports.source import Catalogue, StudyData, catalogue
from datacapt.jobs import enqueue_after_commit
from datacapt.models import DataExport, Study, Subject
from datacapt.models.entry import FormStatus, LockState
from datacapt.models.exports import ExportState
from datacapt.personal_values import registry_of
from datacapt.studies.services import study_sites

RUN_EXPORT = "exports.run"
#: How long a finished export can be downloaded.
KEPT_FOR = timedelta(days=7)
#: The newest exports a study's page lists.
LISTED = 20

Writer = Callable[[Path, StudyData], int]
WRITERS: dict[ExportFormat, Writer] = {
    ExportFormat.CSV: csv_zip.write,
    ExportFormat.XLSX: xlsx.write,
    ExportFormat.SAS: statistical.writer("sas"),
    ExportFormat.SPSS: statistical.writer("spss"),
    ExportFormat.STATA: statistical.writer("stata"),
    ExportFormat.CSV_WIDE: csv_wide.write,
    ExportFormat.R: r_script.write,
    ExportFormat.DATASET_JSON: dataset_json.writer(ndjson=False),
    ExportFormat.DATASET_NDJSON: dataset_json.writer(ndjson=True),
    ExportFormat.PDF: pdf.write,
    ExportFormat.ODM: odm.write,
}
#: The file name ending of each format: a zip, but for the one-file formats.
ONE_FILE = {ExportFormat.XLSX: ".xlsx", ExportFormat.ODM: ".xml"}
SUFFIXES = {kind: ONE_FILE.get(kind, ".zip") for kind in ExportFormat}


class ExportRefused(ValueError):
    """The options name what the study does not have."""


@dataclass(frozen=True)
class ExportResult:
    values: int
    size: int
    sha256: str


def known_subjects(dbsession: Session, study: Study, labels: Collection[str]) -> set[str]:
    """Which of ``labels`` are the study's subjects: one query for the labels asked, however
    many subjects the study has."""
    if not labels:
        return set()
    return set(
        dbsession.scalars(
            select(Subject.label).where(
                Subject.study_id == study.id, Subject.label.in_(set(labels))
            )
        )
    )


def selection(dbsession: Session, study: Study, options: ExportOptions) -> Catalogue:
    """The study's catalogue narrowed to the forms asked for; refuses an unknown site, subject,
    form or visit by name rather than exporting nothing without a word."""
    found = catalogue(dbsession, study, personal=options.personal)
    found.dates_shifted = options.shift_dates
    known = {
        "site": {site.code for site in study_sites(dbsession, study)},
        "subject": known_subjects(dbsession, study, options.subjects),
        "form": set(found.forms),
        "visit": set(found.visits) | {"unscheduled"},
    }
    asked = {
        "site": options.sites,
        "subject": options.subjects,
        "form": options.forms,
        "visit": options.visits,
    }
    for kind, names in asked.items():
        unknown = sorted(set(names) - known[kind])
        if unknown:
            raise ExportRefused(f"no {kind} {', '.join(unknown)} in study {study.code}")
    if options.forms:
        found.forms = {name: found.forms[name] for name in found.forms if name in options.forms}
    return found


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return path.stat().st_size, digest.hexdigest()


def export(
    dbsession: Session,
    study: Study,
    options: ExportOptions,
    target: Path,
    *,
    actor: Actor,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write the study's data to ``target`` in ``options.format``; audited in the caller's
    transaction. ``progress`` is told the percentage of forms written as it grows. Files'
    header times are ``options.stamp`` (the export's snapshot time), the clock's if unset."""
    if options.stamp is None:
        options = replace(options, stamp=snapshot_second(datetime.now(UTC)))
    data = StudyData(dbsession, study, options, selection(dbsession, study, options))
    data.actor = actor
    data.subject_columns = subject_columns.gather(dbsession, study, options, actor)
    if progress is not None:
        data.progress = progress
    if options.shift_dates:
        data.shift = shifting.shifter(registry_of(dbsession), study.id, data.catalogue)
    try:
        count = WRITERS[options.format](target, data)
    except statistical.Unwritable as refusal:
        raise ExportRefused(str(refusal)) from None
    size, sha256 = _digest(target)
    audit.record(
        dbsession,
        actor,
        tenant_id=study.tenant_id,
        action="data.exported",
        entity_type="study",
        entity_id=study.id,
        study_id=study.id,
        new={**options.describe(), "values": count, "size": size, "sha256": sha256},
    )
    return ExportResult(count, size, sha256)


def options_of(described: Mapping[str, Any]) -> ExportOptions:
    """The options back from what :meth:`ExportOptions.describe` stored; a key an older row
    lacks takes its default."""
    as_of = described.get("as_of")
    return ExportOptions(
        format=ExportFormat(described["format"]),
        sites=tuple(described.get("sites", ())),
        subjects=tuple(described.get("subjects", ())),
        forms=tuple(described.get("forms", ())),
        visits=tuple(described.get("visits", ())),
        statuses=tuple(FormStatus(status) for status in described.get("statuses", ())),
        lock_states=tuple(LockState(state) for state in described.get("lock_states", ())),
        coded=Coded(described.get("coded", Coded.CODES.value)),
        bom=bool(described.get("bom", False)),
        as_of=datetime.fromisoformat(as_of) if as_of else None,
        shift_dates=bool(described.get("shift_dates", False)),
        personal=bool(described.get("personal", False)),
        allocations=bool(described.get("allocations", False)),
        audit_trail=bool(described.get("audit_trail", False)),
        odm_transactional=bool(described.get("odm_transactional", False)),
    )


def holds_allocations(row: DataExport) -> bool:
    """Whether an export was written with concealed allocations (only for who may see them)."""
    return bool(row.options.get("allocations", False))


def holds_personal_data(row: DataExport) -> bool:
    """Whether an export was asked with its personal-data items (older rows: never)."""
    return bool(row.options.get("personal", False))


def export_path(registry: Registry, row: DataExport) -> Path:
    """Where an export's file lives: the configured folder, outside the web root."""
    folder: Path = registry["exports.folder"]
    suffix = SUFFIXES[ExportFormat(row.options["format"])]
    return folder / str(row.tenant_id) / f"export-{row.id}{suffix}"


def request_export(
    dbsession: Session,
    study: Study,
    options: ExportOptions,
    requested_by_id: int,
    *,
    application_url: str | None = None,
    definition_id: int | None = None,
) -> DataExport:
    """The export's row, and its job once the transaction commits. The row records the time
    of the request as the snapshot's, which every run of it writes into the files' headers.
    With ``application_url`` the requester is mailed when it is ready (or failed)."""
    selection(dbsession, study, options)  # refuse now what the job would refuse later
    row = DataExport(
        tenant_id=study.tenant_id,
        study_id=study.id,
        requested_by_id=requested_by_id,
        options=options.describe(),
        state=ExportState.QUEUED,
        snapshot_at=snapshot_second(datetime.now(UTC)),
        definition_id=definition_id,
    )
    dbsession.add(row)
    dbsession.flush()
    enqueue_after_commit(dbsession, RUN_EXPORT, export_id=row.id, application_url=application_url)
    return row


def recent_exports(dbsession: Session, study: Study) -> list[DataExport]:
    return list(
        dbsession.scalars(
            select(DataExport)
            .where(DataExport.study_id == study.id)
            .order_by(DataExport.id.desc())
            .limit(LISTED)
        )
    )


def downloadable(registry: Registry, row: DataExport) -> Path | None:
    """The file of a finished export that has not expired, if it is still there."""
    if row.state is not ExportState.DONE or row.expires_at is None:
        return None
    if row.expires_at <= datetime.now(UTC):
        return None
    path = export_path(registry, row)
    return path if path.is_file() else None


def take(
    dbsession: Session,
    registry: Registry,
    row: DataExport,
    *,
    personal_allowed: bool,
    actor: Actor,
    allocations_allowed: bool = False,
) -> Path | None:
    """The file to hand over, its taking audited; None when there is none to take (finished,
    kept, and without personal data or concealed allocations for who may not take them)."""
    if holds_personal_data(row) and not personal_allowed:
        return None
    if holds_allocations(row) and not allocations_allowed:
        return None
    path = downloadable(registry, row)
    if path is None:
        return None
    audit.record(
        dbsession,
        actor,
        tenant_id=row.tenant_id,
        study_id=row.study_id,
        action="data.downloaded",
        entity_type="data_export",
        entity_id=row.id,
        new={"sha256": row.sha256, "personal": holds_personal_data(row)},
    )
    return path
