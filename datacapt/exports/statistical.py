"""SAS transport (XPORT v5, the FDA's format), SPSS (.sav) and Stata (.dta 118) through
pyreadstat: a zip with one dataset per form (a row per form filled), ``variables.csv`` (which
variable holds which item, since names are shortened to each format's limit) and
``codebook.csv``.

pyreadstat silently truncates, so each format's limits are applied before writing: names are
shortened through the recorded map, labels cut to the limit (the full label stays in the
codebook), and a text longer than the format holds refuses the export rather than losing data.
Numbers and dates are typed; choices with numeric codes are numbers with value labels (SPSS,
Stata); a missing-data code sits in a variable of its own beside its item's. One form is held in
memory at a time.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacapt.ecrf.definition import ItemType, Validation
from datacapt.exports import archive, tables
from datacapt.exports.csv_zip import write_csv
from datacapt.exports.deterministic import set_header_time

if TYPE_CHECKING:
    import pandas
from datacapt.exports.options import Coded, ExportOptions
from datacapt.exports.source import Column, FormRecord, StudyData

NUMERIC_VALIDATIONS = {Validation.INTEGER, Validation.NUMBER}


class Unwritable(ValueError):
    """A value the format cannot hold as it is; the message names the form and variable."""


class TooLongForFormat(Unwritable):
    """A text longer than the format holds."""


class NotANumber(Unwritable):
    """A calculated item whose stored result is not a number, in a numeric variable."""


@dataclass(frozen=True)
class Dialect:
    suffix: str
    name_limit: int
    label_limit: int
    text_limit: int  # bytes of UTF-8
    upper: bool
    value_labels: bool
    write: Callable[..., None]


def _pyreadstat() -> Any:
    """pyreadstat, with pandas, imported on first use: together they take over a second to load,
    which every web, job and command-line process would pay at start for the few exports that
    write SAS, SPSS or Stata."""
    import pyreadstat

    return pyreadstat


def _xport(
    frame: pandas.DataFrame, path: Path, labels: dict[str, str], table: str, dates: list[str]
) -> None:
    _pyreadstat().write_xport(
        frame,
        path,
        column_labels=labels,
        table_name=table,
        file_format_version=5,
        variable_format=dict.fromkeys(dates, "DATE9"),  # else SAS reads days since 1960
    )


def _sav(
    frame: pandas.DataFrame,
    path: Path,
    labels: dict[str, str],
    table: str,
    dates: list[str],
    **more: Any,
) -> None:
    _pyreadstat().write_sav(frame, path, column_labels=labels, **more)


def _dta(
    frame: pandas.DataFrame,
    path: Path,
    labels: dict[str, str],
    table: str,
    dates: list[str],
    **more: Any,
) -> None:
    _pyreadstat().write_dta(frame, path, column_labels=labels, version=14, **more)  # format 118


DIALECTS = {
    "sas": Dialect(".xpt", 8, 40, 200, upper=True, value_labels=False, write=_xport),
    "spss": Dialect(".sav", 64, 256, 32767, upper=False, value_labels=True, write=_sav),
    "stata": Dialect(".dta", 32, 80, 2045, upper=False, value_labels=True, write=_dta),
}


class Names:
    """Variable names within a format's limit, unique (case-insensitively) in one dataset."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.taken: set[str] = set()

    def take(self, wanted: str) -> str:
        limit = self.dialect.name_limit
        base = re.sub(r"[^A-Za-z0-9_]", "_", wanted)
        base = base if base[:1].isalpha() else "V" + base
        base = base.upper() if self.dialect.upper else base
        name, number = base[:limit], 1
        while name.lower() in self.taken:
            number += 1
            name = base[: limit - len(str(number))] + str(number)
        self.taken.add(name.lower())
        return name


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    kind: str  # "text", "number", "date" or "code"
    read: Callable[[FormRecord], Any]
    column: Column | None = None  # the item it holds, or whose missing-data code it holds


def _kind(column: Column, options: ExportOptions) -> str:
    item = column.item
    if item.validation in NUMERIC_VALIDATIONS or item.type in (
        ItemType.SLIDER,
        ItemType.CALCULATED,
    ):
        return "number"
    if item.validation is Validation.DATE and not item.partial_dates:
        return "date"
    numeric_codes = item.type is not ItemType.MULTIPLE_CHOICE and all(
        re.fullmatch(r"-?\d+", code) for code in column.code_labels()
    )
    if column.coded and numeric_codes and options.coded is not Coded.LABELS:
        return "code"
    return "text"


def _value_reader(column: Column, kind: str, options: ExportOptions) -> Callable[[FormRecord], Any]:
    def read(record: FormRecord) -> Any:
        stored = record.values.get(column.item.oid)
        if stored is None or stored.text is None:
            return None
        if kind == "number":
            number = stored.as_number
            if number is None:
                raise NotANumber(f"{column.form}: {column.item.name} holds {stored.text!r}")
            return float(number)
        if kind == "date":
            return stored.day
        if kind == "code":
            return float(stored.text)
        if column.coded and options.coded is Coded.LABELS:
            return column.decoded(stored.text)
        return stored.text

    return read


