"""Numbers read from people and files, and written out, within bounds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from datacapt.numbers import NumberError, parse_number, plain


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("42", Decimal(42)),
        ("-0.5", Decimal("-0.5")),
        ("+.5", Decimal("0.5")),
        ("5.", Decimal(5)),
        ("1.5e3", Decimal(1500)),
        ("1E-28", Decimal("1E-28")),
        ("9" * 28, Decimal("9" * 28)),
        ("0." + "0" * 27 + "1", Decimal("1E-28")),
    ],
)
def test_numbers_within_bounds(text: str, number: Decimal) -> None:
    assert parse_number(text) == number


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1_000", "Enter a number."),
        ("١٢٣", "Enter a number."),
        ("１２", "Enter a number."),
        ("1,5", "Enter a number."),
        ("NaN", "Enter a number."),
        ("Infinity", "Enter a number."),
        (" 1", "Enter a number."),
        ("1e", "Enter a number."),
        ("1E+150000000", "28 digits before"),
        ("1E+1000000", "28 digits before"),
        ("1E+999999", "28 digits before"),
        ("1e99999999999999999999999", "28 digits before"),
        ("0E+99999999", "28 digits before"),
        ("1" * 29, "28 digits before"),
        ("1E-29", "28 after it"),
    ],
)
def test_numbers_out_of_bounds_or_syntax_are_refused(text: str, message: str) -> None:
    with pytest.raises(NumberError) as refused:
        parse_number(text)
    assert message in refused.value.message.interpolate()


def test_the_decimal_comma_is_read_where_the_item_allows_it() -> None:
    assert parse_number("1,5", decimal_comma=True) == Decimal("1.5")
    with pytest.raises(NumberError):
        parse_number("1,000.5", decimal_comma=True)


def test_plain_writes_numbers_out_within_bounds_only() -> None:
    assert plain(Decimal("1.5E+3")) == "1500"
    assert plain(Decimal(1) / Decimal(30000)) == "0.0000333333333333333333333333"
    assert plain(Decimal("1E-900")) == "0." + "0" * 28
    for huge in (Decimal("1E+28"), Decimal("1E+150000000"), Decimal("0E+50"), Decimal("NaN")):
        with pytest.raises(NumberError):
            plain(huge)
