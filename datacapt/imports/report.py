"""What an import found, kept as the row's JSON: the counts, the subjects it enrols, the values
it changes (old → new) and every refused row with its line and reason. The lists keep their
first entries only; the counts count everything. Personal-data values are never kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyramid.i18n import TranslationString

from datacapt.ecrf.definition import Item
from datacapt.entry.services import Stored

#: Entries a list keeps (the counts go on).
LISTED = 500
#: Shown instead of a personal-data value.
PERSONAL = {"personal": True}


def shown(item: Item, stored: Stored) -> Any:
    """A value as the report keeps it: its text, its missing-data code, or only the mention of
    personal data."""
    if stored.missing:
        return {"missing": stored.missing}
    if stored.value is None:
        return None
    return PERSONAL if item.identifier else stored.value


def message(text: TranslationString | str) -> dict[str, Any]:
    """A message as JSON, translated when shown: its id and what it interpolates."""
    if isinstance(text, TranslationString):
        return {"text": str(text), "mapping": dict(text.mapping or {})}
    return {"text": text, "mapping": {}}


@dataclass
class Report:
    rows: int = 0  # values read (a REDCap row holds many), refused rows included
    subjects_created: int = 0
    forms_created: int = 0
    forms_changed: int = 0
    values_changed: int = 0
    refused: int = 0
    subjects: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[dict[str, Any]] = field(default_factory=list)

    def refuse(self, line: int, reason: TranslationString | str, where: str = "") -> None:
        self.refused += 1
        if len(self.refusals) < LISTED:
            self.refusals.append({"line": line, "where": where, **message(reason)})

    def enrolled(self, label: str) -> None:
        self.subjects_created += 1
        if len(self.subjects) < LISTED:
            self.subjects.append(label)

    def changed(self, line: int, where: str, item: Item, old: Stored, new: Stored) -> None:
        self.values_changed += 1
        if len(self.changes) < LISTED:
            self.changes.append(
                {
                    "line": line,
                    "where": where,
                    "item": item.name,
                    "old": shown(item, old),
                    "new": shown(item, new),
                }
            )

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "subjects_created": self.subjects_created,
            "forms_created": self.forms_created,
            "forms_changed": self.forms_changed,
            "values_changed": self.values_changed,
            "refused": self.refused,
            "subjects": self.subjects,
            "changes": self.changes,
            "refusals": sorted(self.refusals, key=lambda refusal: refusal["line"]),
            "listed": LISTED,
        }
