"""From what a person typed to a stored value, item type by item type."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datacapt.ecrf import values
from datacapt.ecrf.definition import Choice, Item, ItemType, Range, Slider, Validation
from datacapt.ecrf.values import parse_value, typed


def text_item(validation=None, **options):
    return Item(
        oid="I.X", name="x", type=ItemType.TEXT, label={"en": "X"}, validation=validation, **options
    )


@pytest.mark.parametrize(
    ("item", "raw", "stored", "value"),
    [
        (text_item(), "  free text ", "free text", "free text"),
        (text_item(Validation.INTEGER), "42", "42", Decimal(42)),
        (text_item(Validation.NUMBER), "-0.5", "-0.5", Decimal("-0.5")),
        (text_item(Validation.NUMBER, decimals=2), "1.50", "1.50", Decimal("1.50")),
        (text_item(Validation.NUMBER, decimals=1), "73", "73.0", Decimal("73.0")),
        (text_item(Validation.NUMBER, decimals=1), "9" * 28, "9" * 28 + ".0", Decimal("9" * 28)),
        (text_item(Validation.NUMBER, decimal_comma=True), "1,5", "1.5", Decimal("1.5")),
        (text_item(Validation.DATE), "2026-01-31", "2026-01-31", date(2026, 1, 31)),
        (
            text_item(Validation.DATE, date_format="dmy"),
            "31/01/2026",
            "2026-01-31",
            date(2026, 1, 31),
        ),
        (
            text_item(Validation.DATE, date_format="mdy"),
            "01-31-2026",
            "2026-01-31",
            date(2026, 1, 31),
        ),
        (
            text_item(Validation.DATETIME),
            "2026-01-31 14:30",
            "2026-01-31T14:30:00",
            datetime(2026, 1, 31, 14, 30),
        ),
        (text_item(Validation.TIME), "07:05", "07:05", time(7, 5)),
        (text_item(Validation.TIME, with_seconds=True), "07:05:09", "07:05:09", time(7, 5, 9)),
        (text_item(Validation.TIME_MM_SS), "04:30", "04:30", "04:30"),
        (text_item(Validation.PARTIAL_DATE), "2026-02", "2026-02", "2026-02"),
        (text_item(Validation.EMAIL), "a.b@example.org", "a.b@example.org", "a.b@example.org"),
        (text_item(Validation.REGEX, pattern=r"\d{5}"), "75012", "75012", "75012"),
        (text_item(), "", None, None),
    ],
)
def test_valid_values(item, raw, stored, value):
    parsed = parse_value(item, [raw])
    assert (parsed.error, parsed.stored, parsed.value) == (None, stored, value)
    assert typed(item, parsed.stored) == value


@pytest.mark.parametrize(
    ("item", "raw", "message"),
    [
        (text_item(Validation.INTEGER), "4.2", "whole number"),
        (text_item(Validation.NUMBER), "12abc", "Enter a number"),
        (text_item(Validation.NUMBER), "NaN", "Enter a number"),
        (text_item(Validation.NUMBER, decimals=1), "73.25", "at most 1 decimal(s): 73.25 has 2"),
        (text_item(Validation.DATE, date_format="dmy"), "31/02/2026", "does not exist"),
        (text_item(Validation.DATE), "tomorrow", "Enter a date"),
        (text_item(Validation.DATE, date_format="dmy"), "01/01/26", "four digits"),
        (text_item(Validation.DATETIME), "2026-01-31T14:30+02:00", "without a time zone"),
        (text_item(Validation.TIME), "25:00", "Enter a time"),
        (text_item(Validation.PARTIAL_DATE), "2026-13", "a year and month"),
        (text_item(Validation.EMAIL), "not-an-address", "e-mail"),
        (text_item(Validation.REGEX, pattern=r"\d{5}"), "7501", "expected format"),
        (text_item(max_length=3), "abcd", "at most 3"),
        (text_item(), "x" * 5000, "at most 4000"),
        (text_item(Validation.NUMBER), "1_000", "Enter a number."),
        (text_item(Validation.INTEGER), "١٢٣", "Enter a number."),
        (text_item(Validation.NUMBER, decimal_comma=True), "1,000.5", "Enter a number."),
        (text_item(Validation.NUMBER), "1E+150000000", "28 digits before the decimal point"),
        (text_item(Validation.NUMBER), "1E+1000000", "28 digits before the decimal point"),
        (text_item(Validation.NUMBER), "-1e28", "28 digits before the decimal point"),
        (text_item(Validation.NUMBER), "1e-29", "28 after it"),
        (text_item(Validation.DATE, date_format="dmy"), "٣١/٠١/٢٠٢٦", "Enter a date"),
        (text_item(Validation.PARTIAL_DATE), "٢٠٢٦", "a year and month"),
        (text_item(Validation.TIME_MM_SS), "٠٤:٣٠", "minutes and seconds"),
        (text_item(Validation.REGEX, pattern=r"\d{3}"), "١٢٣", "expected format"),
        (
            text_item(Validation.REGEX, pattern="(a+)+b", max_length=5000),
            "a" * 1000 + "b",
            "Use at most 1000 characters.",
        ),
        (
            text_item(Validation.PHONE, pattern="[0-9 ]+", max_length=5000),
            "1" * 1001,
            "Use at most 1000 characters.",
        ),
        (
            text_item(Validation.EMAIL),
            "a" * 60 + "@" + "b" * 3900 + ".org",
            "Use at most 254 characters.",
        ),
        (text_item(Validation.REGEX, pattern=r"(a)\1"), "aa", "pattern cannot be checked"),
    ],
)
def test_refused_values_say_why(item, raw, message):
    parsed = parse_value(item, [raw])
    assert parsed.stored is None
    assert message in parsed.error.interpolate()


def test_hard_ranges_refuse_and_soft_ranges_warn():
    item = text_item(
        Validation.INTEGER, hard_range=Range("50", "250"), soft_range=Range("140", "210")
    )
    assert "between 50 and 250" in parse_value(item, ["300"]).error.interpolate()
    warned = parse_value(item, ["120"])
    assert warned.error is None and warned.stored == "120"
    assert "between 140 and 210" in warned.warning.interpolate()
    assert parse_value(item, ["180"]).warning is None
    dated = text_item(Validation.DATE, hard_range=Range("1900-01-01", None))
    assert "1900-01-01 or more" in parse_value(dated, ["1899-12-31"]).error.interpolate()


def test_kept_range_bounds_follow_the_bound_text_and_the_kind_of_value(monkeypatch):
    """Bounds are read once per (kind of value, text): a range that changes, or the same text
    limiting another kind of value, is read anew, and a full store still answers right."""
    low = text_item(Validation.INTEGER, soft_range=Range("140", "210"))
    high = text_item(Validation.INTEGER, soft_range=Range("100", "210"))
    for _ in range(2):
        assert parse_value(low, ["120"]).warning is not None
        assert parse_value(high, ["120"]).warning is None
    dated = text_item(Validation.DATE, hard_range=Range("2026-01-02", None))
    stamped = text_item(Validation.DATETIME, hard_range=Range("2026-01-02", None))
    assert parse_value(dated, ["2026-01-01"]).error is not None
    assert parse_value(dated, ["2026-01-02"]).error is None
    assert parse_value(stamped, ["2026-01-01T23:00:00"]).error is not None
    assert parse_value(stamped, ["2026-01-02T00:00:00"]).error is None
    monkeypatch.setattr(values, "_BOUNDS", values._Bounds())
    monkeypatch.setattr(values._Bounds, "LIMIT", 1)
    assert parse_value(low, ["120"]).warning is not None
    assert parse_value(high, ["120"]).warning is None
    assert parse_value(high, ["99"]).warning is not None
    assert len(values._BOUNDS) == 1


def test_choices_keep_only_offered_codes():
    radio = Item(
        oid="I.S",
        name="s",
        type=ItemType.SINGLE_CHOICE,
        label={"en": "S"},
        choices=[Choice("1", {"en": "M"}), Choice("2", {"en": "F"})],
    )
    assert parse_value(radio, ["2"]).stored == "2"
    assert parse_value(radio, [""]).stored is None
    assert "Choose among" in parse_value(radio, ["3"]).error.interpolate()
    assert "one option only" in parse_value(radio, ["1", "2"]).error.interpolate()
    boxes = Item(
        oid="I.B",
        name="b",
        type=ItemType.MULTIPLE_CHOICE,
        label={"en": "B"},
        choices=[Choice(c, {"en": c}) for c in ("a", "b", "c")],
    )
    parsed = parse_value(boxes, ["c", "a"])
    assert parsed.stored == "a|c" and parsed.value == frozenset({"a", "c"})
    assert typed(boxes, "a|c") == frozenset({"a", "c"})
    yes_no = Item(oid="I.Y", name="y", type=ItemType.YES_NO, label={"en": "Y"})
    assert parse_value(yes_no, ["0"]).stored == "0"
    assert parse_value(yes_no, ["maybe"]).error is not None


def test_slider_values_stay_within_its_bounds():
    slider = Item(
        oid="I.P", name="p", type=ItemType.SLIDER, label={"en": "Pain"}, slider=Slider(0, 10)
    )
    assert parse_value(slider, ["7"]).value == Decimal(7)
    assert "between 0 and 10" in parse_value(slider, ["11"]).error.interpolate()
    assert parse_value(slider, ["7.5"]).error is not None
    assert parse_value(slider, ["٧"]).error is not None


def test_numbers_in_bounds_are_kept_as_typed():
    item = text_item(Validation.NUMBER)
    largest = "9" * 28 + "." + "9" * 28
    assert parse_value(item, [largest]).stored == largest
    assert parse_value(item, ["1.5e3"]).value == Decimal(1500)
    assert parse_value(item, ["-.5"]).value == Decimal("-0.5")
    assert typed(item, "1E+999999") is None  # stored before numbers were bounded: not a value


@given(st.lists(st.text(max_size=30), max_size=3), st.sampled_from([*list(Validation), None]))
def test_any_input_is_a_value_or_a_message(raw, validation):
    item = text_item(validation, pattern=r"\d+" if validation is Validation.REGEX else None)
    parsed = parse_value(item, raw)
    assert (parsed.error is None) or parsed.stored is None
