"""What a form's expressions read besides its values: REDCap's smart variables (the subject, the
visit and its repeats, the form, the user) and the labels of choices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from datacapt.ecrf.definition import Definition, Form, ItemType, text_in
from datacapt.ecrf.values import Typed
from datacapt.expressions import BLANK, Value

_LABELS: dict[int, tuple[Definition, dict[str, dict[str, str]]]] = {}


@dataclass(frozen=True)
class Who:
    """The subject and the person a form is filled for and by."""

    record: str = ""  # the subject's code
    site_code: str = ""
    site_name: str = ""
    user: str = ""  # the address the user signs in with


def choice_labels(definition: Definition) -> dict[str, dict[str, str]]:
    """By item name, each choice's label in the default language, for ``[field:label]``;
    computed once per published version in a process."""
    cached = _LABELS.get(id(definition))
    if cached is not None and cached[0] is definition:
        return cached[1]
    language = definition.default_language
    labels: dict[str, dict[str, str]] = {}
    for _form, item in definition.items():
        if item.choices:
            labels[item.name] = {
                choice.code: text_in(choice.label, language, language) for choice in item.choices
            }
        elif item.type is ItemType.YES_NO:
            labels[item.name] = {"1": "Yes", "0": "No"}
        elif item.type is ItemType.TRUE_FALSE:
            labels[item.name] = {"1": "True", "0": "False"}
    if len(_LABELS) >= 256:
        _LABELS.clear()
    _LABELS[id(definition)] = (definition, labels)
    return labels


def smart_values(
    definition: Definition,
    form: Form,
    visit: str,
    repeat: int,
    repeats: Mapping[tuple[str, int], Mapping[str, Typed]],
    who: Who,
) -> dict[str, Value]:
    """The smart variables of a form of visit (``visit``, ``repeat``); ``repeats`` the subject's
    saved values by visit and repeat (which tell the last repeat saved)."""
    language = definition.default_language
    names = [planned.name for planned in definition.schedule.visits]
    planned = next((v for v in definition.schedule.visits if v.name == visit), None)
    place = names.index(visit) if visit in names else None
    last = max([number for name, number in repeats if name == visit] + [repeat])
    values: dict[str, Value] = {
        "record-name": who.record or BLANK,
        "record-dag-name": who.site_code or BLANK,
        "record-dag-label": who.site_name or BLANK,
        "user-name": who.user or BLANK,
        "event-name": visit,
        "event-label": text_in(planned.title, language, language) if planned else visit,
        "first-event-name": names[0] if names else BLANK,
        "last-event-name": names[-1] if names else BLANK,
        "previous-event-name": names[place - 1] if place else BLANK,
        "next-event-name": names[place + 1]
        if place is not None and place + 1 < len(names)
        else BLANK,
        "instrument-name": form.name,
        "instrument-label": text_in(form.title, language, language),
        "current-instance": Decimal(repeat),
        "previous-instance": Decimal(repeat - 1) if repeat > 1 else BLANK,
        "next-instance": Decimal(repeat + 1),
        "first-instance": Decimal(1),
        "last-instance": Decimal(last),
        "is-form": True,
    }
    return values
