"""Units written in words, translated where they are shown.

A design keeps one ``units`` text per item; symbols (kg, cm, mmHg, kg/m²) read the same in
every language, but units written in words ("years", "bpm") do not. Those below are in the
catalogues; any other unit is shown as the designer typed it.
"""

from __future__ import annotations

from collections.abc import Callable

from pyramid.i18n import TranslationString

from datacapt.i18n import _

WORDED_UNITS: dict[str, TranslationString] = {
    str(unit): unit
    for unit in (
        _("years"),
        _("months"),
        _("weeks"),
        _("days"),
        _("hours"),
        _("minutes"),
        _("seconds"),
        _("bpm"),
        _("breaths/min"),
        _("tablets"),
        _("cigarettes/day"),
    )
}


def shown_unit(unit: str, translate: Callable[[TranslationString], str]) -> str:
    """``unit`` in the reader's language when it is a worded unit, else as typed."""
    worded = WORDED_UNITS.get(unit.strip().lower())
    return translate(worded) if worded is not None else unit
