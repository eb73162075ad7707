"""Reading a randomisation list from a CSV or XLSX file, whole or not at all.

Columns (a header row, any order, case ignored): ``number`` and ``arm`` (an arm's code), and
``stratum`` for a stratified design (``site=par01|sex=2``, as the list page shows; blank when
unstratified). A list's places are taken in file order within each stratum. Any bad row
refuses the whole file; every refusal names its line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from pyramid.i18n import TranslationString

from datacapt.i18n import _

MAX_ROWS = 100_000


@dataclass(frozen=True)
class ListRow:
    line: int
    number: str
    arm: str
    stratum: str


@dataclass(frozen=True)
class LineError:
    line: int
    message: TranslationString


class ListRefused(ValueError):
    """The file was refused; ``errors`` says why, line by line (nothing was kept)."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


def _table(data: bytes, file_name: str) -> list[list[str]]:
    if file_name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        except Exception:  # openpyxl raises many kinds on a file that is not a workbook
            raise ListRefused([LineError(0, _("The file is not an XLSX workbook."))]) from None
        return [
            ["" if cell is None else str(cell).strip() for cell in row]
            for row in sheet.iter_rows(values_only=True)
        ]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ListRefused([LineError(0, _("The file is not UTF-8 text."))]) from None
    dialect = csv.excel_tab if "\t" in text.partition("\n")[0] else csv.excel
    if ";" in text.partition("\n")[0] and "," not in text.partition("\n")[0]:
        dialect = type("semicolon", (csv.excel,), {"delimiter": ";"})
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), dialect)]


def read_list(data: bytes, file_name: str, arms: set[str], stratified: bool) -> list[ListRow]:
    """The rows of a list file, or :class:`ListRefused` with every bad line."""
    table = _table(data, file_name)
    if not table or not any(table[0]):
        raise ListRefused([LineError(1, _("The file is empty."))])
    header = [cell.lower() for cell in table[0]]
    needed = ["number", "arm"] + (["stratum"] if stratified else [])
    missing = [name for name in needed if name not in header]
    if missing:
        raise ListRefused(
            [LineError(1, _("Missing column: ${column}.", mapping={"column": missing[0]}))]
        )
    if len(table) - 1 > MAX_ROWS:
        raise ListRefused(
            [LineError(0, _("More than ${limit} rows.", mapping={"limit": MAX_ROWS}))]
        )
    at = {name: header.index(name) for name in needed}
    rows, errors, seen = [], [], {}
    for line, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            index = at.get(name)
            return cells[index] if index is not None and index < len(cells) else ""

        number, arm, stratum = cell("number"), cell("arm"), cell("stratum")
        if not number:
            errors.append(LineError(line, _("The randomisation number is empty.")))
        elif len(number) > 40:
            errors.append(LineError(line, _("The randomisation number is longer than 40.")))
        elif number in seen:
            errors.append(
                LineError(
                    line,
                    _(
                        "Number ${number} is already on line ${other}.",
                        mapping={"number": number, "other": seen[number]},
                    ),
                )
            )
        else:
            seen[number] = line
        if arm not in arms:
            errors.append(
                LineError(
                    line,
                    _(
                        "Unknown arm “${arm}”: use one of ${arms}.",
                        mapping={"arm": arm, "arms": ", ".join(sorted(arms))},
                    ),
                )
            )
        if stratified and not stratum:
            errors.append(LineError(line, _("The stratum is empty.")))
        elif len(stratum) > 400:
            errors.append(LineError(line, _("The stratum is longer than 400.")))
        rows.append(ListRow(line, number, arm, stratum if stratified else ""))
    if errors:
        raise ListRefused(errors)
    if not rows:
        raise ListRefused([LineError(2, _("The file has no rows."))])
    return rows
