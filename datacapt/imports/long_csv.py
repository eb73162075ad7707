"""Our own long CSV (``values.csv`` of the CSV export): a row per value, with its subject, site,
visit, repeat, form, item, value, missing-data code and form status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from datacapt.ecrf.definition import Definition
from datacapt.exports.cells import FORMULA_STARTS, PLAIN_NUMBER
from datacapt.exports.tables import KEYS
from datacapt.i18n import _
from datacapt.imports.cells import Cell, Refusal, Unreadable, whole
from datacapt.imports.text_files import csv_rows, header_of
from datacapt.models import FormStatus

#: The columns an import needs; the export's others (labels, lock state, last change) are read
#: by people, not by the import.
NEEDED = (*KEYS, "form", "form_repeat", "item", "value", "missing_code")


def restored(text: str) -> str:
    """A value as it was before the export neutralised it for spreadsheets (a leading
    apostrophe before what a spreadsheet would run as a formula)."""
    rest = text[1:]
    if (
        text.startswith("'")
        and rest.startswith(FORMULA_STARTS)
        and not PLAIN_NUMBER.fullmatch(rest)
    ):
        return rest
    return text


def check(raw: BinaryIO) -> None:
    """Refuse at upload a file without the columns the import reads."""
    _columns(header_of(raw))


def _columns(header: list[str]) -> dict[str, int]:
    lacking = [name for name in NEEDED if name not in header]
    if lacking:
        raise Unreadable(
            _(
                "This is not the long CSV of an export: the columns ${columns} are missing.",
                mapping={"columns": ", ".join(lacking)},
            )
        )
    return {name: header.index(name) for name in header}


def read(raw: BinaryIO, definition: Definition) -> Iterator[Cell | Refusal]:
    rows = csv_rows(raw)
    first = next(rows, None)
    if first is None:
        raise Unreadable(_("The file is empty."))
    column = _columns([cell.strip() for cell in first[1]])
    status = column.get("form_status")
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(column):
            yield Refusal(line, _("The row has fewer cells than the header."))
            continue
        visit_repeat = whole(row[column["visit_repeat"]])
        form_repeat = whole(row[column["form_repeat"]])
        if visit_repeat is None or form_repeat is None:
            yield Refusal(line, _("A repeat number is not a whole number from 1."))
            continue
        complete = None
        if status is not None and row[status].strip():
            complete = row[status].strip() == FormStatus.COMPLETE.value
        yield Cell(
            line=line,
            subject=row[column["subject"]].strip(),
            site=row[column["site"]].strip() or None,
            visit=row[column["visit"]].strip(),
            visit_repeat=visit_repeat,
            form=row[column["form"]].strip(),
            form_repeat=form_repeat,
            item=row[column["item"]].strip(),
            value=restored(row[column["value"]]),
            missing=row[column["missing_code"]].strip() or None,
            complete=complete,
        )
