"""Opening an uploaded text file for the CSV readers: UTF-8 (a byte-order mark allowed), read
as it streams, with the number of bytes consumed for the progress bar."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from datacapt.i18n import _
from datacapt.imports.cells import Unreadable

#: The longest cell a CSV row may hold (the csv module's own limit is 128 KiB).
MAX_CELL = 1 << 20


def csv_rows(raw: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV file with the line each starts on; a byte that is not UTF-8 or a
    broken quote makes the whole file unreadable."""
    csv.field_size_limit(MAX_CELL)
    handle = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.reader(handle, strict=True)
    line = 1
    try:
        for row in reader:
            yield line, row
            line = reader.line_num + 1
    except UnicodeDecodeError:
        raise Unreadable(
            _("The file is not UTF-8 text near line ${line}.", mapping={"line": line})
        ) from None
    except csv.Error as error:
        raise Unreadable(
            _(
                "The CSV file cannot be read near line ${line}: ${error}.",
                mapping={"line": line, "error": str(error)},
            )
        ) from None
    finally:
        handle.detach()


def header_of(raw: BinaryIO) -> list[str]:
    """The first row of a CSV file (for the check at upload), or Unreadable."""
    for _line, row in csv_rows(raw):
        return [cell.strip() for cell in row]
    raise Unreadable(_("The file is empty."))
