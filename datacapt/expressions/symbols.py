"""What the static checker knows about a study: its fields' types and options, its visits."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class ValueType(enum.Enum):
    """The type of a field or of an expression's result, as the checker sees it."""

    NUMBER = "number"
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"
    BLANK = "blank"
    ANY = "any"


@dataclass(frozen=True)
class FieldInfo:
    """A field's type; ``options`` are the codes of a CHOICE or MULTICHOICE field."""

    type: ValueType
    options: frozenset[str] | None = None


@dataclass(frozen=True)
class Symbols:
    """The names an expression of a study may use.

    ``missing_codes`` are the study's missing-data codes ('NK', 'NASK'…): a field may hold one
    instead of a value, so comparing any field with one of them is not a typo.
    """

    fields: Mapping[str, FieldInfo]
    visits: frozenset[str] = frozenset()
    missing_codes: frozenset[str] = frozenset()
