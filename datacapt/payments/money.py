"""Amounts as integer minor units of an ISO 4217 currency: parsing what people type, and showing
it in their language. Floats never enter: ``12,5`` EUR is parsed as text to 1250 cents."""

from __future__ import annotations

import re
from decimal import Decimal

import pycountry
from babel.numbers import format_currency, get_currency_precision

from datacapt.i18n import _
from datacapt.validation import ValidationError

#: Ten million in the currency's major unit: more is a typing error, not a volunteer's pay.
MAX_MAJOR_UNITS = 10_000_000
_AMOUNT = re.compile(r"^([0-9]{1,9})(?:[.,]([0-9]+))?$")


def clean_currency(text: str, field: str = "currency") -> str:
    """An active ISO 4217 alphabetic code (``EUR``), upper-cased."""
    code = text.strip().upper()
    if not (len(code) == 3 and code.isascii() and code.isalpha()):
        raise ValidationError(field, _("Enter a three-letter ISO 4217 currency code, such as EUR."))
    if pycountry.currencies.get(alpha_3=code) is None:
        raise ValidationError(
            field, _("${code} is not an ISO 4217 currency.", mapping={"code": code})
        )
    return code


def minor_digits(currency: str) -> int:
    """Digits after the decimal mark: 2 for EUR, 0 for JPY, 3 for KWD."""
    return get_currency_precision(currency)


def parse_amount(text: str, currency: str, field: str) -> int:
    """``"12.50"`` or ``"12,50"`` → 1250 (cents of ``currency``); no sign, no thousands
    separator, no more decimals than the currency has."""
    raw = text.strip().replace(" ", "").replace("\u00a0", "")
    match = _AMOUNT.match(raw)
    digits = minor_digits(currency)
    if match is None:
        raise ValidationError(field, _("Enter an amount such as 25.00 (no sign, no symbol)."))
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > digits:
        raise ValidationError(
            field,
            _(
                "${currency} has ${digits} decimal places at most.",
                mapping={"currency": currency, "digits": digits},
            ),
        )
    if int(whole) >= MAX_MAJOR_UNITS:
        raise ValidationError(field, _("The amount is too large."))
    return int(whole) * 10**digits + int(fraction.ljust(digits, "0") or 0)


def optional_amount(text: str, currency: str, field: str) -> int | None:
    return None if not text.strip() else parse_amount(text, currency, field)


def decimal(cents: int, currency: str) -> Decimal:
    """The amount in major units, exact (for files: ``12.50``)."""
    return Decimal(cents).scaleb(-minor_digits(currency))


def plain(cents: int, currency: str) -> str:
    """``12.50``: the amount as a form field or a bank file writes it."""
    return f"{decimal(cents, currency):.{minor_digits(currency)}f}"


def shown(cents: int, currency: str, locale: str) -> str:
    """``12,50 €`` in French, ``€12.50`` in English."""
    return format_currency(decimal(cents, currency), currency, locale=locale)