def _missing_reader(column: Column) -> Callable[[FormRecord], Any]:
    def read(record: FormRecord) -> Any:
        stored = record.values.get(column.item.oid)
        return None if stored is None else stored.missing_code

    return read


#: (name, name within 8 characters, label, kind, reader) of the columns every dataset starts with.
KEYS: list[tuple[str, str, str, str, Callable[[FormRecord], Any]]] = [
    ("subject", "SUBJECT", "Subject", "text", lambda r: r.subject),
    ("site", "SITE", "Site", "text", lambda r: r.site),
    ("visit", "VISIT", "Visit", "text", lambda r: r.visit),
    ("visit_repeat", "VISITREP", "Visit repeat", "number", lambda r: r.visit_repeat),
    ("form_repeat", "FORMREP", "Form repeat", "number", lambda r: r.form_repeat),
    ("form_status", "FSTATUS", "Form status", "text", lambda r: r.status.value),
    ("lock_state", "LOCKSTAT", "Lock state", "text", lambda r: r.lock_state.value),
]


def variables_of(columns: list[Column], dialect: Dialect, options: ExportOptions) -> list[Variable]:
    names = Names(dialect)
    found = [
        Variable(names.take(short if dialect.name_limit < len(key) else key), label, kind, read)
        for key, short, label, kind, read in KEYS
    ]
    for column in columns:
        kind = _kind(column, options)
        reader = _value_reader(column, kind, options)
        found.append(Variable(names.take(column.item.name), column.label, kind, reader, column))
        if column.item.missing_codes_allowed:
            found.append(
                Variable(
                    names.take(column.item.name + "_m"),
                    f"{column.label} (missing-data code)",
                    "text",
                    _missing_reader(column),
                    column,
                )
            )
    return found


def _frame(
    variables: list[Variable], records: Iterator[FormRecord], dialect: Dialect, form: str
) -> tuple[pandas.DataFrame, int]:
    import pandas  # on first use, as _pyreadstat

    rows, count = [], 0
    for record in records:
        rows.append([variable.read(record) for variable in variables])
        count += len(record.values)
    frame = pandas.DataFrame(rows, columns=[v.name for v in variables], dtype=object)
    for variable in variables:
        series = frame[variable.name]
        if variable.kind in ("number", "code"):
            frame[variable.name] = pandas.to_numeric(series).astype("float64")
        elif variable.kind == "text":
            too_long = [v for v in series.dropna() if len(str(v).encode()) > dialect.text_limit]
            if too_long:
                raise TooLongForFormat(
                    f"{form}: {variable.name} holds a text longer than "
                    f"{dialect.text_limit} bytes, which this format cannot keep whole"
                )
            frame[variable.name] = series.map(lambda v: "" if v is None else str(v))
    return frame, count


def _write_form(
    path: Path, form: str, variables: list[Variable], data: StudyData, dialect: Dialect
) -> int:
    frame, count = _frame(variables, data.records([form]), dialect, form)
    labels = {v.name: v.label[: dialect.label_limit] for v in variables}
    more: dict[str, Any] = {}
    if dialect.value_labels:
        more["variable_value_labels"] = {
            v.name: {float(code): label for code, label in v.column.code_labels().items()}
            for v in variables
            if v.kind == "code" and v.column is not None
        }
    dates = [v.name for v in variables if v.kind == "date"]
    dialect.write(frame, path, labels, path.stem, dates, **more)
    if data.options.stamp is not None:
        set_header_time(path, data.options.stamp)
    return count


def writer(name: str) -> Callable[[Path, StudyData], int]:
    """The zip writer of one of :data:`DIALECTS`."""
    dialect = DIALECTS[name]

    def write(target: Path, data: StudyData) -> int:
        count = 0
        with tempfile.TemporaryDirectory(prefix="datacapt-export-") as scratch:
            folder = Path(scratch)
            files = Names(dialect)
            listing = [["form", "file", "variable", "item", "label", "holds"]]
            written = []
            for form, columns in data.catalogue.forms.items():
                variables = variables_of(columns, dialect, data.options)
                path = folder / (files.take(form) + dialect.suffix)
                count += _write_form(path, form, variables, data, dialect)
                written.append(path)
                listing.extend(
                    [
                        form,
                        path.name,
                        v.name,
                        v.column.item.name if v.column else "",
                        v.label,
                        v.kind,
                    ]
                    for v in variables
                )
            write_csv(folder / "variables.csv", listing)
            write_csv(
                folder / "codebook.csv",
                [tables.CODEBOOK_HEADER, *tables.codebook_rows(data.catalogue)],
            )
            with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
                for path in written:
                    archive.add(zipped, f"forms/{path.name}", path)
                archive.add(zipped, "variables.csv", folder / "variables.csv")
                archive.add(zipped, "codebook.csv", folder / "codebook.csv")
        return count

    return write
