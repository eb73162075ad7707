"""The tables every format writes, as headers and rows of cells: the values (long), one table
per form (wide over items, long over visits and repeats), and the codebook.

Cells of stored values go through a format's ``render`` (text for CSV, typed cells for Excel);
everything else is text or a whole number."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from datacapt.exports.cells import iso_timestamp
from datacapt.exports.options import Coded, ExportOptions
from datacapt.exports.source import Catalogue, Column, FormRecord, StoredValue

Render = Callable[[StoredValue, Column], Any]
#: What a format does to a cell that could hold text from users (CSV neutralises formulas).
Clean = Callable[[Any], Any]
KEYS = ["subject", "site", "visit", "visit_repeat"]
STATE = ["form_status", "lock_state"]


def _kept(cell: Any) -> Any:
    return cell


def keys_of(record: FormRecord) -> list[Any]:
    return [record.subject, record.site, record.visit, record.visit_repeat]


def state_of(record: FormRecord) -> list[Any]:
    return [record.status.value, record.lock_state.value]


def _value(stored: StoredValue, column: Column, options: ExportOptions, render: Render) -> Any:
    if stored.text is None:
        return None
    if column.coded and options.coded is Coded.LABELS:
        return column.decoded(stored.text)
    return render(stored, column)


def _label(stored: StoredValue | None, column: Column) -> str | None:
    if stored is None or stored.text is None or not column.coded:
        return None
    return column.decoded(stored.text)


def long_header(options: ExportOptions) -> list[str]:
    label = ["value_label"] if options.coded is Coded.BOTH else []
    return [
        *KEYS,
        "form",
        "form_repeat",
        "item",
        "value",
        *label,
        "missing_code",
        *STATE,
        "updated_at",
        "updated_by",
    ]


def long_rows(
    record: FormRecord,
    columns: list[Column],
    options: ExportOptions,
    render: Render,
    clean: Clean = _kept,
) -> Iterator[list[Any]]:
    """A row per stored value, in the form's item order; ``clean`` is given each text cell
    (the form's own cells once, not once per value)."""
    head = [clean(cell) for cell in (*keys_of(record), record.form, record.form_repeat)]
    state = state_of(record)
    both = options.coded is Coded.BOTH
    for column in columns:
        stored = record.values.get(column.item.oid)
        if stored is None:
            continue
        yield [
            *head,
            column.item.name,
            clean(_value(stored, column, options, render)),
            *([clean(_label(stored, column))] if both else []),
            clean(stored.missing_code),
            *state,
            iso_timestamp(stored.updated_at),
            clean(stored.updated_by),
        ]


#: The key and state fields that start every per-form table.
FORM_KEYS = [*KEYS, "form_repeat", *STATE]


@dataclass(frozen=True)
class Field:
    """One column of a per-form table: a key or state field, or what it holds of an item
    (``role`` "value", "label" or "missing")."""

    name: str
    column: Column | None = None
    role: str = "key"


def form_fields(columns: list[Column], options: ExportOptions) -> list[Field]:
    """The per-form table's columns, in order: :func:`form_row` fills them."""
    found = [Field(name) for name in FORM_KEYS]
    for column in columns:
        found.append(Field(column.item.name, column, "value"))
        if column.coded and options.coded is Coded.BOTH:
            found.append(Field(f"{column.item.name}_label", column, "label"))
        if column.item.missing_codes_allowed:
            found.append(Field(f"{column.item.name}_missing", column, "missing"))
    return found


def form_header(columns: list[Column], options: ExportOptions) -> list[str]:
    return [field.name for field in form_fields(columns, options)]


def form_row(
    record: FormRecord,
    columns: list[Column],
    options: ExportOptions,
    render: Render,
    clean: Clean = _kept,
) -> list[Any]:
    row = [clean(cell) for cell in keys_of(record)]
    row += [record.form_repeat, *state_of(record)]
    both = options.coded is Coded.BOTH
    for column in columns:
        stored = record.values.get(column.item.oid)
        row.append(None if stored is None else clean(_value(stored, column, options, render)))
        if column.coded and both:
            row.append(clean(_label(stored, column)))
        if column.item.missing_codes_allowed:
            row.append(None if stored is None else clean(stored.missing_code))
    return row


CODEBOOK_HEADER = [
    "form",
    "item",
    "oid",
    "label",
    "type",
    "validation",
    "units",
    "codes",
    "required",
    "missing_codes_allowed",
    "show_if",
    "calculation",
    "versions",
    "personal_data",
    "dates_shifted",
]


def codebook_rows(found: Catalogue) -> Iterator[list[Any]]:
    """A row per exported item: what it asks, its type, codes and conditions, the published
    versions of the design that have it, whether it is personal data, and whether its dates are
    shifted per subject (by how much is never told)."""
    for column in found.columns():
        item = column.item
        codes = "; ".join(f"{code}={label}" for code, label in column.code_labels().items())
        yield [
            column.form,
            item.name,
            item.oid,
            column.label,
            item.type.value,
            item.validation.value if item.validation else None,
            item.units,
            codes if column.coded else None,
            "yes" if item.required else "no",
            "yes" if item.missing_codes_allowed else "no",
            item.show_if,
            item.calculation,
            " ".join(str(number) for number in sorted(column.versions)),
            "yes" if item.identifier else "no",
            "yes" if found.dates_shifted and column.dated else "no",
        ]
