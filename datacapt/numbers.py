"""Numbers as people type them and as the server writes them out, bounded.

``Decimal`` takes '1_000', Arabic-Indic digits and '1E+150000000' (150 MB once written out with
``format(value, "f")``); none of those is a number a form should accept. Every number read from
a person or a file goes through :func:`parse_number`, and every Decimal written out in full goes
through :func:`plain`, so no value can grow without end.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from functools import lru_cache

from babel import UnknownLocaleError
from babel.numbers import get_decimal_symbol
from pyramid.i18n import TranslationString

from datacapt.i18n import _

MAX_INTEGER_DIGITS = 28
"""Digits before the decimal point: what the evaluator's precision and the value_number column
(NUMERIC(38, 10)) hold."""
MAX_PLACES = 28
"""Digits after the decimal point."""
SYNTAX = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""ASCII digits, one '.', an optional exponent: no '_', no other script's digits, no spaces."""
_ROUNDING = Context(prec=MAX_INTEGER_DIGITS + MAX_PLACES + 1, rounding=ROUND_HALF_EVEN)


class NumberError(ValueError):
    """Not a number a form accepts; ``message`` says so to the person who typed it."""

    def __init__(self, message: TranslationString) -> None:
        super().__init__(str(message))
        self.message = message


def too_large() -> TranslationString:
    return _(
        "Enter a number with at most ${integer} digits before the decimal point and ${places} "
        "after it.",
        mapping={"integer": MAX_INTEGER_DIGITS, "places": MAX_PLACES},
    )


def in_range(number: Decimal) -> bool:
    """Whether ``number`` is finite and below 10^28 in size (a zero too: '0E+99999999' written
    out is a hundred million zeros)."""
    return number.is_finite() and number.adjusted() < MAX_INTEGER_DIGITS


def parse_number(text: str, *, decimal_comma: bool = False) -> Decimal:
    """The number ``text`` writes ('1.5', '-2', '.5', '1.5e3'; '1,5' too with ``decimal_comma``),
    with at most :data:`MAX_INTEGER_DIGITS` digits before the point and :data:`MAX_PLACES` after.
    """
    return read_number(text, decimal_comma=decimal_comma)[0]


def read_number(text: str, *, decimal_comma: bool = False) -> tuple[Decimal, int]:
    """:func:`parse_number`'s number and its decimal places (the digits after the point; none
    for a positive exponent). Without an exponent, what forms send, the places are counted in
    the text: no ``as_tuple`` (a tuple of every digit) per value of every page and save."""
    if decimal_comma:
        text = text.replace(",", ".")
    if SYNTAX.fullmatch(text) is None:
        raise NumberError(_("Enter a number."))
    try:
        number = Decimal(text)
    except InvalidOperation:  # an exponent beyond what Decimal can represent
        raise NumberError(too_large()) from None
    if "e" in text or "E" in text:
        exponent = number.as_tuple().exponent
        places = max(0, -exponent) if isinstance(exponent, int) else 0
    else:
        point = text.find(".")
        places = 0 if point < 0 else len(text) - point - 1
    # SYNTAX admits no infinity or NaN: the size is what in_range has left to check.
    if number.adjusted() >= MAX_INTEGER_DIGITS or places > MAX_PLACES:
        raise NumberError(too_large())
    return number, places


def plain(number: Decimal) -> str:
    """``number`` written out without an exponent, rounded to :data:`MAX_PLACES` decimals;
    NumberError when it is not :func:`in_range`."""
    if not in_range(number):
        raise NumberError(too_large())
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_PLACES:
        number = number.quantize(Decimal(1).scaleb(-MAX_PLACES), context=_ROUNDING)
    return format(number, "f")


PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
"""A number as the server stores it: digits, one '.', no exponent."""


@lru_cache(maxsize=16)
def decimal_symbol(locale: str) -> str:
    """The decimal separator people of ``locale`` write: ',' in French, German, Polish."""
    try:
        return get_decimal_symbol(locale)
    except (ValueError, UnknownLocaleError):
        return "."


def shown_number(text: str, locale: str) -> str:
    """A stored number written with ``locale``'s decimal separator (any other text as it is)."""
    if "." not in text:
        return text  # no separator to rewrite: a whole number, or no number at all
    symbol = decimal_symbol(locale)
    if symbol == "." or PLAIN.fullmatch(text) is None:
        return text
    return text.replace(".", symbol)


def typed_number(text: str, locale: str) -> str:
    """What someone of ``locale`` typed, with '.' for their decimal separator: both '72,5' and
    '72.5' are read in French, German and Polish."""
    symbol = decimal_symbol(locale)
    return text.replace(symbol, ".") if symbol != "." else text
