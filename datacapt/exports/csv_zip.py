"""CSV: a zip holding ``values.csv`` (a row per value), ``forms/<form>.csv`` (a row per form
filled) and ``codebook.csv``. RFC 4180 with CRLF, UTF-8 (optionally with a byte-order mark),
values in their canonical text (ISO 8601 dates, '.' decimals, partial dates as typed), and text
that could run as a formula neutralised."""

from __future__ import annotations

import csv
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from datacapt.exports import tables
from datacapt.exports.cells import neutralised
from datacapt.exports.options import ExportOptions
from datacapt.exports.source import Catalogue, Column, FormRecord, StoredValue

#: A fixed time for the zip's entries, so the same data gives the same bytes.
ENTRY_TIME = (1980, 1, 1, 0, 0, 0)


def _render(stored: StoredValue, column: Column) -> str | None:
    return stored.text


def _cells(row: list[Any]) -> list[str]:
    return ["" if cell is None else neutralised(str(cell)) for cell in row]


class _Table:
    """One CSV file being written to a temporary folder."""

    def __init__(self, stack: ExitStack, folder: Path, name: str, options: ExportOptions) -> None:
        self.name = name
        self.path = folder / name.replace("/", "_")
        encoding = "utf-8-sig" if options.bom else "utf-8"
        handle = stack.enter_context(self.path.open("w", encoding=encoding, newline=""))
        self.writer = csv.writer(handle, lineterminator="\r\n")

    def write(self, row: list[Any]) -> None:
        self.writer.writerow(_cells(row))


def write(
    target: Path, found: Catalogue, records: Iterable[FormRecord], options: ExportOptions
) -> int:
    """Write the zip to ``target``; the number of values written."""
    count = 0
    with tempfile.TemporaryDirectory(prefix="datacapt-export-") as scratch, ExitStack() as stack:
        folder = Path(scratch)
        values = _Table(stack, folder, "values.csv", options)
        values.write(tables.long_header(options))
        forms = {name: _Table(stack, folder, f"forms/{name}.csv", options) for name in found.forms}
        for name, table in forms.items():
            table.write(tables.form_header(found.forms[name], options))
        codebook = _Table(stack, folder, "codebook.csv", options)
        codebook.write(tables.CODEBOOK_HEADER)
        for row in tables.codebook_rows(found):
            codebook.write(row)
        for record in records:
            columns = found.forms[record.form]
            for row in tables.long_rows(record, columns, options, _render):
                values.write(row)
                count += 1
            forms[record.form].write(tables.form_row(record, columns, options, _render))
        stack.close()
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for table in (values, *forms.values(), codebook):
                info = zipfile.ZipInfo(table.name, ENTRY_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                with (
                    table.path.open("rb") as source,
                    archive.open(info, "w", force_zip64=True) as sink,
                ):
                    shutil.copyfileobj(source, sink)
    return count
