"""From what a person typed to a typed value, item by item, with a message when it is not valid.

The canonical form stored for a value is text: ISO 8601 for dates and times, '.' as the decimal
separator, choice codes as given. The typed value (Decimal, date, frozenset of codes ...) is what
expressions compute with. Hard range checks refuse a value; soft ones only warn.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Context, Decimal
from typing import Any

from pyramid.i18n import TranslationString

from datacapt.ecrf.definition import Item, ItemType, Range, Validation
from datacapt.i18n import _
from datacapt.numbers import MAX_INTEGER_DIGITS, MAX_PLACES, NumberError, read_number
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
DATE_PARTS = (
    r"([0-9]{1,4}|[Uu][Nn]?[Kk])[/.\-]([0-9]{1,2}|[Uu][Nn]?[Kk])[/.\-]([0-9]{1,4}|[Uu][Nn]?[Kk])"
)
#: How a person writes an unknown day or month (either is taken for either).
UNKNOWN = frozenset({"UK", "UNK"})
UNKNOWN_DAY, UNKNOWN_MONTH = "UK", "UNK"

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


#: A blank value's outcome (frozen: shared).
BLANK = Parsed(None, None)


def _refuse(message: TranslationString) -> Parsed:
    return Parsed(None, None, error=message)


def _number(item: Item, raw: str) -> Parsed:
    try:
        number, places = read_number(raw, decimal_comma=item.decimal_comma)
    except NumberError as error:
        return _refuse(error.message)
    # Without decimal places a number is whole: no comparison with its integral value.
    if item.validation is Validation.INTEGER and places and number != number.to_integral_value():
        return _refuse(_("Enter a whole number."))
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
    """ISO (2026-01-31) always; also the item's display order with / - or . separators. Where
    the item allows partial dates, UK/UNK stand for an unknown day or month (``UK/03/1970``) and
    ISO 8601's reduced precision (``1970-03``, ``1970``) is what is stored."""
    shown = _shown_date(item, raw)
    if shown is not None:
        return shown
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        if item.partial_dates and len(raw) <= MAX_MATCHED and matches(PARTIAL_DATE, raw):
            return _partial_date(raw)
        match = compile_pattern(DATE_PARTS).fullmatch(raw) if len(raw) <= MAX_MATCHED else None
        if match is None:
            return _refuse(
                _("Enter a date, for example ${example}.", mapping={"example": _example(item)})
            )
        parts = dict(zip(DATE_ORDERS[item.date_format or "ymd"], match.groups(), strict=True))
        unknown = {key for key, part in parts.items() if part.upper() in UNKNOWN}
        if unknown and not item.partial_dates:
            return _refuse(_("This question needs the whole date."))
        if len(parts["year"]) != 4 or "year" in unknown:
            return _refuse(_("Write the year with four digits."))
        if "month" in unknown and "day" not in unknown:
            return _refuse(_("When the month is unknown, the day is unknown too (UK/UNK)."))
        if unknown:
            known = parts["year"] if "month" in unknown else f"{parts['year']}-{parts['month']:0>2}"
            return _partial_date(known)
        try:
            value = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
        except ValueError:
            return _refuse(_("This date does not exist."))
    return Parsed(value.isoformat(), value)


#: How a date is shown in each order (the parts of DATE_ORDERS, joined).
SHOWN_DATES = {
    "dmy": "{day}/{month}/{year}",
    "mdy": "{month}/{day}/{year}",
    "ymd": "{year}-{month}-{day}",
}

#: Where the day, month and year stand in a date written DD/MM/YYYY or MM/DD/YYYY (any of the
#: separators / . -): the shape :func:`shown_date` gives every whole stored date of such items.
_SHOWN_SLICES = {
    "dmy": (slice(0, 2), slice(3, 5), slice(6, 10)),
    "mdy": (slice(3, 5), slice(0, 2), slice(6, 10)),
}


def _shown_date(item: Item, raw: str) -> Parsed | None:
    """A whole date in the item's own day-month order with two-digit day and month and a
    four-digit year (what a saved form shows), read without trying ISO and the patterns, which
    give the same for it; None for any other text."""
    slices = _SHOWN_SLICES.get(item.date_format or "")
    if (
        slices is None
        or len(raw) != 10
        or raw[2] not in "/.-"
        or raw[5] not in "/.-"
        or not raw.isascii()
        or not (raw[:2] + raw[3:5] + raw[6:]).isdigit()
    ):
        return None
    day, month, year = int(raw[slices[0]]), int(raw[slices[1]]), int(raw[slices[2]])
    try:
        value = date(year, month, day)
    except ValueError:
        return _refuse(_("This date does not exist."))
    return Parsed(value.isoformat(), value)


