"""From what a person typed to a typed value, item by item, with a message when it is not valid.

The canonical form stored for a value is text: ISO 8601 for dates and times, '.' as the decimal
separator, choice codes as given. The typed value (Decimal, date, frozenset of codes ...) is what
expressions compute with. Hard range checks refuse a value; soft ones only warn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Context, Decimal
from typing import Any

from pyramid.i18n import TranslationString

from datacapt.ecrf.definition import Item, ItemType, Range, Validation
from datacapt.i18n import _
from datacapt.numbers import MAX_INTEGER_DIGITS, MAX_PLACES, NumberError, parse_number
from datacapt.patterns import MAX_MATCHED, PatternError, compile_pattern, matches
from datacapt.validation import MAX_EMAIL_LENGTH

MAX_TEXT = 4000
MAX_LONG_TEXT = 20000
# Matched by RE2 (datacapt.patterns), like designers' patterns: linear time, ASCII digits only.
EMAIL = r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}"
PHONE = r"\+?[0-9 ().\-/]{6,25}"
PARTIAL_DATE = r"[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?"
TIME_MM_SS = r"[0-5][0-9]:[0-5][0-9]"
SLIDER_NUMBER = r"-?[0-9]+"
DATE_ORDERS = {
    "dmy": ("day", "month", "year"),
    "mdy": ("month", "day", "year"),
    "ymd": ("year", "month", "day"),
}
DATE_PARTS = r"([0-9]{1,4})[/.\-]([0-9]{1,2})[/.\-]([0-9]{1,4})"

#: Room for the largest number a form accepts written with every decimal an item asks for.
WIDE = Context(prec=MAX_INTEGER_DIGITS + MAX_PLACES + 1)

Typed = Decimal | str | date | datetime | time | frozenset[str] | None


@dataclass(frozen=True)
class Parsed:
    """The outcome for one item: ``stored`` (canonical text, or None for blank), the typed value,
    and an error (the value is refused) or a warning (kept, to be confirmed or queried)."""

    stored: str | None
    value: Typed
    error: TranslationString | None = None
    warning: TranslationString | None = None


def _refuse(message: TranslationString) -> Parsed:
    return Parsed(None, None, error=message)


def _number(item: Item, raw: str) -> Parsed:
    try:
        number = parse_number(raw, decimal_comma=item.decimal_comma)
    except NumberError as error:
        return _refuse(error.message)
    if item.validation is Validation.INTEGER and number != number.to_integral_value():
        return _refuse(_("Enter a whole number."))
    exponent = number.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    if item.decimals is not None and places > item.decimals:
        return _refuse(
            _(
                "Enter the number with at most ${count} decimal(s): ${value} has ${places}.",
                mapping={"count": item.decimals, "value": raw, "places": places},
            )
        )
    if item.decimals is not None and places < item.decimals:
        # 73 on a one-decimal item means 73.0: stored as the item writes its numbers.
        number = number.quantize(Decimal(1).scaleb(-item.decimals), context=WIDE)
    return Parsed(str(number), number)


def _date(item: Item, raw: str) -> Parsed:
    """ISO (2026-01-31) always; also the item's display order with / - or . separators."""
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        match = compile_pattern(DATE_PARTS).fullmatch(raw) if len(raw) <= MAX_MATCHED else None
        if match is None:
            return _refuse(
                _("Enter a date, for example ${example}.", mapping={"example": _example(item)})
            )
        parts = dict(zip(DATE_ORDERS[item.date_format or "ymd"], match.groups(), strict=True))
        try:
            value = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
        except ValueError:
            return _refuse(_("This date does not exist."))
        if len(parts["year"]) != 4:
            return _refuse(_("Write the year with four digits."))
    return Parsed(value.isoformat(), value)


def _example(item: Item) -> str:
    return {"dmy": "31/01/2026", "mdy": "01/31/2026"}.get(item.date_format or "", "2026-01-31")


def _datetime(item: Item, raw: str) -> Parsed:
    try:
        value = datetime.fromisoformat(raw.replace(" ", "T"))
    except ValueError:
        return _refuse(_("Enter a date and time, for example 2026-01-31 14:30."))
    if value.tzinfo is not None:
        return _refuse(_("Enter the local date and time, without a time zone."))
    value = (
        value.replace(microsecond=0)
        if item.with_seconds
        else value.replace(second=0, microsecond=0)
    )
    return Parsed(value.isoformat(), value)


def _time(item: Item, raw: str) -> Parsed:
    try:
        value = time.fromisoformat(raw)
    except ValueError:
        return _refuse(_("Enter a time, for example 14:30."))
    if value.tzinfo is not None or value.microsecond:
        return _refuse(_("Enter a time, for example 14:30."))
    if not item.with_seconds:
        value = value.replace(second=0)
    return Parsed(value.isoformat(timespec="seconds" if item.with_seconds else "minutes"), value)


def _pattern(
    pattern: str, raw: str, message: TranslationString, limit: int = MAX_MATCHED
) -> Parsed:
    """``raw`` when all of it matches ``pattern``; a text over ``limit`` is refused unmatched."""
    if len(raw) > limit:
        return _refuse(_("Use at most ${count} characters.", mapping={"count": limit}))
    try:
        matched = matches(pattern, raw)
    except PatternError:  # only a design from before patterns were checked at design time
        return _refuse(
            _("This question's pattern cannot be checked: ask the study's designer to correct it.")
        )
    return Parsed(raw, raw) if matched else _refuse(message)


