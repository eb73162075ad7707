"""CDISC Dataset-JSON 1.1: a zip with one dataset per form (``forms/<form>.json``, or one
``forms/<form>.ndjson`` each in the NDJSON variant) and ``codebook.csv``.

A dataset is the form's per-form table (:func:`tables.form_fields`): the keys (subject, visit,
visit repeat and form repeat, with their ``keySequence``), the site, the form's state, then a
column per item (and its label and missing-data code beside it). Types follow
:mod:`.datatypes`: numbers with decimals travel as strings (``decimal``, so nothing is rounded),
dates and times as ISO 8601 text, yes/no answers as booleans; a missing value is ``null``.

Rows are written one at a time as the database streams them, to a scratch file first: the number
of records, which the specification puts before them, is then the number written.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from datacapt.exports import archive, tables
from datacapt.exports.csv_zip import write_csv
from datacapt.exports.datatypes import KEY_COLUMNS, DataType, data_type
from datacapt.exports.options import ExportOptions
from datacapt.exports.source import Column, StoredValue, StudyData
from datacapt.exports.statistical import NotANumber
from datacapt.models import FormInstance, Tenant

VERSION = "1.1.0"
#: The subject-level dataset's name (:mod:`.subject_columns`).
SUBJECTS = "subjects"
#: The SAS display formats of typed columns (Dataset-JSON's ``displayFormat``).
DISPLAY_FORMATS = {
    DataType.DATE: "E8601DA.",
    DataType.DATETIME: "E8601DT.",
    DataType.TIME: "E8601TM.",
}


def _typed(stored: StoredValue, column: Column, kind: DataType) -> Any:
    """A stored value as its JSON value."""
    text = stored.text
    if kind is DataType.BOOLEAN:
        return text == "1"
    if kind in (DataType.INTEGER, DataType.DECIMAL):
        number = stored.as_number
        if number is None or (kind is DataType.INTEGER and number != number.to_integral_value()):
            raise NotANumber(f"{column.form}: {column.item.name} holds {text!r}")
        if kind is DataType.INTEGER:
            return int(number)
        return format(_canonical(text) or number, "f")  # the decimals as entered
    return text


def _canonical(text: str | None) -> Decimal | None:
    """The stored text as a number (its typed copy has the database's scale)."""
    try:
        number = Decimal(text or "")
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def renderer(options: ExportOptions) -> Callable[[StoredValue, Column], Any]:
    def render(stored: StoredValue, column: Column) -> Any:
        return _typed(stored, column, data_type(column, options))

    return render


def column_metadata(form: str, columns: list[Column], options: ExportOptions) -> list[dict]:
    """The ``columns`` of a form's dataset, in the order of its rows' values."""
    found = []
    for field in tables.form_fields(columns, options):
        column = field.column
        if column is None:
            label, kind, key = KEY_COLUMNS[field.name]
            meta: dict[str, Any] = {
                "itemOID": f"IT.{form.upper()}.{field.name.upper()}",
                "name": field.name,
                "label": label,
                "dataType": kind.value,
            }
            if key is not None:
                meta["keySequence"] = key
            found.append(meta)
            continue
        meta = {"itemOID": column.item.oid, "name": field.name, "label": column.label}
        if field.role == "value":
            kind = data_type(column, options)
            meta["dataType"] = kind.value
            if kind is DataType.DECIMAL:
                meta["targetDataType"] = "decimal"
            if kind is DataType.STRING and column.item.max_length:
                meta["length"] = column.item.max_length
            if kind in DISPLAY_FORMATS:
                meta["displayFormat"] = DISPLAY_FORMATS[kind]
        else:
            holds = "label" if field.role == "label" else "missing-data code"
            meta.update(
                itemOID=f"{column.item.oid}.{field.role.upper()}",
                label=f"{column.label} ({holds})",
                dataType=DataType.STRING.value,
            )
        found.append(meta)
    return found


def _header(
    data: StudyData,
    form: str,
    records: int,
    created: datetime,
    columns: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    study, found = data.study, data.catalogue
    tenant = data.dbsession.get(Tenant, study.tenant_id)
    last_change = data.dbsession.scalar(
        select(func.max(FormInstance.updated_at)).where(FormInstance.study_id == study.id)
    )
    study_oid = f"ST.{study.code.upper()}"
    newest = max((n for c in found.columns() for n in c.versions), default=0)
    header: dict[str, Any] = {
        "datasetJSONCreationDateTime": _iso(created),
        "datasetJSONVersion": VERSION,
        "fileOID": f"{study_oid}.{form.upper()}.{created:%Y%m%dT%H%M%SZ}",
    }
    if last_change is not None:
        header["dbLastModifiedDateTime"] = _iso(min(last_change, created))
    header |= {
        "originator": tenant.name if tenant is not None else "",
        "sourceSystem": {"name": "Datacapt", "version": version("datacapt")},
        "studyOID": study_oid,
        "metaDataVersionOID": f"MDV.{newest}",
        "itemGroupOID": f"IG.{form.upper()}",
        "records": records,
        "name": form,
        "label": form,
        "columns": columns
        if columns is not None
        else column_metadata(form, found.forms[form], data.options),
    }
    return header


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _write_form(path: Path, data: StudyData, form: str, ndjson: bool, created: datetime) -> int:
    """The form's dataset at ``path``. Its rows go to a scratch file first, one at a time, so
    that ``records``, which comes before them, is the number written."""
    columns = data.catalogue.forms[form]
    render = renderer(data.options)
    records = count = 0
    scratch = path.with_suffix(".rows")
    with scratch.open("w", encoding="utf-8", newline="\n") as rows:
        for record in data.records([form]):
            row = _dumps(tables.form_row(record, columns, data.options, render))
            rows.write(row + "\n" if ndjson else ("," if records else "") + "\n" + row)
            records += 1
            count += len(record.values)
    header = _dumps(_header(data, form, records, created))
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(header + "\n" if ndjson else header[:-1] + ',"rows":[')
        with scratch.open(encoding="utf-8", newline="\n") as rows:
            shutil.copyfileobj(rows, handle)
        if not ndjson:
            handle.write("\n]}\n")
    scratch.unlink()
    return count


def _write_subjects(path: Path, data: StudyData, ndjson: bool, created: datetime) -> None:
    """The subject-level dataset (``subjects``): subject and site as keys, then each column
    other capabilities contribute (a randomisation's number, date...), all strings."""
    table = data.subject_columns
    header = _header(data, SUBJECTS, len(table.rows), created, columns=[])
    header["columns"] = [
        {
            "itemOID": f"IT.{SUBJECTS.upper()}.{name.upper()}",
            "name": name,
            "label": label,
            "dataType": DataType.STRING.value,
            **({"keySequence": 1} if name == "subject" else {}),
        }
        for name, label in zip(
            ["subject", "site", *table.names],
            ["Subject", "Site", *table.descriptions],
            strict=True,
        )
    ]
    rows = [[None if c is None else str(c) for c in row] for row in table.table()[1:]]
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        if ndjson:
            handle.write(_dumps(header) + "\n")
            handle.writelines(_dumps(row) + "\n" for row in rows)
        else:
            handle.write(_dumps(header | {"rows": rows}) + "\n")


def writer(ndjson: bool) -> Callable[[Path, StudyData], int]:
    """The zip writer of Dataset-JSON (``ndjson`` False) or of its NDJSON variant."""
    suffix = ".ndjson" if ndjson else ".json"

    def write(target: Path, data: StudyData) -> int:
        # the export's snapshot time, so a rerun gives the same bytes
        created = data.options.stamp or datetime.now(UTC)
        count = 0
        with tempfile.TemporaryDirectory(prefix="datacapt-export-") as scratch:
            folder = Path(scratch)
            written = []
            for form in data.catalogue.forms:
                path = folder / f"{form}{suffix}"
                count += _write_form(path, data, form, ndjson, created)
                written.append(path)
            write_csv(
                folder / "codebook.csv",
                [tables.CODEBOOK_HEADER, *tables.codebook_rows(data.catalogue)],
            )
            if data.subject_columns:
                path = folder / f"{SUBJECTS}{suffix}"
                _write_subjects(path, data, ndjson, created)
            with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
                for path in written:
                    archive.add(zipped, f"forms/{path.name}", path)
                archive.add(zipped, "codebook.csv", folder / "codebook.csv")
                if data.subject_columns:
                    archive.add(zipped, f"{SUBJECTS}{suffix}", folder / f"{SUBJECTS}{suffix}")
        return count

    return write
