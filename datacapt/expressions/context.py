"""Where evaluation reads field values and today's date."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Protocol, TypeAlias

from datacapt.expressions.errors import EvaluationError
from datacapt.expressions.values import BLANK, MissingCode, Value

Stored: TypeAlias = Value | frozenset[str] | None
"""What a mapping holds for a field: a value, or for a checkbox field the set of ticked codes."""


class EvaluationContext(Protocol):
    """What evaluation reads: one record's values, at its current and other visits, and today's
    date (in the study's time zone). A value may also be given as None or '' (blank) or an int."""

    def value(self, visit: str | None, field: str, option: str | None) -> Value:
        """The value of ``[visit][field]`` (``visit`` None: the current visit), or with
        ``option`` the checkbox answer '1' (ticked) or '0'."""
        ...

    def today(self) -> date: ...


class MappingContext:
    """A context over plain mappings, for tests and previews.

    A field absent from the mapping is blank (not entered yet), and so is every field of a visit
    absent from ``visits``. A checkbox field holds the frozenset of its ticked codes. ``today``
    is given by the caller, in the zone of whoever enters the data (the server's own date may
    already be another day); without it ``today()`` cannot be evaluated.
    """

    __slots__ = ("_today", "_values", "_visits")

    def __init__(
        self,
        values: Mapping[str, Stored],
        visits: Mapping[str, Mapping[str, Stored]] | None = None,
        today: date | None = None,
    ) -> None:
        self._values = values
        self._visits = visits or {}
        self._today = today

    def value(self, visit: str | None, field: str, option: str | None) -> Value:
        values = self._values if visit is None else self._visits.get(visit, {})
        stored = values.get(field)
        if option is not None:
            return "1" if _ticked(stored, option) else "0"
        if isinstance(stored, frozenset):
            raise EvaluationError(
                f"[{field}] is a checkbox field: name one of its options, as in [{field}(1)]."
            )
        return BLANK if stored is None else stored

    def today(self) -> date:
        if self._today is None:
            raise EvaluationError("today() has no date here.")
        return self._today


def _ticked(stored: Stored, option: str) -> bool:
    """Whether a checkbox answer includes ``option``; a missing code counts as its own option,
    as REDCap stores it."""
    if isinstance(stored, frozenset):
        return option in stored
    if isinstance(stored, MissingCode):
        return stored.code == option
    return stored == option
