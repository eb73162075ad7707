"""Running an export: check what was asked, stream the study into the chosen format, and audit
who took which data (the options and the SHA-256 of the file, never a value)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.exports import csv_zip, xlsx
from datacapt.exports.options import ExportFormat, ExportOptions
from datacapt.exports.source import Catalogue, FormRecord, catalogue, form_records
from datacapt.models import Study
from datacapt.studies.services import study_sites

Writer = Callable[[Path, Catalogue, Iterable[FormRecord], ExportOptions], int]
WRITERS: dict[ExportFormat, Writer] = {
    ExportFormat.CSV: csv_zip.write,
    ExportFormat.XLSX: xlsx.write,
}
#: The file name ending of each format.
SUFFIXES = {ExportFormat.CSV: ".zip", ExportFormat.XLSX: ".xlsx"}


class ExportRefused(ValueError):
    """The options name what the study does not have."""


@dataclass(frozen=True)
class ExportResult:
    values: int
    size: int
    sha256: str


def selection(dbsession: Session, study: Study, options: ExportOptions) -> Catalogue:
    """The study's catalogue narrowed to the forms asked for; refuses an unknown site, form or
    visit by name rather than exporting nothing without a word."""
    found = catalogue(dbsession, study)
    known = {
        "site": {site.code for site in study_sites(dbsession, study)},
        "form": set(found.forms),
        "visit": set(found.visits) | {"unscheduled"},
    }
    asked = {"site": options.sites, "form": options.forms, "visit": options.visits}
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
    actor_id: int | None,
    request_id: str | None = None,
) -> ExportResult:
    """Write the study's data to ``target`` in ``options.format``; audited in the caller's
    transaction."""
    found = selection(dbsession, study, options)
    count = WRITERS[options.format](
        target, found, form_records(dbsession, study, options, found), options
    )
    size, sha256 = _digest(target)
    audit.record(
        dbsession,
        tenant_id=study.tenant_id,
        action="data.exported",
        entity_type="study",
        entity_id=study.id,
        actor_id=actor_id,
        study_id=study.id,
        new={**options.describe(), "values": count, "size": size, "sha256": sha256},
        request_id=request_id,
    )
    return ExportResult(count, size, sha256)
