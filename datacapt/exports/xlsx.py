"""Excel: a sheet per form (a row per form filled) and a codebook sheet, written by XlsxWriter in
constant-memory mode (rows go to disk as they are written) with formulas and URLs off, so no
cell ever runs or links. Numbers are numbers and dates are dates; partial dates stay text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from datacapt.ecrf.definition import ItemType, Validation
from datacapt.exports import tables
from datacapt.exports.deterministic import snapshot_second
from datacapt.exports.source import Column, StoredValue, StudyData

SHEET_NAME_LIMIT = 31
ILLEGAL_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
NUMERIC = {Validation.INTEGER, Validation.NUMBER}


def sheet_names(names: Iterable[str]) -> dict[str, str]:
    """A legal, unique (case-insensitively, as Excel compares) sheet name for each form."""
    taken = {"codebook"}
    chosen = {}
    for name in names:
        base = ILLEGAL_IN_SHEET_NAMES.sub("_", name)[:SHEET_NAME_LIMIT] or "form"
        candidate, number = base, 1
        while candidate.lower() in taken:
            number += 1
            suffix = f"~{number}"
            candidate = base[: SHEET_NAME_LIMIT - len(suffix)] + suffix
        taken.add(candidate.lower())
        chosen[name] = candidate
    return chosen


def _render(stored: StoredValue, column: Column) -> Any:
    item = column.item
    numeric = item.validation in NUMERIC or item.type in (ItemType.SLIDER, ItemType.CALCULATED)
    if numeric and stored.as_number is not None:
        return stored.as_number
    if item.validation is Validation.DATE and stored.day is not None:
        return stored.day
    return stored.text


def write(target: Path, data: StudyData) -> int:
    """Write the workbook to ``target``; the number of values written."""
    found, options = data.catalogue, data.options
    workbook = xlsxwriter.Workbook(
        str(target),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    if options.stamp is not None:  # else XlsxWriter writes the clock's time
        created = snapshot_second(options.stamp).replace(tzinfo=None)
        workbook.set_properties({"created": created})
    day_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    bold = workbook.add_format({"bold": True})
    names = sheet_names(found.forms)
    sheets = {form: workbook.add_worksheet(names[form]) for form in found.forms}
    rows = dict.fromkeys(found.forms, 1)
    for form, sheet in sheets.items():
        sheet.write_row(0, 0, tables.form_header(found.forms[form], options), bold)
    codebook = workbook.add_worksheet("codebook")
    codebook.write_row(0, 0, tables.CODEBOOK_HEADER, bold)
    for number, row in enumerate(tables.codebook_rows(found), start=1):
        codebook.write_row(number, 0, row)
    if data.subject_columns:
        subjects = workbook.add_worksheet(_free_name("subjects", names.values()))
        for number, row in enumerate(data.subject_columns.table()):
            for position, cell in enumerate(row):
                _write(subjects, number, position, cell, day_format)
    count = 0
    for record in data.records():
        columns = found.forms[record.form]
        sheet = sheets[record.form]
        for position, cell in enumerate(tables.form_row(record, columns, options, _render)):
            _write(sheet, rows[record.form], position, cell, day_format)
        rows[record.form] += 1
        count += len(record.values)
    workbook.close()
    return count


def _free_name(wanted: str, taken: Iterable[str]) -> str:
    """``wanted``, or ``wanted~2``... when a form's sheet has that name already."""
    used = {name.lower() for name in taken} | {"codebook"}
    candidate, number = wanted, 1
    while candidate.lower() in used:
        number += 1
        candidate = f"{wanted}~{number}"
    return candidate


def _write(sheet: Any, row: int, column: int, cell: Any, day_format: Any) -> None:
    if cell is None:
        return
    if isinstance(cell, Decimal):
        sheet.write_number(row, column, float(cell))
    elif isinstance(cell, int):
        sheet.write_number(row, column, cell)
    elif isinstance(cell, date):
        sheet.write_datetime(row, column, cell, day_format)
    else:
        sheet.write_string(row, column, str(cell))
