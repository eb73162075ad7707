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

    def value(
        self, visit: str | None, field: str, option: str | None, instance: int | None = None
    ) -> Value:
        """The value of ``[visit][field]`` (``visit`` None: the current visit), or with
        ``option`` the checkbox answer '1' (ticked) or '0'; ``instance``: of that repeat of a
        repeating form or visit (None: the one being entered)."""
        ...

    def label(
        self, visit: str | None, field: str, option: str | None, instance: int | None = None
    ) -> Value:
        """The labels of the chosen options (``[field:label]``), joined by ', '."""
        ...

    def smart(self, name: str) -> Value:
        """The value of a smart variable of :data:`~datacapt.expressions.smart.VALUES`."""
        ...

    def today(self) -> date: ...


class MappingContext:
    """A context over plain mappings, for tests and previews.

    A field absent from the mapping is blank (not entered yet), and so is every field of a visit
    absent from ``visits``. A checkbox field holds the frozenset of its ticked codes. ``today``
    is given by the caller, in the zone of whoever enters the data (the server's own date may
    already be another day); without it ``today()`` cannot be evaluated.

    ``instances`` hold the values of repeats by (visit, repeat number), the visit None for the
    one being entered; ``labels`` the choices' labels by field and code, ``smart`` the smart
    variables' values. Without them, repeat 1 of a visit is what ``visits`` holds, the current
    repeat (``current-instance``, else 1) what ``values`` holds, and every other is blank.
    """

    __slots__ = ("_instances", "_labels", "_smart", "_today", "_values", "_visits")

    def __init__(
        self,
        values: Mapping[str, Stored],
        visits: Mapping[str, Mapping[str, Stored]] | None = None,
        today: date | None = None,
        *,
        instances: Mapping[tuple[str | None, int], Mapping[str, Stored]] | None = None,
        labels: Mapping[str, Mapping[str, str]] | None = None,
        smart: Mapping[str, Value] | None = None,
    ) -> None:
        self._values = values
        self._visits = visits or {}
        self._today = today
        self._instances = instances or {}
        self._labels = labels or {}
        self._smart = smart or {}

    def _stored(self, visit: str | None, field: str, instance: int | None) -> Stored:
        if instance is not None:
            values = self._instances.get((visit, instance))
            if values is not None:
                return values.get(field)
            default = 1 if visit is not None else self._smart.get("current-instance", 1)
            if instance != default:
                return None
        values = self._values if visit is None else self._visits.get(visit, {})
        return values.get(field)

    def value(
        self, visit: str | None, field: str, option: str | None, instance: int | None = None
    ) -> Value:
        stored = self._stored(visit, field, instance)
        if option is not None:
            return "1" if _ticked(stored, option) else "0"
        if isinstance(stored, frozenset):
            raise EvaluationError(
                f"[{field}] is a checkbox field: name one of its options, as in [{field}(1)]."
            )
        return BLANK if stored is None else stored

    def label(
        self, visit: str | None, field: str, option: str | None, instance: int | None = None
    ) -> Value:
        stored = self._stored(visit, field, instance)
        if isinstance(stored, MissingCode):
            return stored
        codes = sorted(stored) if isinstance(stored, frozenset) else [stored]
        if option is not None:
            codes = [option] if _ticked(stored, option) else []
        labels = self._labels.get(field, {})
        texts = [labels.get(str(code), str(code)) for code in codes if code not in (None, "")]
        return ", ".join(texts) or BLANK

    def smart(self, name: str) -> Value:
        return self._smart.get(name, BLANK)

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
