"""R: the CSV export (:mod:`.csv_zip`: ``values.csv``, ``forms/<form>.csv``, ``codebook.csv``)
with ``read_data.R`` beside it, a script that reads every per-form table with its columns'
types, variable labels (the ``label`` attribute, which needs no package, and the ``labelled``
package's when it is installed), coded answers as factors with their codes as levels and their
labels as labels, dates as ``Date`` and date-times as ``POSIXct``. A value with a missing-data
code is empty in the CSV, so NA in R, and its code stays in the ``<item>_missing`` column.

The script depends only on the design (the catalogue) and the options, never on the values, so
it is written without reading the data a second time.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path

from datacapt.ecrf.definition import ItemType
from datacapt.exports import archive, csv_zip, tables
from datacapt.exports.datatypes import KEY_COLUMNS, DataType, data_type
from datacapt.exports.options import Coded, ExportOptions
from datacapt.exports.source import Column, StudyData

SCRIPT = "read_data.R"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
R_CLASSES = {DataType.INTEGER: "integer", DataType.DECIMAL: "numeric"}
LONG_LABELS = {
    "value": "Value",
    "value_label": "Label of the coded value",
    "missing_code": "Missing-data code",
    "form": "Form",
    "item": "Item",
    "updated_at": "Last change (UTC)",
    "updated_by": "Changed by",
}

PREAMBLE = """\
# Reads the tables of this Datacapt export into R with their types and labels.
# In the folder where the export was unzipped: source("read_data.R", encoding = "UTF-8")
# datacapt_forms[["<form>"]] is then a data frame per form, datacapt_values the long table.
# Coded answers are factors (levels: the codes, labels: their labels); a value with a
# missing-data code is NA and its code is in <item>_missing. Date-times are the clock time
# entered (read as UTC); times, partial dates and durations stay text. Text that a spreadsheet
# would run as a formula starts with ' in the CSV files, and so here.

datacapt_read <- function(file, types, labels, factors = list(), dates = character(),
                          datetimes = character(), numbers = character()) {
  data <- utils::read.csv(file, colClasses = types, na.strings = "", check.names = FALSE,
                          fileEncoding = "UTF-8-BOM", stringsAsFactors = FALSE)
  stopifnot(identical(names(data), names(types)))
  for (name in dates) data[[name]] <- as.Date(data[[name]])
  for (name in datetimes) {
    data[[name]] <- as.POSIXct(sub("T", " ", data[[name]]), tz = "UTC",
                               tryFormats = c("%Y-%m-%d %H:%M:%OS", "%Y-%m-%d %H:%M"))
  }
  for (name in numbers) data[[name]] <- utils::type.convert(data[[name]], as.is = TRUE)
  for (name in names(factors)) {
    data[[name]] <- factor(data[[name]], levels = factors[[name]]$levels,
                           labels = factors[[name]]$labels)
  }
  for (name in names(labels)) attr(data[[name]], "label") <- labels[[name]]
  if (requireNamespace("labelled", quietly = TRUE)) {
    labelled::var_label(data) <- as.list(labels)
  }
  data
}
"""


def r_string(text: str) -> str:
    """``text`` as an R string literal (UTF-8, the script's encoding)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", escaped) + '"'


def r_vector(values: list[str]) -> str:
    return "c(" + ", ".join(r_string(value) for value in values) + ")"


def r_named(pairs: list[tuple[str, str]]) -> str:
    """A named character vector, a name a line."""
    return "c(\n    " + ",\n    ".join(f"{r_string(k)} = {r_string(v)}" for k, v in pairs) + "\n  )"


class FormReader:
    """The arguments of one ``datacapt_read`` call, gathered field by field."""

    def __init__(self) -> None:
        self.types: list[tuple[str, str]] = []
        self.labels: list[tuple[str, str]] = []
        self.factors: list[tuple[str, list[str], list[str]]] = []
        self.dates: list[str] = []
        self.datetimes: list[str] = []
        self.numbers: list[str] = []

    def value(self, name: str, column: Column, options: ExportOptions) -> str:
        """The R class the CSV column is read as, noting any conversion after."""
        if column.coded and column.item.type is not ItemType.MULTIPLE_CHOICE:
            labels = column.code_labels()
            if options.coded is Coded.LABELS:
                levels = list(dict.fromkeys(labels.values()))
                self.factors.append((name, levels, levels))
            else:
                self.factors.append((name, list(labels), list(labels.values())))
            return "character"
        kind = data_type(column, options)
        if column.item.type is ItemType.CALCULATED:
            self.numbers.append(name)  # a number when every result is one, else text
            return "character"
        if kind is DataType.DATE:
            self.dates.append(name)
        elif kind is DataType.DATETIME:
            self.datetimes.append(name)
        return R_CLASSES.get(kind, "character")

    def call(self, file: str) -> str:
        arguments = [
            r_string(file),
            f"types = {r_named(self.types)}",
            f"labels = {r_named(self.labels)}",
        ]
        if self.factors:
            factors = ",\n    ".join(
                f"{r_string(name)} = list(levels = {r_vector(levels)}, labels = {r_vector(labels)})"
                for name, levels, labels in self.factors
            )
            arguments.append(f"factors = list(\n    {factors}\n  )")
        for argument in ("dates", "datetimes", "numbers"):
            names = getattr(self, argument)
            if names:
                arguments.append(f"{argument} = {r_vector(names)}")
        return "datacapt_read(\n  " + ",\n  ".join(arguments) + "\n)"


def form_call(form: str, columns: list[Column], options: ExportOptions) -> str:
    reader = FormReader()
    for field in tables.form_fields(columns, options):
        column = field.column
        if column is None:
            label, kind, _key = KEY_COLUMNS[field.name]
            reader.types.append((field.name, R_CLASSES.get(kind, "character")))
            reader.labels.append((field.name, label))
        elif field.role == "value":
            reader.types.append((field.name, reader.value(field.name, column, options)))
            reader.labels.append((field.name, column.label))
        else:
            holds = "label" if field.role == "label" else "missing-data code"
            reader.types.append((field.name, "character"))
            reader.labels.append((field.name, f"{column.label} ({holds})"))
    return reader.call(f"forms/{form}.csv")


def long_call(options: ExportOptions) -> str:
    reader = FormReader()
    for name in tables.long_header(options):
        if name in KEY_COLUMNS:
            label, kind, _key = KEY_COLUMNS[name]
        else:
            label, kind = LONG_LABELS[name], DataType.STRING
        reader.types.append((name, R_CLASSES.get(kind, "character")))
        reader.labels.append((name, label))
    return reader.call("values.csv")


def script(data: StudyData) -> str:
    """The whole ``read_data.R``."""
    options = data.options
    parts = [PREAMBLE, f"datacapt_values <- {long_call(options)}\n", "datacapt_forms <- list()"]
    for form, columns in data.catalogue.forms.items():
        parts.append(f"datacapt_forms[[{r_string(form)}]] <- {form_call(form, columns, options)}")
    return "\n".join(parts) + "\n"


def write(target: Path, data: StudyData) -> int:
    """The CSV zip written to ``target``, with the script added; the number of values."""
    count = csv_zip.write(target, data)
    with tempfile.TemporaryDirectory(prefix="datacapt-export-") as scratch:
        path = Path(scratch) / SCRIPT
        path.write_text(script(data), encoding="utf-8", newline="\n")
        with zipfile.ZipFile(target, "a", compression=zipfile.ZIP_DEFLATED) as zipped:
            archive.add(zipped, SCRIPT, path)
    return count
