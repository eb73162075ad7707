"""The kernel's shortcuts give what the general path gives: a whole date in the item's own
order read without ISO and the patterns, and blank values told without comparisons."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from decimal import Decimal

import pytest

from datacapt.cli.demo_design import demo_definition
from datacapt.ecrf import values, versions
from datacapt.ecrf.definition import (
    Choice,
    Item,
    ItemType,
    Range,
    Slider,
    Validation,
    from_json,
    to_json,
)
from datacapt.ecrf.runtime import _is_blank
from datacapt.ecrf.values import Parsed, parse_value

DAYS = ["15", "31", "29", "00", "1", "UK", "١٥"]
MONTHS = ["03", "02", "12", "13", "00", "UNK", "3"]
YEARS = ["1970", "2024", "2023", "0001", "970", "19700"]
SEPARATORS = ["/", "-", " "]


def date_item(order: str | None, partial: bool, bounds: Range | None) -> Item:
    return Item(
        oid="I.D",
        name="d",
        type=ItemType.TEXT,
        label={"en": "D"},
        validation=Validation.DATE,
        date_format=order,  # type: ignore[arg-type]
        partial_dates=partial,
        hard_range=bounds,
        soft_range=Range(min="2000-01-01"),
    )


def texts(order: str) -> list[str]:
    """Dates written in ``order`` and the other orders, with every separator pair."""
    found = []
    for day, month, year in itertools.product(DAYS, MONTHS, YEARS):
        parts = {"dmy": (day, month, year), "mdy": (month, day, year), "ymd": (year, month, day)}
        for first, second in itertools.product(SEPARATORS, repeat=2):
            for a, b, c in (parts[order], parts["ymd"]):
                found.append(f"{a}{first}{b}{second}{c}")
    return found


def outcome(parsed: Parsed) -> tuple[object, ...]:
    messages = [(str(m), getattr(m, "mapping", None)) for m in (parsed.error, parsed.warning)]
    return parsed.stored, parsed.value, messages


@pytest.mark.parametrize("order", ["dmy", "mdy", "ymd", None])
@pytest.mark.parametrize("partial", [False, True])
@pytest.mark.parametrize("bounds", [None, Range(min="1971-01-01", max="2024-02-29")])
def test_a_date_in_the_items_order_is_read_as_the_general_path_reads_it(
    monkeypatch: pytest.MonkeyPatch, order: str | None, partial: bool, bounds: Range | None
) -> None:
    item = date_item(order, partial, bounds)
    written = texts(order or "ymd")
    fast = [outcome(parse_value(item, [text])) for text in written]
    monkeypatch.setattr(values, "_SHOWN_SLICES", {})
    general = [outcome(parse_value(item, [text])) for text in written]
    assert fast == general
    assert any(stored is not None for stored, _value, _messages in fast)  # some were dates


def test_the_shortcut_is_taken_for_a_saved_date_in_the_items_order() -> None:
    item = date_item("dmy", False, None)
    assert values._shown_date(item, "15/03/1970") == Parsed("1970-03-15", date(1970, 3, 15))
    assert values._shown_date(item, "1970-03-15") is None
    assert values._shown_date(date_item(None, False, None), "15/03/1970") is None


@pytest.mark.parametrize(
    ("value", "blank"),
    [
        (None, True),
        ("", True),
        (frozenset(), True),
        ("0", False),
        (frozenset({"1"}), False),
        (Decimal(0), False),
        (Decimal("0.0"), False),
        (date(1970, 1, 1), False),
        (datetime(1970, 1, 1), False),
        (time(0, 0), False),
    ],
)
def test_a_blank_value_is_none_empty_text_or_no_code_ticked(value: object, blank: bool) -> None:
    assert _is_blank(value) is blank  # type: ignore[arg-type]
    assert _is_blank(value) is (value is None or value == "" or value == frozenset())


def item(name: str, kind: ItemType = ItemType.TEXT, **fields: object) -> Item:
    return Item(oid=f"I.{name}", name=name, type=kind, label={"en": name}, **fields)  # type: ignore[arg-type]


CHOICES = [Choice("1", {"en": "A"}), Choice("2", {"en": "B"}), Choice("9", {"en": "N"}, True)]
#: An item of every type and validation, with ranges, decimals and limits.
ITEMS = [
    item("plain"),
    item("short", max_length=3),
    item("long", ItemType.LONG_TEXT),
    item("integer", validation=Validation.INTEGER, hard_range=Range("0", "120")),
    item("number", validation=Validation.NUMBER, decimals=1, soft_range=Range("1.5", "9")),
    item("anynumber", validation=Validation.NUMBER, hard_range=Range(None, "100")),
    item("comma", validation=Validation.NUMBER, decimals=2, decimal_comma=True),
    item("email", validation=Validation.EMAIL),
    item("phone", validation=Validation.PHONE),
    item("dmy", validation=Validation.DATE, date_format="dmy", soft_range=Range("2000-01-01")),
    item("mdy", validation=Validation.DATE, date_format="mdy", partial_dates=True),
    item(
        "ymd",
        validation=Validation.DATE,
        partial_dates=True,
        hard_range=Range("1970-01-01", "2030-12-31"),
        soft_range=Range("1990-01-01", "2025-12-31"),
    ),
    item("moment", validation=Validation.DATETIME, hard_range=Range("2020-01-01T00:00")),
    item("seconds", validation=Validation.DATETIME, with_seconds=True),
    item("time", validation=Validation.TIME, soft_range=Range("08:00", "18:00")),
    item("mmss", validation=Validation.TIME_MM_SS),
    item("partial", validation=Validation.PARTIAL_DATE),
    item("regex", validation=Validation.REGEX, pattern="[A-Z]{2}[0-9]{3}"),
    item("single", ItemType.SINGLE_CHOICE, choices=CHOICES),
    item("multiple", ItemType.MULTIPLE_CHOICE, choices=CHOICES),
    item("yesno", ItemType.YES_NO),
    item("truefalse", ItemType.TRUE_FALSE),
    item("ack", ItemType.ACKNOWLEDGEMENT),
    item("slider", ItemType.SLIDER, slider=Slider(0, 10), soft_range=Range("2", "8")),
    item("file", ItemType.FILE),
]
RAWS = [
    [],
    [""],
    ["  "],
    ["abcd"],
    ["12"],
    [" 12 "],
    ["-3"],
    ["121"],
    ["1.5"],
    ["1,25"],
    ["1.25"],
    ["7.0"],
    ["1e3"],
    ["1" * 40],
    ["a@b.example"],
    ["+33 1 23 45 67 89"],
    ["15/03/1970"],
    ["03/15/1970"],
    ["31/02/2026"],
    ["1970-03-15"],
    ["UK/03/1970"],
    ["1970-03"],
    ["1970"],
    ["2026-01-31 14:30"],
    ["2026-01-31T14:30:15"],
    ["2019-12-31 23:59"],
    ["14:30"],
    ["07:59:30"],
    ["04:30"],
    ["AB123"],
    ["1"],
    ["0"],
    ["2"],
    ["3"],
    ["1", "2"],
    ["1", "9"],
    ["9"],
    ["", "2"],
    ["5"],
    ["x" * 4001],
]


@pytest.mark.parametrize("planned", ITEMS, ids=lambda planned: planned.name)
def test_a_published_items_plan_parses_as_the_general_path(
    monkeypatch: pytest.MonkeyPatch, planned: Item
) -> None:
    monkeypatch.setattr(values, "_PLANS", {})
    general = [outcome(parse_value(planned, raw)) for raw in RAWS]
    stored = [None, *(text for raw in RAWS for text in raw), "1|2", "1|9", "1.50"]
    typed_general = [values.typed(planned, text) for text in stored]
    values.plan_published([planned])
    assert values._PLANS[id(planned)][0] is planned
    assert [outcome(parse_value(planned, raw)) for raw in RAWS] == general
    assert [values.typed(planned, text) for text in stored] == typed_general
    assert len({stored for stored, _value, _messages in general}) > 1  # some were taken


def test_each_published_item_has_its_own_plan_and_a_drafts_is_read_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(values, "_PLANS", {})
    one = item("weight", validation=Validation.NUMBER, decimals=1, hard_range=Range("0", "10"))
    two = item("weight", validation=Validation.NUMBER, decimals=2, hard_range=Range("0", "99"))
    values.plan_published([one, two])
    assert parse_value(one, ["7"]).stored == "7.0"
    assert parse_value(two, ["7"]).stored == "7.00"
    assert parse_value(one, ["50"]).error is not None
    assert parse_value(two, ["50"]).error is None
    draft = item("draft", validation=Validation.NUMBER, decimals=1)
    assert parse_value(draft, ["7"]).stored == "7.0"
    draft.decimals = 3  # a draft changes: never planned, read as it is now
    assert parse_value(draft, ["7"]).stored == "7.000"
    assert id(draft) not in values._PLANS


def test_the_plans_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(values, "_PLANS", {})
    monkeypatch.setattr(values, "PLANS_LIMIT", 3)
    first, second = ITEMS[:2], ITEMS[2:4]
    values.plan_published(first)
    values.plan_published(second)
    assert set(values._PLANS) == {id(planned) for planned in second}


def shown_before(stored: str, order: str | None) -> str:
    """shown_date as it was written before it was read whole: the oracle."""
    pieces = stored.split("-")
    if not (1 <= len(pieces) <= 3 and all(piece.isdigit() for piece in pieces)):
        return stored
    year, month, day = (pieces + ["UNK", "UK"][len(pieces) - 1 :])[:3]
    parts = {"day": day, "month": month, "year": year}
    separator = "-" if (order or "ymd") == "ymd" else "/"
    return separator.join(parts[key] for key in values.DATE_ORDERS[order or "ymd"])


@pytest.mark.parametrize("order", ["dmy", "mdy", "ymd", None])
def test_a_stored_date_is_shown_as_it_was(order: str | None) -> None:
    stored = [
        "1970-03-15",
        "1970-03",
        "1970",
        "1970--03",
        "",
        "-",
        "1970-03-15-01",
        "1970-03-15T10:00",
        "١٩٧٠-03-15",
        "abc",
    ]
    assert [values.shown_date(text, order) for text in stored] == [
        shown_before(text, order) for text in stored
    ]
    assert values.shown_date("1970-03", "dmy") == "UK/03/1970"
    assert values.shown_date("1970-03-15", "mdy") == "03/15/1970"


class _OneDocument:
    """A session that holds one published version's document."""

    def __init__(self, document: dict[str, object]) -> None:
        self.document = document

    def scalar(self, _statement: object) -> dict[str, object]:
        return self.document


def test_a_published_versions_items_are_planned_when_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(values, "_PLANS", {})
    monkeypatch.setattr(versions, "_DEFINITIONS", {})
    document = to_json(demo_definition())
    design = versions.design_of(_OneDocument(document), (991, 1, "hash"))  # type: ignore[arg-type]
    assert design is not None
    items = [planned for _form, planned in design.definition.items()]
    assert items and all(values._PLANS[id(planned)][0] is planned for planned in items)
    draft = from_json(document)  # a draft's copy: never planned
    assert not any(id(planned) in values._PLANS for _form, planned in draft.items())
