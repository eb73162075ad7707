"""Small rules with sharp edges: redirects, codes, e-mails, pages, UTC columns, hashing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from datacapt.config import parse_settings
from datacapt.errors import safe_came_from
from datacapt.htmx import encode_url
from datacapt.models.types import UTCDateTime
from datacapt.pagination import Page, page_number
from datacapt.validation import ValidationError, clean_code, clean_email


@given(st.text())
def test_came_from_is_always_a_local_path(value):
    result = safe_came_from(value)
    assert result.startswith("/")
    assert not result.startswith("//")
    assert "\\" not in result
    assert result.isascii()  # a Location header carries it
    assert result == "/" or result == encode_url(value)


@pytest.mark.parametrize("code", ["a", "par01", "onc-001", "x" * 40])
def test_codes_accepted(code):
    assert clean_code("code", code) == code


@pytest.mark.parametrize("code", ["", "-a", "a-", "A1", "a b", "é", "x" * 41, "a/b", "a..b"])
def test_codes_refused(code):
    with pytest.raises(ValidationError) as error:
        clean_code("code", code)
    assert error.value.field == "code"


def test_emails_are_normalised_and_checked():
    assert clean_email("email", "  Marie.Curie@Example.ORG ") == "marie.curie@example.org"
    for bad in ("", "no-at-sign", "a@b", "a b@example.org", "x" * 250 + "@example.org"):
        with pytest.raises(ValidationError):
            clean_email("email", bad)


@pytest.mark.parametrize(
    ("raw", "number"), [(None, 1), ("3", 3), ("-2", 1), ("x", 1), ("10000000", 100_000)]
)
def test_page_numbers(raw, number):
    assert page_number(raw) == number


def test_page_arithmetic():
    page = Page(items=[], number=2, size=50, total=101)
    assert (page.pages, page.previous, page.next) == (3, 1, 3)
    assert Page(items=[], number=1, size=50, total=0).pages == 1


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_utc_column_refuses_naive_times_and_returns_aware_utc(dialect):
    column = UTCDateTime()
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2026, 1, 1), dialect)
    paris = timezone(timedelta(hours=1))
    stored = column.process_bind_param(datetime(2026, 1, 1, 12, tzinfo=paris), dialect)
    assert stored.replace(tzinfo=UTC).hour == 11
    back = column.process_result_value(stored, dialect)
    assert back == datetime(2026, 1, 1, 11, tzinfo=UTC)


def test_production_hashing_is_argon2id_with_owasp_parameters():
    settings = parse_settings(
        {
            "sqlalchemy.url": "sqlite://",
            "datacapt.secret": "s" * 40,
            "datacapt.encryption_keys": "k:" + "A" * 43 + "=",
        }
    )
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )
    assert hasher.hash("a long enough password").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_casebook_writes_numbers_with_its_languages_decimal_separator():
    from zoneinfo import ZoneInfo

    from datacapt.ecrf.definition import Item, ItemType, Validation
    from datacapt.exports.wording import Wording

    weight = Item("I.W", "w", ItemType.TEXT, {"en": "W"}, validation=Validation.NUMBER)
    note = Item("I.N", "n", ItemType.TEXT, {"en": "N"})
    french = Wording("fr", None, ZoneInfo("UTC"), {})  # type: ignore[arg-type]
    english = Wording("en", None, ZoneInfo("UTC"), {})  # type: ignore[arg-type]
    assert french.value(weight, "72.5") == "72,5"
    assert english.value(weight, "72.5") == "72.5"
    assert french.value(note, "v1.2") == "v1.2"  # free text is not a number