def _partial_date(text: str) -> Parsed:
    """A year, or a year and month (ISO 8601 reduced precision). Its typed value is None:
    expressions read a partial date as a missing value (see ``datacapt.expressions``)."""
    if len(text) == 10:  # a whole date ISO refused: 1970-02-30
        return _refuse(_("This date does not exist."))
    if text[:4] == "0000" or (len(text) == 7 and not 1 <= int(text[5:]) <= 12):
        return _refuse(_("This date does not exist."))
    return Parsed(text, None)


def _example(item: Item) -> str:
    return {"dmy": "31/01/2026", "mdy": "01/31/2026"}.get(item.date_format or "", "2026-01-31")


def is_partial_date(item: Item, stored: str | None) -> bool:
    """A stored date with an unknown day or month (``1970-03`` or ``1970``)."""
    return item.validation is Validation.DATE and stored is not None and len(stored) in (4, 7)


def partial_date_bounds(stored: str) -> tuple[date, date]:
    """The first and last day a partial date may be: what ranges compare and lists sort by
    (a year 0000, refused since but perhaps stored before, is read as year 1)."""
    year = max(int(stored[:4]), 1)
    if len(stored) == 4:
        return date(year, 1, 1), date(year, 12, 31)
    month = int(stored[5:7])
    return date(year, month, 1), date(year, month, monthrange(year, month)[1])


def shown_date(stored: str, order: str | None) -> str:
    """A stored date as the item shows and takes it back: ``15/03/1970`` (dmy), ``03/15/1970``
    (mdy) or ISO; an unknown day or month as UK/UNK (``UK/03/1970``, ``UK/UNK/1970``)."""
    pieces = stored.split("-")
    # Each piece written and all digits (read whole: this runs for every date of every page).
    if not (1 <= len(pieces) <= 3 and all(pieces) and "".join(pieces).isdigit()):
        return stored
    year, month, day = (pieces + [UNKNOWN_MONTH, UNKNOWN_DAY][len(pieces) - 1 :])[:3]
    return SHOWN_DATES[order or "ymd"].format(day=day, month=month, year=year)


#: What an input shows while empty: the format its item is typed in.
INPUT_HINTS = {
    Validation.DATETIME: "YYYY-MM-DD HH:MM",
    Validation.TIME: "HH:MM",
    Validation.TIME_MM_SS: "MM:SS",
    Validation.PARTIAL_DATE: "YYYY[-MM[-DD]]",
}
DATE_HINTS = {"dmy": "DD/MM/YYYY", "mdy": "MM/DD/YYYY", "ymd": "YYYY-MM-DD"}


def input_hint(item: Item) -> str | None:
    """The placeholder of the item's input wherever it is typed (form, query correction)."""
    if item.validation is Validation.DATE:
        return DATE_HINTS[item.date_format or "ymd"]
    return INPUT_HINTS.get(item.validation) if item.validation else None


#: The validations whose inputs show a stored value otherwise than it is stored (see shown).
REWRITTEN = frozenset({Validation.DATE, Validation.DATETIME})


def shown(item: Item, stored: str | None) -> str:
    """A stored (canonical) value as the item's input shows it, so that saving the form again
    without a change stores the same value: dates in the item's order, date-times with a space."""
    if stored is None:
        return ""
    if item.validation is Validation.DATE:
        return shown_date(stored, item.date_format)
    if item.validation is Validation.DATETIME:
        return stored.replace("T", " ")
    return stored


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
    """Apply the hard (refuse) and soft (warn) ranges to a valid typed value; a partial date
    is out of range only when none of the days it may be is within."""
    stored, value = parsed.stored, parsed.value
    # is_partial_date, read inline: this runs for every ranged value of every page and save.
    partial = (
        parsed.error is None
        and item.validation is Validation.DATE
        and stored is not None
        and len(stored) in (4, 7)
    )
    if not partial and (parsed.error or not isinstance(value, Decimal | date | datetime | time)):
        return parsed
    kind = type(value)
    for bounds, hard in ((item.hard_range, True), (item.soft_range, False)):
        if bounds is None:
            continue
        if partial:
            if _overlaps(partial_date_bounds(stored or ""), bounds):
                continue
        else:  # within the bounds, typed as the value is (once per kind and text)
            low = _BOUNDS[kind, bounds.min] if bounds.min is not None else None
            high = _BOUNDS[kind, bounds.max] if bounds.max is not None else None
            if (low is None or value >= low) and (high is None or value <= high):
                continue
        message = range_message(item, bounds)
        if hard:
            return _refuse(message)
        return Parsed(parsed.stored, parsed.value, warning=message)
    return parsed


