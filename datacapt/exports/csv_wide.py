"""Wide CSV: a zip holding ``data.csv`` (one row per subject, one column per visit, visit
repeat, form, form repeat and item), ``columns.csv`` (what each column holds) and
``codebook.csv``; RFC 4180 with CRLF, UTF-8 (optionally with a byte-order mark), values in their
canonical text, text that could run as a formula neutralised, as in the CSV export.

Column names follow one rule, so a script can name a column before the export exists:
``VISIT[_R<n>].FORM[_R<m>].ITEM`` — the visit's name, ``_R2``, ``_R3`` ... from its second
repeat on, then the form's the same way, then the item's name; ``ITEM_label`` beside a coded
item when codes and labels are both asked for, ``ITEM_missing`` beside an item that takes
missing-data codes. First come ``subject`` and ``site``. A name longer than
:data:`NAME_LIMIT` characters (what SPSS, the most generous of the statistics packages, takes)
keeps its first characters and ends with ``_`` and 8 hexadecimal digits of its full name's
SHA-256; ``columns.csv`` gives the full name and what it holds for every column.

Memory stays bounded: one query finds the repeats the selection has (the columns), then the
forms stream subject by subject and each subject's row is written once complete.
"""

from __future__ import annotations

import csv
import hashlib
import tempfile
import zipfile
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from datacapt.exports import archive, tables
from datacapt.exports.cells import text_cells
from datacapt.exports.csv_zip import write_csv
from datacapt.exports.source import Column, StoredValue, StudyData, _selected
from datacapt.exports.statistical import Unwritable
from datacapt.models import FormInstance

NAME_LIMIT = 64
HASH_DIGITS = 8
SUBJECT_COLUMNS = ["subject", "site"]
UNSCHEDULED = "unscheduled"


class ChangedMeanwhile(Unwritable):
    """A form saved between counting the repeats and reading the values: run it again."""


def repeat_suffix(name: str, repeat: int) -> str:
    return name if repeat == 1 else f"{name}_R{repeat}"


def bounded(name: str) -> str:
    """``name`` within :data:`NAME_LIMIT` characters, unique through its hash when cut."""
    if len(name) <= NAME_LIMIT:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:HASH_DIGITS]
    return f"{name[: NAME_LIMIT - HASH_DIGITS - 1]}_{digest}"


@dataclass(frozen=True)
class Block:
    """The columns of one form instance's place: (visit, visit repeat, form, form repeat)."""

    visit: str
    visit_repeat: int
    form: str
    form_repeat: int
    start: int
    fields: list[tables.Field]


def observed_repeats(data: StudyData) -> dict[tuple[str, str], tuple[int, int]]:
    """(visit, form) → the highest visit repeat and form repeat the selection holds."""
    query = _selected(
        select(
            FormInstance.visit,
            FormInstance.form,
            func.max(FormInstance.visit_repeat),
            func.max(FormInstance.repeat),
        ).select_from(FormInstance),
        data.study,
        data.options,
        list(data.catalogue.forms),
    )[0].group_by(FormInstance.visit, FormInstance.form)
    return {(visit, form): (vr, fr) for visit, form, vr, fr in data.dbsession.execute(query)}


def layout(data: StudyData) -> list[Block]:
    """Every place a value can take in a subject's row, in schedule and design order."""
    found = data.catalogue
    repeats = observed_repeats(data)
    seen = {visit for visit, _form in repeats}
    order = [v for v in [*found.visits, UNSCHEDULED] if v in seen]
    order += sorted(seen - set(order))
    blocks, start = [], len(SUBJECT_COLUMNS)
    for visit in order:
        visit_repeats = max(vr for (v, _f), (vr, _fr) in repeats.items() if v == visit)
        for visit_repeat in range(1, visit_repeats + 1):
            for form, columns in found.forms.items():
                if (visit, form) not in repeats:
                    continue
                fields = tables.form_fields(columns, data.options)[len(tables.FORM_KEYS) :]
                for form_repeat in range(1, repeats[(visit, form)][1] + 1):
                    blocks.append(Block(visit, visit_repeat, form, form_repeat, start, fields))
                    start += len(fields)
    return blocks


def column_name(block: Block, field: tables.Field) -> str:
    visit = repeat_suffix(block.visit, block.visit_repeat)
    form = repeat_suffix(block.form, block.form_repeat)
    return f"{visit}.{form}.{field.name}"


MAP_HEADER = [
    "column",
    "full_name",
    "visit",
    "visit_repeat",
    "form",
    "form_repeat",
    "item",
    "holds",
]


def name_map(blocks: list[Block], names: list[str], full: list[str]) -> list[list[Any]]:
    """``columns.csv``: each column's name, its full name, and the place and item it holds."""
    rows: list[list[Any]] = [MAP_HEADER]
    rows += [[name, name, "", "", "", "", "", "key"] for name in SUBJECT_COLUMNS]
    places = [(block, field) for block in blocks for field in block.fields]
    for name, whole, (block, field) in zip(names, full, places, strict=True):
        item = field.column.item.name if field.column is not None else ""
        place = [block.visit, block.visit_repeat, block.form, block.form_repeat]
        rows.append([name, whole, *place, item, field.role])
    return rows


def _render(stored: StoredValue, column: Column) -> str | None:
    return stored.text


def write(target: Path, data: StudyData) -> int:
    """Write the zip to ``target``; the number of values written."""
    blocks = layout(data)
    places = {(b.visit, b.visit_repeat, b.form, b.form_repeat): b for b in blocks}
    full = [column_name(b, f) for b in blocks for f in b.fields]
    names = [bounded(name) for name in full]
    extra = data.subject_columns
    width = len(SUBJECT_COLUMNS) + len(names) + len(extra.names)
    encoding = "utf-8-sig" if data.options.bom else "utf-8"
    count = 0
    with tempfile.TemporaryDirectory(prefix="datacapt-export-") as scratch:
        folder = Path(scratch)
        with (folder / "data.csv").open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(text_cells([*SUBJECT_COLUMNS, *names, *extra.names]))
            for subject, records in groupby(data.records(), key=lambda r: r.subject):
                row: list[Any] = [None] * width
                for record in records:
                    row[:2] = [subject, record.site]
                    place = (record.visit, record.visit_repeat, record.form, record.form_repeat)
                    block = places.get(place)
                    if block is None:
                        raise ChangedMeanwhile(f"{subject}: a form was added during the export")
                    columns = data.catalogue.forms[record.form]
                    cells = tables.form_row(record, columns, data.options, _render)
                    row[block.start : block.start + len(block.fields)] = cells[
                        len(tables.FORM_KEYS) :
                    ]
                    count += len(record.values)
                if extra:
                    row[width - len(extra.names) :] = extra.cells(subject)
                writer.writerow(text_cells(row))
        mapped = name_map(blocks, names, full)
        mapped += [[n, n, "", "", "", "", "", "subject"] for n in extra.names]
        write_csv(folder / "columns.csv", mapped, bom=data.options.bom)
        write_csv(
            folder / "codebook.csv",
            [tables.CODEBOOK_HEADER, *tables.codebook_rows(data.catalogue)],
            bom=data.options.bom,
        )
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
            for name in ("data.csv", "columns.csv", "codebook.csv"):
                archive.add(zipped, name, folder / name)
    return count
