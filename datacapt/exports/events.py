"""What exports publish for other capabilities to react to (:mod:`datacapt.reactions`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from datacapt.models import DataExport, Study
from datacapt.reactions import Event


@dataclass(frozen=True)
class ExportFinished(Event):
    """An export's job ended: ``export.state`` says done or failed."""

    export: DataExport


@dataclass
class SubjectColumns:
    """Subject-level columns one capability adds to exports: their names, what each holds,
    and each subject's cells by subject label (with the subject's site code)."""

    names: list[str]
    descriptions: list[str]
    rows: dict[str, tuple[str, list[object]]]


@dataclass(frozen=True)
class SubjectColumnsAsked(Event):
    """An export is written: capabilities add their subject-level columns to ``found``.

    ``allocations`` says whether the exporter may see concealed allocations (arms, and what a
    split-body product is); a reaction must leave them out otherwise. ``sites`` and
    ``subjects`` are the export's selection (empty: all)."""

    study: Study
    sites: tuple[str, ...]
    subjects: tuple[str, ...]
    allocations: bool
    found: list[SubjectColumns] = field(default_factory=list)
