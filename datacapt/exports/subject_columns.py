"""Subject-level columns other capabilities contribute to exports (a randomisation's number,
date, stratum and — to who may see them — arms), gathered through :class:`.events.
SubjectColumnsAsked` so that exports never import those capabilities.

Every format with subject-level columns writes them: the wide CSV at the end of each subject's
row; the CSV zip, the workbook and Dataset-JSON as a ``subjects`` table (subject, site, then the
columns); ODM as a ``SUBJECT`` item group on a ``SUBJECT`` study event. Nothing is written when
no capability contributes, so exports of studies without them are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from datacapt.actor import Actor
from datacapt.exports.events import SubjectColumnsAsked
from datacapt.exports.options import ExportOptions
from datacapt.models import Study
from datacapt.reactions import publish

KEYS = ["subject", "site"]
TABLE = "subjects"


@dataclass
class SubjectTable:
    """The contributed columns side by side: ``rows`` by subject label, in label order."""

    names: list[str] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)
    rows: dict[str, tuple[str, list[object]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.names)

    def cells(self, subject: str) -> list[object]:
        found = self.rows.get(subject)
        return found[1] if found else [None] * len(self.names)

    def table(self) -> list[list[object]]:
        """Header then one row per subject holding a value: subject, site, the columns."""
        return [
            [*KEYS, *self.names],
            *([label, site, *cells] for label, (site, cells) in sorted(self.rows.items())),
        ]


def gather(
    dbsession: Session, study: Study, options: ExportOptions, actor: Actor | None = None
) -> SubjectTable:
    """What every contributing capability adds, for the export's selection of subjects."""
    asked = SubjectColumnsAsked(
        dbsession,
        actor or Actor.system("export"),
        study,
        options.sites,
        options.subjects,
        options.allocations,
    )
    publish(asked)
    table = SubjectTable()
    for part in asked.found:
        offset = len(table.names)
        table.names += part.names
        table.descriptions += part.descriptions
        for label, (site, cells) in part.rows.items():
            _site, row = table.rows.setdefault(label, (site, [None] * offset))
            row.extend([None] * (offset - len(row)))
            row.extend(cells)
    for _site, row in table.rows.values():
        row.extend([None] * (len(table.names) - len(row)))
    return table
