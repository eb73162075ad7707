"""Reading a kit list from a CSV or XLSX file, whole or not at all.

Columns (a header row, any order, case ignored): ``number``, ``type`` (a kit type's code),
``batch``, ``expiry`` (ISO 8601, ``2027-03-31``; blank: the batch's expiry in the product
catalogue) and ``location`` (``depot`` or blank: the depot; else a site's code). Any bad row
refuses the whole file; every refusal names its line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from pyramid.i18n import TranslationString

from datacapt.i18n import _

MAX_ROWS = 100_000
COLUMNS = ("number", "type", "batch", "expiry", "location")
DEPOT = "depot"


@dataclass(frozen=True)
class KitRow:
    line: int
    number: str
    type: str
    batch: str
    expiry: date
    location: str | None  # a site's code; None: the depot


@dataclass(frozen=True)
class LineError:
    line: int
    message: TranslationString


class KitListRefused(ValueError):
    """The file was refused; ``errors`` says why, line by line (nothing was kept)."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


def _cell_text(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell).strip()


def _table(data: bytes, file_name: str) -> list[list[str]]:
    if file_name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        except Exception:  # openpyxl raises many kinds on a file that is not a workbook
            raise KitListRefused([LineError(0, _("The file is not an XLSX workbook."))]) from None
        return [[_cell_text(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise KitListRefused([LineError(0, _("The file is not UTF-8 text."))]) from None
    first = text.partition("\n")[0]
    dialect: type[csv.Dialect] = csv.excel_tab if "\t" in first else csv.excel
    if ";" in first and "," not in first:
        dialect = type("semicolon", (csv.excel,), {"delimiter": ";"})
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), dialect)]


def read_kit_list(
    data: bytes,
    file_name: str,
    *,
    types: Collection[str],
    sites: Collection[str],
    existing: Collection[str],
    batch_expiry: Mapping[tuple[str, str], date],
) -> list[KitRow]:
    """The rows of a kit list, or :class:`KitListRefused` with every bad line. ``existing``:
    the study's kit numbers already known; ``batch_expiry``: (type, batch) → the catalogue's
    expiry of that batch."""
    table = _table(data, file_name)
    if not table or not any(table[0]):
        raise KitListRefused([LineError(1, _("The file is empty."))])
    header = [cell.lower() for cell in table[0]]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise KitListRefused(
            [LineError(1, _("Missing column: ${column}.", mapping={"column": missing[0]}))]
        )
    if len(table) - 1 > MAX_ROWS:
        raise KitListRefused(
            [LineError(0, _("More than ${limit} rows.", mapping={"limit": MAX_ROWS}))]
        )
    at = {name: header.index(name) for name in COLUMNS}
    rows: list[KitRow] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue
        number, kind, batch, expiry_text, location = (
            cells[at[name]] if at[name] < len(cells) else "" for name in COLUMNS
        )
        before = len(errors)
        if not number:
            errors.append(LineError(line, _("The kit number is empty.")))
        elif len(number) > 40:
            errors.append(LineError(line, _("The kit number is longer than 40.")))
        elif number in seen:
            errors.append(
                LineError(
                    line,
                    _(
                        "Kit ${number} is already on line ${other}.",
                        mapping={"number": number, "other": seen[number]},
                    ),
                )
            )
        elif number in existing:
            errors.append(
                LineError(
                    line, _("Kit ${number} is already in the study.", mapping={"number": number})
                )
            )
        else:
            seen[number] = line
        if kind not in types:
            errors.append(
                LineError(
                    line,
                    _(
                        "Unknown kit type “${type}”: use one of ${types}.",
                        mapping={"type": kind, "types": ", ".join(sorted(types)) or "—"},
                    ),
                )
            )
        if not batch:
            errors.append(LineError(line, _("The batch is empty.")))
        elif len(batch) > 60:
            errors.append(LineError(line, _("The batch is longer than 60.")))
        expiry = None
        if expiry_text:
            try:
                expiry = date.fromisoformat(expiry_text[:10])
            except ValueError:
                errors.append(
                    LineError(
                        line,
                        _(
                            "The expiry “${value}” is not a date like 2027-03-31.",
                            mapping={"value": expiry_text[:40]},
                        ),
                    )
                )
        else:
            expiry = batch_expiry.get((kind, batch))
            if expiry is None:
                errors.append(
                    LineError(line, _("The expiry is empty and the batch is not in the catalogue."))
                )
        site = None if location.lower() in {"", DEPOT} else location
        if site is not None and site not in sites:
            errors.append(
                LineError(
                    line,
                    _(
                        "Unknown location “${location}”: use depot or a site's code.",
                        mapping={"location": location[:40]},
                    ),
                )
            )
        if len(errors) == before and expiry is not None:
            rows.append(KitRow(line, number, kind, batch, expiry, site))
    if errors:
        raise KitListRefused(errors)
    if not rows:
        raise KitListRefused([LineError(2, _("The file has no rows."))])
    return rows
