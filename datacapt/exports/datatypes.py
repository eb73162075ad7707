"""The type of data an item holds, as typed formats (Dataset-JSON, the R script) declare it:
one rule from the design, so both say the same of every item."""

from __future__ import annotations

import enum

from datacapt.ecrf.definition import ItemType, Validation
from datacapt.exports.options import Coded, ExportOptions
from datacapt.exports.source import Column

BOOLEAN_TYPES = frozenset({ItemType.YES_NO, ItemType.TRUE_FALSE, ItemType.ACKNOWLEDGEMENT})
TEMPORAL = {
    Validation.DATE: "date",
    Validation.DATETIME: "datetime",
    Validation.TIME: "time",
}


class DataType(enum.StrEnum):
    """Dataset-JSON 1.1's logical data types that our items map to."""

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"


def data_type(column: Column, options: ExportOptions) -> DataType:
    """What the item's exported value is. Coded answers written as labels are text; partial
    dates (and dates of items that allow them), durations (mm:ss) and multiple choices stay
    text; a calculation is a number."""
    item = column.item
    if column.coded and options.coded is Coded.LABELS:
        return DataType.STRING
    if item.type in BOOLEAN_TYPES:
        return DataType.BOOLEAN
    if item.type is ItemType.SLIDER or item.validation is Validation.INTEGER:
        return DataType.INTEGER
    if item.type is ItemType.CALCULATED or item.validation is Validation.NUMBER:
        return DataType.DECIMAL
    if item.partial_dates and item.validation is Validation.DATE:
        return DataType.STRING  # 1970-03: ISO 8601 reduced precision, no date type holds it
    if item.type is ItemType.TEXT and item.validation in TEMPORAL:
        return DataType(TEMPORAL[item.validation])
    return DataType.STRING


#: name → (label, data type, key sequence) of the key and state columns of a per-form table.
KEY_COLUMNS: dict[str, tuple[str, DataType, int | None]] = {
    "subject": ("Subject", DataType.STRING, 1),
    "site": ("Site", DataType.STRING, None),
    "visit": ("Visit", DataType.STRING, 2),
    "visit_repeat": ("Visit repeat", DataType.INTEGER, 3),
    "form_repeat": ("Form repeat", DataType.INTEGER, 4),
    "form_status": ("Form status", DataType.STRING, None),
    "lock_state": ("Lock state", DataType.STRING, None),
}
