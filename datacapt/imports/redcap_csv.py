"""REDCap's flat CSV export of records: a row per record and event (and repeat instance), a
column per field, checkbox fields as ``field___code`` columns of 1 and 0, ``form_complete``
columns (2: complete). Field and form names are those the dictionary import gave the design
(:func:`~datacapt.design.interchange.findings.variable_name` for names REDCap would not take).

The first column is the record ID: the subject. ``redcap_event_name`` names the visit (its
``_arm_N`` dropped), ``redcap_data_access_group`` the site, ``redcap_repeat_instrument`` and
``redcap_repeat_instance`` the repeat of a form (or, without an instrument, of the event).
A blank cell changes nothing, nor do the 0 of an untouched checkbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from datacapt.design.interchange.findings import variable_name
from datacapt.ecrf.definition import NAME_PATTERN, Definition, ItemType
from datacapt.i18n import _
from datacapt.imports.cells import Cell, Refusal, Unreadable, whole
from datacapt.imports.text_files import csv_rows, header_of

EVENT = "redcap_event_name"
GROUP = "redcap_data_access_group"
INSTRUMENT = "redcap_repeat_instrument"
INSTANCE = "redcap_repeat_instance"
#: REDCap's own columns the import does not need.
IGNORED = ("redcap_survey_identifier",)
ARM = re.compile(r"_arm_[0-9]+\Z")
CHECKBOX = "___"
COMPLETE = "_complete"
TIMESTAMP = "_timestamp"


def design_name(name: str) -> str:
    """The name the dictionary import gave a REDCap field or form."""
    return name if NAME_PATTERN.match(name) else variable_name(name)


def code_column(code: str) -> str:
    """How REDCap writes a checkbox code in a column name (lower case, '-' and '.' as '_')."""
    return re.sub(r"[^a-z0-9_]", "_", code.lower())


@dataclass(frozen=True)
class _Column:
    form: str
    item: str
    code: str | None = None  # a checkbox column's code
    status: bool = False  # the form's ``_complete`` column


def _columns(header: list[str], definition: Definition) -> dict[int, _Column | None]:
    """Which item (or checkbox code, or form status) each column holds; None for a column the
    study's design does not have (REDCap exports every field, those left out of the design
    too: such a column refuses only the rows that fill it). Unreadable when no column is the
    design's."""
    found: dict[str, _Column] = {}
    forms = {form.name for form in definition.forms}
    for form, item in definition.items():
        found[item.name] = _Column(form.name, item.name)
        if item.type is ItemType.MULTIPLE_CHOICE:
            for choice in item.choices:
                column = f"{item.name}{CHECKBOX}{code_column(choice.code)}"
                found[column] = _Column(form.name, item.name, choice.code)
    columns: dict[int, _Column | None] = {}
    for index, name in enumerate(header[1:], start=1):
        if name in (EVENT, GROUP, INSTRUMENT, INSTANCE, *IGNORED):
            continue
        form_name = design_name(name.removesuffix(COMPLETE))
        if name.endswith(COMPLETE) and form_name in forms:
            columns[index] = _Column(form_name, "", status=True)
        elif name.endswith(TIMESTAMP) and design_name(name.removesuffix(TIMESTAMP)) in forms:
            continue
        else:
            columns[index] = found.get(name) or found.get(design_name(name))
    if not any(columns.values()):
        raise Unreadable(
            _("No column of this file is a field of the study's design: is it a REDCap export?")
        )
    return columns


def check(raw: BinaryIO, definition: Definition) -> None:
    header = header_of(raw)
    if len(header) < 2:
        raise Unreadable(_("This is not a REDCap export: it has fewer than two columns."))
    _columns(header, definition)


def read(raw: BinaryIO, definition: Definition) -> Iterator[Cell | Refusal]:
    rows = csv_rows(raw)
    first = next(rows, None)
    if first is None:
        raise Unreadable(_("The file is empty."))
    header = [cell.strip() for cell in first[1]]
    columns = _columns(header, definition)
    place = {
        name: header.index(name) for name in (EVENT, GROUP, INSTRUMENT, INSTANCE) if name in header
    }
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield Refusal(line, _("The row does not have as many cells as the header."))
            continue
        yield from _row(line, row, header, columns, place)


def _cell(row: list[str], place: dict[str, int], name: str) -> str:
    return row[place[name]].strip() if name in place else ""


def _row(
    line: int,
    row: list[str],
    header: list[str],
    columns: dict[int, _Column | None],
    place: dict[str, int],
) -> Iterator[Cell | Refusal]:
    """The cells of one record row: its values by form, checkboxes gathered into one value."""
    instance = whole(_cell(row, place, INSTANCE))
    if instance is None:
        yield Refusal(line, _("redcap_repeat_instance is not a whole number from 1."))
        return
    instrument = (
        design_name(_cell(row, place, INSTRUMENT)) if _cell(row, place, INSTRUMENT) else None
    )
    event = _cell(row, place, EVENT)
    values: dict[tuple[str, str], str] = {}
    ticked: dict[tuple[str, str], list[str]] = {}
    status: dict[str, bool] = {}
    for index, column in columns.items():
        text = row[index].strip()
        if text and column is None:
            yield Refusal(
                line,
                _(
                    "Column ${column} is not a field of the study's design.",
                    mapping={"column": header[index]},
                ),
            )
            continue
        if not text or column is None or (instrument is not None and column.form != instrument):
            continue
        if column.status:
            status[column.form] = text == "2"
        elif column.code is not None:
            if text == "1":
                ticked.setdefault((column.form, column.item), []).append(column.code)
        else:
            values[(column.form, column.item)] = text
    values.update({key: "|".join(codes) for key, codes in ticked.items()})
    for (form, item), value in values.items():
        yield Cell(
            line=line,
            subject=row[0].strip(),
            site=_cell(row, place, GROUP) or None,
            visit=ARM.sub("", event) if event else None,
            visit_repeat=1 if instrument else instance,
            form=form,
            form_repeat=instance if instrument else 1,
            item=item,
            value=value,
            complete=status.get(form),
        )
