"""CSV: a zip holding ``values.csv`` (a row per value), ``forms/<form>.csv`` (a row per form
filled) and ``codebook.csv``. RFC 4180 with CRLF, UTF-8 (optionally with a byte-order mark),
values in their canonical text (ISO 8601 dates, '.' decimals, partial dates as typed), and text
that could run as a formula neutralised."""

from __future__ import annotations

import csv
import tempfile
import zipfile
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from datacapt.exports import archive, tables
from datacapt.exports.cells import FORMULA_STARTS, neutralised
from datacapt.exports.options import ExportOptions
from datacapt.exports.source import Column, StoredValue, StudyData

#: The first characters ``neutralised`` looks at, as a set for a quick test per cell.
FORMULA_FIRST = frozenset(FORMULA_STARTS)


def _render(stored: StoredValue, column: Column) -> str | None:
    return stored.text


def _clean(cell: Any) -> Any:
    """A cell that cannot run as a formula; the csv module writes None as empty."""
    if type(cell) is str and cell[:1] in FORMULA_FIRST:
        return neutralised(cell)
    return cell


def _cells(row: list[Any]) -> list[Any]:
    return [_clean(cell) for cell in row]


def write_csv(path: Path, rows: Iterable[list[Any]], *, bom: bool = False) -> None:
    """A small CSV file in one go (listings beside the data)."""
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerows(_cells(row) for row in rows)


class _Table:
    """One CSV file being written to a temporary folder."""

    def __init__(self, stack: ExitStack, folder: Path, name: str, options: ExportOptions) -> None:
        self.name = name
        self.path = folder / name.replace("/", "_")
        encoding = "utf-8-sig" if options.bom else "utf-8"
        handle = stack.enter_context(self.path.open("w", encoding=encoding, newline=""))
        self.writer = csv.writer(handle, lineterminator="\r\n")

    def write(self, row: list[Any]) -> None:
        """A row whose cells are already clean."""
        self.writer.writerow(row)


def write(target: Path, data: StudyData) -> int:
    """Write the zip to ``target``; the number of values written."""
    found, options = data.catalogue, data.options
    count = 0
    with tempfile.TemporaryDirectory(prefix="datacapt-export-") as scratch, ExitStack() as stack:
        folder = Path(scratch)
        values = _Table(stack, folder, "values.csv", options)
        values.write(_cells(tables.long_header(options)))
        forms = {name: _Table(stack, folder, f"forms/{name}.csv", options) for name in found.forms}
        for name, table in forms.items():
            table.write(_cells(tables.form_header(found.forms[name], options)))
        write_csv(
            folder / "codebook.csv",
            [tables.CODEBOOK_HEADER, *tables.codebook_rows(found)],
            bom=options.bom,
        )
        for record in data.records():
            columns = found.forms[record.form]
            for row in tables.long_rows(record, columns, options, _render, _clean):
                values.write(row)
                count += 1
            forms[record.form].write(tables.form_row(record, columns, options, _render, _clean))
        stack.close()
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
            for table in (values, *forms.values()):
                archive.add(zipped, table.name, table.path)
            archive.add(zipped, "codebook.csv", folder / "codebook.csv")
            if data.subject_columns:
                write_csv(folder / "subjects.csv", data.subject_columns.table(), bom=options.bom)
                archive.add(zipped, "subjects.csv", folder / "subjects.csv")
    return count