class _Bounds(dict[tuple[type, str], Any]):
    """Range bounds read as the kind of value they limit, once per (kind, text): a design has a
    few, while every value of every page and save is compared with them. Bounded in size."""

    LIMIT = 4096

    def __missing__(self, key: tuple[type, str]) -> Any:
        kind, text = key
        if issubclass(kind, Decimal):
            found: Any = Decimal(text)
        elif issubclass(kind, datetime):
            found = datetime.fromisoformat(text)
        elif issubclass(kind, date):
            found = date.fromisoformat(text)
        else:
            found = time.fromisoformat(text)
        if len(self) < self.LIMIT:
            self[key] = found
        return found


_BOUNDS = _Bounds()


def _overlaps(days: tuple[date, date], bounds: Range) -> bool:
    first, last = days
    return (bounds.min is None or last >= date.fromisoformat(bounds.min)) and (
        bounds.max is None or first <= date.fromisoformat(bounds.max)
    )


def range_message(item: Item, bounds: Range) -> TranslationString:
    """The bounds as the item shows values: a date in its own order."""
    low = shown(item, bounds.min) if bounds.min is not None else None
    high = shown(item, bounds.max) if bounds.max is not None else None
    if low is not None and high is not None:
        return _("Expected between ${min} and ${max}.", mapping={"min": low, "max": high})
    if low is not None:
        return _("Expected ${min} or more.", mapping={"min": low})
    return _("Expected ${max} or less.", mapping={"max": high})


def _codes(item: Item) -> frozenset[str]:
    """The codes a choice item takes."""
    if item.type in (ItemType.YES_NO, ItemType.TRUE_FALSE):
        return frozenset({"0", "1"})
    if item.type is ItemType.ACKNOWLEDGEMENT:
        return frozenset({"1"})
    return frozenset(choice.code for choice in item.choices)


def _choices(item: Item, raw: list[str], codes: frozenset[str] | None = None) -> Parsed:
    """``codes``: the item's (:func:`_codes`), when already known."""
    if codes is None:
        codes = _codes(item)
    picked = [code for code in raw if code != ""]
    if not codes.issuperset(picked):
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


CHOICE_TYPES = frozenset(
    {
        ItemType.SINGLE_CHOICE,
        ItemType.MULTIPLE_CHOICE,
        ItemType.YES_NO,
        ItemType.TRUE_FALSE,
        ItemType.ACKNOWLEDGEMENT,
    }
)


def _convert(item: Item, raw: list[str]) -> Parsed:
    if item.type in CHOICE_TYPES:
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


@dataclass(frozen=True, slots=True)
class _Plan:
    """What parsing a published item takes, found once: its choice codes (None: no choice
    item), the longest text it takes and its text's reader by validation (None: read by
    :func:`_convert`), whether it has a range, and its bounds typed."""

    codes: frozenset[str] | None
    limit: int
    reader: Callable[[Item, str], Parsed] | None
    ranged: bool
    #: The ranges' bounds read once as the reader's values are typed: (low, high, hard, range)
    #: (None: no range, or one :func:`_bounded` reads, as for a slider or a bound not read).
    bounds: tuple[tuple[Any, Any, bool, Range], ...] | None


#: The readers of a text item's value by validation: what :func:`_text` picks.
_READERS: dict[Validation | None, Callable[[Item, str], Parsed]] = {
    Validation.INTEGER: _number,
    Validation.NUMBER: _number,
    Validation.DATE: _date,
    Validation.DATETIME: _datetime,
    Validation.TIME: _time,
}
#: By ``id``, the plans of the items of published versions, each with its item (its ``id`` is
#: not reused while it is kept). Bounded: cleared when full.
_PLANS: dict[int, tuple[Item, _Plan]] = {}
PLANS_LIMIT = 65536