def _text(item: Item, raw: str) -> Parsed:
    match item.validation:
        case None:
            return Parsed(raw, raw)
        case Validation.INTEGER | Validation.NUMBER:
            return _number(item, raw)
        case Validation.EMAIL:
            return _pattern(EMAIL, raw, _("Enter an e-mail address."), MAX_EMAIL_LENGTH)
        case Validation.PHONE:
            return _pattern(item.pattern or PHONE, raw, _("Enter a phone number."))
        case Validation.DATE:
            return _date(item, raw)
        case Validation.DATETIME:
            return _datetime(item, raw)
        case Validation.TIME:
            return _time(item, raw)
        case Validation.TIME_MM_SS:
            return _pattern(TIME_MM_SS, raw, _("Enter minutes and seconds, for example 04:30."))
        case Validation.PARTIAL_DATE:
            return _pattern(
                PARTIAL_DATE,
                raw,
                _(
                    "Enter a year, a year and month, or a date, "
                    "for example 2026, 2026-01 or 2026-01-31."
                ),
            )
        case Validation.REGEX:
            return _pattern(
                item.pattern or "",
                raw,
                _("This value does not have the expected format."),
            )
    return Parsed(raw, raw)


def _bounded(parsed: Parsed, item: Item) -> Parsed:
    """Apply the hard (refuse) and soft (warn) ranges to a valid typed value."""
    if parsed.error or not isinstance(parsed.value, Decimal | date | datetime | time):
        return parsed
    for bounds, hard in ((item.hard_range, True), (item.soft_range, False)):
        if bounds is None or _within(parsed.value, bounds):
            continue
        message = range_message(bounds)
        if hard:
            return _refuse(message)
        return Parsed(parsed.stored, parsed.value, warning=message)
    return parsed


def _bound(value: Any, text: str) -> Any:
    """A range bound read as the same kind of value it limits."""
    if isinstance(value, Decimal):
        return Decimal(text)
    if isinstance(value, datetime):
        return datetime.fromisoformat(text)
    if isinstance(value, date):
        return date.fromisoformat(text)
    return time.fromisoformat(text)


def _within(value: Any, bounds: Range) -> bool:
    low = _bound(value, bounds.min) if bounds.min is not None else None
    high = _bound(value, bounds.max) if bounds.max is not None else None
    return (low is None or value >= low) and (high is None or value <= high)


def range_message(bounds: Range) -> TranslationString:
    if bounds.min is not None and bounds.max is not None:
        return _(
            "Expected between ${min} and ${max}.", mapping={"min": bounds.min, "max": bounds.max}
        )
    if bounds.min is not None:
        return _("Expected ${min} or more.", mapping={"min": bounds.min})
    return _("Expected ${max} or less.", mapping={"max": bounds.max})


def _choices(item: Item, raw: list[str]) -> Parsed:
    codes = {choice.code for choice in item.choices}
    if item.type in (ItemType.YES_NO, ItemType.TRUE_FALSE):
        codes = {"0", "1"}
    elif item.type is ItemType.ACKNOWLEDGEMENT:
        codes = {"1"}
    picked = [code for code in raw if code != ""]
    if any(code not in codes for code in picked):
        return _refuse(_("Choose among the options offered."))
    if item.type is ItemType.MULTIPLE_CHOICE:
        ordered = [choice.code for choice in item.choices if choice.code in picked]
        if len(ordered) > 1 and any(c.exclusive and c.code in ordered for c in item.choices):
            return Parsed(
                None,
                None,
                error=_(
                    "An option you ticked excludes the others (such as “None of these”): "
                    "tick it alone, or untick it."
                ),
            )
        return Parsed("|".join(ordered) or None, frozenset(ordered) if ordered else None)
    if len(picked) > 1:
        return _refuse(_("Choose one option only."))
    return Parsed(picked[0], picked[0]) if picked else Parsed(None, None)


def _convert(item: Item, raw: list[str]) -> Parsed:
    if item.type in (
        ItemType.SINGLE_CHOICE,
        ItemType.MULTIPLE_CHOICE,
        ItemType.YES_NO,
        ItemType.TRUE_FALSE,
        ItemType.ACKNOWLEDGEMENT,
    ):
        return _choices(item, raw)
    text = raw[0].strip() if raw else ""
    if not text:
        return Parsed(None, None)
    limit = item.max_length or (MAX_LONG_TEXT if item.type is ItemType.LONG_TEXT else MAX_TEXT)
    if len(text) > limit:
        return _refuse(_("Use at most ${count} characters.", mapping={"count": limit}))
    if item.type is ItemType.SLIDER:
        slider_min = item.slider.min if item.slider else 0
        slider_max = item.slider.max if item.slider else 100
        if (
            len(text) > MAX_MATCHED
            or not matches(SLIDER_NUMBER, text)
            or not slider_min <= int(text) <= slider_max
        ):
            return _refuse(
                _(
                    "Choose a value between ${min} and ${max}.",
                    mapping={"min": slider_min, "max": slider_max},
                )
            )
        return Parsed(text, Decimal(text))
    if item.type is ItemType.TEXT:
        return _text(item, text)
    return Parsed(text, text)


def holds_numbers(item: Item) -> bool:
    """Whether the item's values are numbers people read (and, typed ones, write) with their
    language's decimal separator; calculations may also give dates or text, left as they are."""
    return item.type in (ItemType.CALCULATED, ItemType.SLIDER) or (
        item.type is ItemType.TEXT and item.validation in (Validation.INTEGER, Validation.NUMBER)
    )


def parse_value(item: Item, raw: list[str]) -> Parsed:
    """``raw``: what the form posted for the item (several values for checkboxes)."""
    return _bounded(_convert(item, raw), item)


def typed(item: Item, stored: str | None) -> Typed:
    """The typed value of a stored (canonical) value, for expressions (ranges not applied: a
    value accepted under an earlier version keeps its meaning)."""
    if stored is None:
        return None
    return _convert(
        item, stored.split("|") if item.type is ItemType.MULTIPLE_CHOICE else [stored]
    ).value
