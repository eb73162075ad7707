"""Partial dates: an unknown day or month typed as UK/UNK in the item's order, stored as ISO
8601 reduced precision, shown back as typed, ordered and exported at their precision."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.support import Translations
from lxml import etree
from pyramid.i18n import Localizer

from datacapt.cli.demo_design import demo_definition
from datacapt.design.interchange.odm_reader import read_metadata
from datacapt.design.interchange.odm_writer import write_metadata
from datacapt.ecrf.definition import Item, ItemType, Range, Validation
from datacapt.ecrf.values import parse_value, partial_date_bounds, shown, typed
from datacapt.exports.datatypes import DataType, data_type
from datacapt.exports.options import ExportFormat, ExportOptions
from datacapt.exports.shifting import shifted_text
from datacapt.exports.source import Column
from datacapt.exports.wording import Wording


def date_item(order=None, partial=True):
    return Item(
        oid="I.ONSET",
        name="onset",
        type=ItemType.TEXT,
        label={"en": "Onset"},
        validation=Validation.DATE,
        date_format=order,
        partial_dates=partial,
    )


@pytest.mark.parametrize(
    ("order", "typed_in", "stored", "back"),
    [
        ("dmy", "UK/03/1970", "1970-03", "UK/03/1970"),
        ("dmy", "un/3/1970", None, None),
        ("dmy", "unk/unk/1970", "1970", "UK/UNK/1970"),
        ("mdy", "03/UK/1970", "1970-03", "03/UK/1970"),
        ("mdy", "UNK/UK/1970", "1970", "UNK/UK/1970"),
        ("ymd", "1970-03-UK", "1970-03", "1970-03-UK"),
        ("ymd", "1970-03", "1970-03", "1970-03-UK"),
        ("dmy", "1970", "1970", "UK/UNK/1970"),
        ("dmy", "15/03/1970", "1970-03-15", "15/03/1970"),
    ],
)
def test_a_partial_date_is_stored_at_its_precision_and_shown_as_typed(
    order, typed_in, stored, back
):
    item = date_item(order)
    parsed = parse_value(item, [typed_in])
    if stored is None:
        assert parsed.error is not None
        return
    assert parsed.error is None and parsed.stored == stored
    assert shown(item, parsed.stored) == back
    assert parse_value(item, [back]).stored == stored  # what is shown saves unchanged


@pytest.mark.parametrize(
    ("typed_in", "message"),
    [
        ("15/UNK/1970", "the day is unknown too"),
        ("UK/00/1970", "does not exist"),
        ("UK/UNK/UNK", "four digits"),
        ("1970-02-30", "does not exist"),
        ("UK/03/70", "four digits"),
        ("UK/03/0000", "does not exist"),
        ("UK/UNK/0000", "does not exist"),
        ("0000-03", "does not exist"),
    ],
)
def test_a_partial_date_is_validated(typed_in, message):
    assert message in parse_value(date_item("dmy"), [typed_in]).error.interpolate()


def test_only_items_that_allow_them_take_partial_dates():
    whole = date_item("dmy", partial=False)
    assert "whole date" in parse_value(whole, ["UK/03/1970"]).error.interpolate()
    assert parse_value(whole, ["1970-03"]).error is not None


def test_expressions_read_a_partial_date_as_missing():
    assert typed(date_item(), "1970-03") is None
    assert typed(date_item(), "1970-03-15") == date(1970, 3, 15)


def test_partial_dates_order_by_the_days_they_may_be():
    stored = ["1970-03-15", "1971", "1970", "1970-03", "1969-12-31", "1970-12"]
    assert sorted(stored) == ["1969-12-31", "1970", "1970-03", "1970-03-15", "1970-12", "1971"]
    assert partial_date_bounds("1970-02") == (date(1970, 2, 1), date(1970, 2, 28))
    assert partial_date_bounds("1970-12") == (date(1970, 12, 1), date(1970, 12, 31))
    assert partial_date_bounds("1972") == (date(1972, 1, 1), date(1972, 12, 31))
    assert partial_date_bounds("9999-12") == (date(9999, 12, 1), date(9999, 12, 31))
    assert partial_date_bounds("0000-03") == (date(1, 3, 1), date(1, 3, 31))


@pytest.mark.parametrize("typed_in", ["UK/03/0000", "UK/12/9999", "UK/UNK/9999"])
def test_a_partial_date_at_the_calendar_s_ends_is_told_not_raised(typed_in):
    """Partial dates checked against a range: the first and last years of the calendar give a
    message or a value, never an exception (a 500)."""
    item = date_item("dmy")
    item.hard_range = Range(min="1900-01-01", max="2100-12-31")
    parsed = parse_value(item, [typed_in])
    assert parsed.error is not None


def test_exports_write_a_partial_date_as_iso_reduced_precision_text():
    column = Column("demographics", date_item(), "en")
    assert data_type(column, ExportOptions(ExportFormat.CSV)) is DataType.STRING
    whole = Column("demographics", date_item(partial=False), "en")
    assert data_type(whole, ExportOptions(ExportFormat.CSV)) is DataType.DATE
    assert shifted_text(column, "1970-03", timedelta(days=10)) == "1970-03"
    assert shifted_text(column, "1970-03", timedelta(days=-20)) == "1970-02"
    assert shifted_text(column, "1970-03-15", timedelta(days=10)) == "1970-03-25"


def test_the_pdf_casebook_words_a_partial_date_as_the_form_shows_it():
    words = Wording("en", Localizer("en", Translations()), ZoneInfo("UTC"), {})
    assert words.value(date_item("dmy"), "1970-03") == "UK/03/1970"
    assert words.value(date_item("mdy"), "1970") == "UNK/UK/1970"
    assert words.audited(date_item("dmy"), "1970-03-15") == "15/03/1970"


def test_an_odm_design_keeps_the_partial_date_option_as_partialdate():
    definition = demo_definition()
    definition.item("birth_date").partial_dates = True
    document = write_metadata(
        definition, study_oid="ST.1", study_name="Demo", version_oid="MDV.1", version_name="1"
    )
    item_def = etree.fromstring(document).find(".//{*}ItemDef[@OID='I.BIRTH_DATE']")
    assert item_def.get("DataType") == "partialDate"
    back = read_metadata(document).definition.item("birth_date")
    assert back.validation is Validation.DATE and back.partial_dates is True
    assert back.date_format == "dmy"
    assert read_metadata(document).definition.item("ae_start").partial_dates is False
