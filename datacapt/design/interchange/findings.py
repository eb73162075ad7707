"""What importers return and exporters report: a definition and the findings about it.

Nothing that cannot be mapped is dropped silently: every such thing is a :class:`Finding` that
says where it was (a dictionary line, an ODM element) and what became of it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from anyascii import anyascii

from datacapt.ecrf.definition import Definition


class FindingLevel(enum.StrEnum):
    INFO = "info"  # mapped, with a note (e.g. a validation type turned into a pattern)
    WARNING = "warning"  # kept partly (e.g. an expression left out, a foreign extension ignored)
    ERROR = "error"  # the file cannot be imported at all


@dataclass(frozen=True)
class Finding:
    where: str  # "line 12, field weight" or "ItemDef I_SEX"
    message: str
    level: FindingLevel = FindingLevel.WARNING

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


@dataclass
class ImportResult:
    definition: Definition
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.level is FindingLevel.ERROR for f in self.findings)


class InterchangeError(Exception):
    """The file is not what its format says (not CSV, not ODM, unreadable): nothing imported."""


def oid_part(name: str) -> str:
    """An OID fragment from any name: letters, digits, '_' and '.' only, upper case."""
    cleaned = re.sub(r"[^A-Za-z0-9_.]+", "_", name).strip("_").upper()
    return cleaned or "X"


def variable_name(name: str) -> str:
    """A name expressions accept ([a-z][a-z0-9_]*) from any identifier (ODM OIDs, labels);
    letters of other scripts are transliterated ("Résumé" → "resume", "Анкета" → "anketa")
    rather than dropped, so names stay readable."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", anyascii(name).lower()).strip("_")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"v_{cleaned}"
    return cleaned[:100]