#: How a bound is read for the values a reader gives (what :class:`_Bounds` does by kind).
_BOUND_READERS: dict[Callable[[Item, str], Parsed], Callable[[str], Any]] = {
    _number: Decimal,
    _date: date.fromisoformat,
    _datetime: datetime.fromisoformat,
    _time: time.fromisoformat,
}


def _typed_bounds(
    item: Item, reader: Callable[[Item, str], Parsed] | None
) -> tuple[tuple[Any, Any, bool, Range], ...] | None:
    read = _BOUND_READERS.get(reader) if reader is not None else None
    if read is None:
        return None
    found = []
    try:
        for bounds, hard in ((item.hard_range, True), (item.soft_range, False)):
            if bounds is not None:
                low = read(bounds.min) if bounds.min is not None else None
                high = read(bounds.max) if bounds.max is not None else None
                found.append((low, high, hard, bounds))
    except (ValueError, ArithmeticError):
        return None  # a bound that does not read: _bounded meets it as it always did
    return tuple(found) or None


def _plan(item: Item) -> _Plan:
    reader = None
    if item.type is ItemType.TEXT:
        reader = _READERS.get(item.validation, _text)
    return _Plan(
        _codes(item) if item.type in CHOICE_TYPES else None,
        item.max_length or (MAX_LONG_TEXT if item.type is ItemType.LONG_TEXT else MAX_TEXT),
        reader,
        item.hard_range is not None or item.soft_range is not None,
        _typed_bounds(item, reader),
    )


def plan_published(items: Iterable[Item]) -> None:
    """Plan the parsing of a published version's items once per process. Only a published
    version's: its design never changes (the database refuses it), while a draft's items may
    change between two evaluations and are parsed by the general path."""
    items = list(items)
    if len(_PLANS) + len(items) > PLANS_LIMIT:
        _PLANS.clear()
    for item in items:
        _PLANS[id(item)] = (item, _plan(item))


def _planned(item: Item, plan: _Plan, raw: list[str]) -> Parsed:
    """:func:`_convert`'s steps, with what the item decides looked up once (see _Plan)."""
    if plan.codes is not None:
        return _choices(item, raw, plan.codes)
    if plan.reader is None:
        return _convert(item, raw)
    text = raw[0].strip() if raw else ""
    if not text:
        return BLANK
    if len(text) > plan.limit:
        return _refuse(_("Use at most ${count} characters.", mapping={"count": plan.limit}))
    return plan.reader(item, text)


def _within(parsed: Parsed, item: Item, bounds: tuple[tuple[Any, Any, bool, Range], ...]) -> Parsed:
    """:func:`_bounded` with the bounds typed once (a plan's): a blank or refused value as it
    is, a partial date (no typed value) as _bounded reads it."""
    value = parsed.value
    if value is None:
        return parsed if parsed.stored is None else _bounded(parsed, item)
    for low, high, hard, limits in bounds:
        if (low is None or value >= low) and (high is None or value <= high):
            continue
        message = range_message(item, limits)
        return _refuse(message) if hard else Parsed(parsed.stored, value, warning=message)
    return parsed


def parse_value(item: Item, raw: list[str]) -> Parsed:
    """``raw``: what the form posted for the item (several values for checkboxes)."""
    found = _PLANS.get(id(item))
    if found is not None and found[0] is item:
        plan, reader = found[1], found[1].reader
        if reader is None or plan.codes is not None:
            parsed = _planned(item, plan, raw)
        else:  # a text item's value, read here (_planned's steps): a call less per value
            text = raw[0].strip() if raw else ""
            if not text:
                return BLANK  # no range applies to a blank
            if len(text) > plan.limit:
                return _refuse(_("Use at most ${count} characters.", mapping={"count": plan.limit}))
            parsed = reader(item, text)
        if plan.bounds is not None:
            return _within(parsed, item, plan.bounds)
        return _bounded(parsed, item) if plan.ranged else parsed
    parsed = _convert(item, raw)
    if item.hard_range is None and item.soft_range is None:
        return parsed  # no range to apply: what _bounded would give
    return _bounded(parsed, item)


def typed(item: Item, stored: str | None) -> Typed:
    """The typed value of a stored (canonical) value, for expressions (ranges not applied: a
    value accepted under an earlier version keeps its meaning)."""
    if stored is None:
        return None
    raw = stored.split("|") if item.type is ItemType.MULTIPLE_CHOICE else [stored]
    found = _PLANS.get(id(item))
    if found is not None and found[0] is item:
        return _planned(item, found[1], raw).value
    return _convert(item, raw).value
