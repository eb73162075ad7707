"""A large study design for the benchmarks: ``forms`` forms of ``items`` items, over visits of
four forms each.

Each form mixes what real eCRFs hold: integers and decimals with hard and soft ranges (some
allowing missing-data codes), dates, single choices, yes/no questions, short texts, an item shown
only for one answer (branching) and a warning edit check between two measures.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from datacapt.ecrf.definition import (
    Choice,
    Definition,
    EditCheck,
    Form,
    Item,
    ItemType,
    Range,
    Schedule,
    Section,
    Severity,
    SubSection,
    Validation,
    Visit,
)

FORMS_PER_VISIT = 4
#: The kind of item at each position of a form, repeated to the form's length.
PATTERN = ("integer", "number", "integer", "date", "choice", "integer", "number", "yes_no", "text")
CHOICES = [Choice(str(code), {"en": f"Option {code}"}) for code in range(1, 5)]


def _item(form: int, number: int) -> Item:
    name = f"f{form:02d}_i{number:02d}"
    kind = PATTERN[(number - 1) % len(PATTERN)]
    common = {
        "oid": f"I.F{form:02d}.I{number:02d}",
        "name": name,
        "label": {"en": f"Measure {number} of form {form}"},
    }
    if kind == "integer":
        return Item(
            **common,
            type=ItemType.TEXT,
            validation=Validation.INTEGER,
            units="mmHg",
            hard_range=Range("0", "400"),
            soft_range=Range("40", "200"),
            missing_codes_allowed=True,
            required=number <= 3,
        )
    if kind == "number":
        return Item(
            **common,
            type=ItemType.TEXT,
            validation=Validation.NUMBER,
            decimals=1,
            units="mg/dL",
            hard_range=Range("0", "1000"),
            soft_range=Range("1", "500"),
            missing_codes_allowed=True,
        )
    if kind == "date":
        return Item(**common, type=ItemType.TEXT, validation=Validation.DATE, date_format="dmy")
    if kind == "choice":
        return Item(**common, type=ItemType.SINGLE_CHOICE, widget="radio", choices=CHOICES)
    if kind == "yes_no":
        return Item(**common, type=ItemType.YES_NO)
    return Item(**common, type=ItemType.TEXT, max_length=200)


def bench_form(form: int, items: int) -> Form:
    blocks = [_item(form, number) for number in range(1, items + 1)]
    first, second = blocks[0], blocks[2]  # two integer measures
    first.edit_checks = [
        EditCheck(
            f"EC.F{form:02d}.1",
            f"[{first.name}] > [{second.name}] + 100",
            {"en": "The first measure is far above the third: please check."},
            Severity.WARNING,
        )
    ]
    yes_no = next(block for block in blocks if block.type is ItemType.YES_NO)
    last = blocks[-1]
    if last is not yes_no and last.type is not ItemType.CALCULATED:
        last.show_if = f"[{yes_no.name}] = '1'"
    return Form(
        oid=f"F.F{form:02d}",
        name=f"form{form:02d}",
        title={"en": f"Form {form}"},
        sections=[
            Section(
                oid=f"S.F{form:02d}.1",
                title={"en": "Measures"},
                subsections=[SubSection(oid=f"G.F{form:02d}.1", blocks=blocks)],
            )
        ],
    )


def bench_definition(forms: int, items: int) -> Definition:
    all_forms = [bench_form(number, items) for number in range(1, forms + 1)]
    visits = [
        Visit(
            f"V.{index:02d}",
            "screening" if index == 0 else f"visit{index:02d}",
            {"en": "Screening" if index == 0 else f"Visit {index}"},
            day=-14 if index == 0 else 28 * (index - 1),
            window_before=3,
            window_after=3,
            forms=[form.name for form in all_forms[start : start + FORMS_PER_VISIT]],
        )
        for index, start in enumerate(range(0, forms, FORMS_PER_VISIT))
    ]
    return Definition(
        default_language="en", languages=["en"], forms=all_forms, schedule=Schedule(visits=visits)
    )


def item_kind(item: Item) -> str:
    """The kind of value ``item`` takes (``PATTERN``'s names), for load scenarios to fill it."""
    if item.type is ItemType.SINGLE_CHOICE:
        return "choice"
    if item.type is ItemType.YES_NO:
        return "yes_no"
    return {
        Validation.INTEGER: "integer",
        Validation.NUMBER: "number",
        Validation.DATE: "date",
    }.get(item.validation, "text")  # type: ignore[arg-type]


def new_values(items: list[dict[str, Any]], rng: random.Random) -> dict[str, str]:
    """Valid inputs for every item of a form, different at each save."""
    values = {}
    for item in items:
        kind = item["kind"]
        if kind == "integer":
            value = str(rng.randint(60, 180))
        elif kind == "number":
            value = f"{rng.uniform(2, 400):.1f}"
        elif kind == "date":
            value = (date(2026, 1, 1) + timedelta(days=rng.randrange(300))).strftime("%d/%m/%Y")
        elif kind == "choice":
            value = str(rng.randint(1, 4))
        elif kind == "yes_no":
            value = rng.choice("01")
        else:
            value = rng.choice(("stable", "improved", "unchanged", f"note {rng.randrange(999)}"))
        values[item["name"]] = value
    return values
