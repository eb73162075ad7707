"""Where a study runs: its languages, its sites' countries and time zones.

Countries are ISO 3166-1 alpha-2 codes named by babel in the reader's language; zones are the
IANA names zoneinfo knows; languages are the interface's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from babel import Locale

from datacapt.i18n import LANGUAGES, _, timezone_choices
from datacapt.validation import ValidationError

#: Two-letter territory codes babel names that are not countries (EU, UN, eurozone, pseudo).
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    return frozenset(
        code
        for code in Locale.parse("en").territories
        if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
    )


@lru_cache(maxsize=len(LANGUAGES))
def country_choices(locale_name: str) -> list[tuple[str, str]]:
    """(code, name) of every country, named and sorted in ``locale_name``."""
    names = Locale.parse(locale_name).territories
    return sorted(((code, names.get(code, code)) for code in country_codes()), key=lambda c: c[1])


def country_name(code: str | None, locale_name: str) -> str:
    if not code:
        return ""
    return Locale.parse(locale_name).territories.get(code, code)


def clean_country(text: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 country code (any case), or None for nothing."""
    code = (text or "").strip().upper()
    if not code:
        return None
    if code not in country_codes():
        raise ValidationError("country", _("Choose a country from the list."))
    return code


def clean_timezone(text: str | None, *, required: bool = True) -> str | None:
    """An IANA time zone name (e.g. Europe/Paris); with ``required=False``, nothing is None."""
    name = (text or "").strip()
    if not name and not required:
        return None
    if name not in timezone_choices():
        raise ValidationError("timezone", _("Choose a time zone from the list, e.g. Europe/Paris."))
    return name


def clean_languages(codes: Iterable[str]) -> list[str]:
    """At least one of the interface's languages, in the interface's order."""
    chosen = set(codes)
    if not chosen:
        raise ValidationError("languages", _("Choose at least one language."))
    if chosen - set(LANGUAGES):
        raise ValidationError("languages", _("Choose languages from the list."))
    return [code for code in LANGUAGES if code in chosen]
