"""Real REDCap data dictionaries from tests/data/redcap (see its README)."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from datacapt.expressions import (
    BLANK,
    FieldInfo,
    MappingContext,
    Symbols,
    UnknownReferenceError,
    Value,
    ValueType,
    check,
    evaluate,
    parse,
)
from tests.conftest import REFERENCE_DATA

REDCAP = REFERENCE_DATA / "redcap"
ISARIC = REDCAP / "isaric-ccpuk-hantavirus-dictionary.csv"
VALIDATION_TYPES = REDCAP / "validation-types-1" / "dictionary.csv"
NAME, FIELD_TYPE, CHOICES, VALIDATION, BRANCHING = 0, 3, 5, 7, 11


@cache
def dictionary(path: Path) -> tuple[list[str], ...]:
    """The rows after the header; real dictionaries have cells larger than csv's default limit."""
    csv.field_size_limit(10_000_000)
    with path.open(encoding="utf-8-sig", newline="") as file:
        return tuple(csv.reader(file))[1:]


def symbols(rows: tuple[list[str], ...]) -> Symbols:
    """The dictionary's fields typed as an importer would type them."""
    fields = {}
    for row in rows:
        field_type, validation = row[FIELD_TYPE], row[VALIDATION]
        codes = frozenset(choice.split(",", 1)[0].strip() for choice in row[CHOICES].split("|"))
        if field_type in ("radio", "dropdown"):
            info = FieldInfo(ValueType.CHOICE, codes)
        elif field_type == "checkbox":
            info = FieldInfo(ValueType.MULTICHOICE, codes)
        elif field_type == "yesno":
            info = FieldInfo(ValueType.CHOICE, frozenset({"0", "1"}))
        elif field_type == "calc" or validation in ("number", "integer"):
            info = FieldInfo(ValueType.NUMBER)
        elif validation.startswith("date_"):
            info = FieldInfo(ValueType.DATE)
        elif validation == "time":
            info = FieldInfo(ValueType.TIME)
        else:
            info = FieldInfo(ValueType.TEXT)
        fields[row[NAME]] = info
    return Symbols(fields)


def test_every_isaric_branching_logic_parses() -> None:
    conditions = [row[BRANCHING] for row in dictionary(ISARIC) if row[BRANCHING].strip()]
    assert len(conditions) == 403
    assert all(parse(condition) for condition in conditions)


def test_the_checker_finds_the_one_wrong_code_in_the_isaric_dictionary() -> None:
    """``medi_route`` shows when ``[medi_medtype]='7'``, but 7 is not one of medi_medtype's codes
    (it is Antipruritic in medi_medtype_otherl2): the condition can never be true that way."""
    rows = dictionary(ISARIC)
    study = symbols(rows)
    problems = []
    for row in rows:
        if row[BRANCHING].strip():
            try:
                check(parse(row[BRANCHING]), study)
            except UnknownReferenceError as error:
                problems.append((row[NAME], error.code, error.position.column))
    assert problems == [("medi_route", "unknown-option", 107)]


AGE_IN_DAYS = {
    "demog_birthknow": "1",
    "demog_birthdate": date(1990, 6, 15),
    "pres_date": date(2024, 3, 1),
}


@pytest.mark.parametrize(
    ("values", "days"),
    [
        (AGE_IN_DAYS, Decimal(12313)),
        ({**AGE_IN_DAYS, "demog_birthdate": BLANK}, BLANK),
        (
            {"demog_birthknow": "0", "demog_age_units": "1", "demog_age": Decimal(30)},
            Decimal(10950),
        ),
        ({"demog_birthknow": "0", "demog_age_units": "2", "demog_age": Decimal(18)}, Decimal(548)),
        ({"demog_birthknow": "0", "demog_age_units": "3", "demog_age": Decimal(12)}, Decimal(12)),
        ({"demog_birthknow": "0", "demog_age": Decimal(12)}, BLANK),
    ],
)
def test_isaric_age_in_days(values: dict[str, Value], days: Value) -> None:
    (calculation,) = [row[CHOICES] for row in dictionary(ISARIC) if row[FIELD_TYPE] == "calc"]
    assert calculation.startswith("if([demog_birthknow]='1',datediff(")
    expression = parse(calculation)
    assert check(expression, symbols(dictionary(ISARIC))) is ValueType.NUMBER
    assert evaluate(expression, MappingContext(values)) == days


def test_validation_types_calculation() -> None:
    rows = dictionary(VALIDATION_TYPES)
    (calculation,) = [row[CHOICES] for row in rows if row[FIELD_TYPE] == "calc"]
    assert evaluate(parse(calculation), MappingContext({})) == 7
    assert check(parse(calculation), symbols(rows)) is ValueType.NUMBER
