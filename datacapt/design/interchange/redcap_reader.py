"""REDCap data dictionaries (CSV): read one into a :class:`Definition`, write one back.

A dictionary row is one field; its form, section and matrix group are columns of the row, read
by position as REDCap does (header names differ between REDCap versions). Whatever cannot be
mapped is left out or kept partly, and always reported as a :class:`Finding` naming the CSV line
as a spreadsheet shows it (the header is line 1).

Decisions a reader must know:

- REDCap's "Text Validation Min/Max" is a *soft* range: data entry warns "out of range" and
  saves the value anyway. It is read as ``soft_range``; only with the ``@FORCE-MINMAX`` action
  tag does REDCap refuse the value, and then it is a ``hard_range``.
- A "today" bound on a date is not a fixed value, so no :class:`Range` can hold it: it becomes
  an edit check (``[dob] > today``) of the same strength, written back as "today".
- Labels, notes, choices and section headers are plain text here: REDCap's HTML is reduced to
  text, and descriptive fields to Markdown. On export, text that REDCap would read as HTML is
  escaped, so it shows as typed.
- Branching logic and calculations are already in the expression language (REDCap's syntax):
  they are parsed to validate them and stored as :func:`~datacapt.expressions.to_text` writes
  them. Logic that does not parse is left out with a warning quoting it; logic that parses but
  fails publication's check (an unknown field, a code the field lacks) is kept with a warning.
- A dictionary defines no events: the schedule is left empty for the designer.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, time
from typing import Any

from datacapt.design.interchange.findings import (
    Finding,
    FindingLevel,
    ImportResult,
    InterchangeError,
    variable_name,
)
from datacapt.design.interchange.redcap import (
    COLUMNS,
    DEFAULT_SLIDER,
    FORCE_MINMAX,
    HEADER,
    LANGUAGE,
    PATTERNS,
    RANGED,
    Bound,
    Row,
    charlimit,
    counted,
    expression_error,
    from_html,
    listed,
    matrix_ready,
    prettified,
    renamed,
    today_check,
)
from datacapt.ecrf.action_tags import APPLIED, action_tags
from datacapt.ecrf.checks import check_expression, symbols
from datacapt.ecrf.definition import (
    NAME_PATTERN,
    Block,
    Choice,
    Definition,
    EditCheck,
    Form,
    Item,
    ItemType,
    Range,
    Schedule,
    Section,
    Slider,
    Static,
    SubSection,
    Text,
    Validation,
    form_blocks,
)
from datacapt.expressions import ExpressionError, Symbols, parse, references, smart, to_text
from datacapt.numbers import NumberError, parse_number

# Choice lists of large dictionaries (organisms, countries) are long cells; the limit is global.
csv.field_size_limit(max(csv.field_size_limit(), 1 << 24))

#: REDCap's "phone": North American numbers only (NANP area code and exchange, optional ext.).
NANP_PHONE_PATTERN = (
    r"^(?:\(?([2-9]1[02-9]|[2-9][02-8]1|[2-9][02-8][02-9])\)?)\s*(?:[.-]\s*)?"
    r"([2-9]1[02-9]|[2-9][02-9]1|[2-9][02-9]{2})\s*(?:[.-]\s*)?([0-9]{4})"
    r"(?:\s*(?:#|x\.?|ext\.?|extension)\s*([0-9]+))?$"
)

DATE_FORMATS = ("dmy", "mdy", "ymd")


def _validation_types() -> dict[str, dict[str, Any]]:
    """REDCap validation name → the Item attributes it sets (every other attribute default)."""
    types: dict[str, dict[str, Any]] = {
        "integer": {"validation": Validation.INTEGER},
        "time": {"validation": Validation.TIME},
        "time_hh_mm_ss": {"validation": Validation.TIME, "with_seconds": True},
        "time_mm_ss": {"validation": Validation.TIME_MM_SS},
        "email": {"validation": Validation.EMAIL},
        "phone": {
            "validation": Validation.PHONE,
            "pattern": NANP_PHONE_PATTERN,
            "pattern_name": "phone",
        },
    }
    for decimals in (None, 1, 2, 3, 4):
        for comma in (False, True):
            name = "number" + (f"_{decimals}dp" if decimals else "")
            types[name + ("_comma_decimal" if comma else "")] = {
                "validation": Validation.NUMBER,
                "decimals": decimals,
                "decimal_comma": comma,
            }
    for order in DATE_FORMATS:
        types[f"date_{order}"] = {"validation": Validation.DATE, "date_format": order}
        types[f"datetime_{order}"] = {"validation": Validation.DATETIME, "date_format": order}
        types[f"datetime_seconds_{order}"] = {
            "validation": Validation.DATETIME,
            "date_format": order,
            "with_seconds": True,
        }
    for name, pattern in PATTERNS.items():
        types[name] = {"validation": Validation.REGEX, "pattern": pattern, "pattern_name": name}
    return types


VALIDATION_TYPES = _validation_types()

#: Names older REDCap versions wrote, still accepted by its dictionary upload.
LEGACY_VALIDATIONS = {
    "int": "integer",
    "float": "number",
    "date": "date_ymd",
    "datetime": "datetime_ymd",
    "datetime_seconds": "datetime_seconds_ymd",
}

FIELD_TYPES = frozenset(
    {"text", "notes", "calc", "dropdown", "radio", "checkbox", "yesno", "truefalse", "file"}
    | {"slider", "descriptive"}
)

_INPUTS = FIELD_TYPES - {"descriptive"}

#: Columns only some field types use; a value elsewhere is ignored with a finding.
TYPE_COLUMNS: dict[str, frozenset[str]] = {
    "choices": frozenset({"calc", "dropdown", "radio", "checkbox", "slider"}),
    "validation": frozenset({"text", "dropdown", "file", "slider"}),
    "min": frozenset({"text", "slider"}),
    "max": frozenset({"text", "slider"}),
    "note": _INPUTS,
    "identifier": _INPUTS,
    "required": _INPUTS,
    "annotation": _INPUTS,
}

_ACTION_TAG = re.compile(r"(?<!\S)@[A-Z][A-Z0-9_-]*[A-Z0-9]")


_SLASHED_DATE = re.compile(r"([0-9]{1,4})[/.-]([0-9]{1,2})[/.-]([0-9]{1,4})")

_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")

_TODAY = frozenset({"today", "now"})


def _quoted(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


COLUMN_TITLES = dict(zip(COLUMNS, HEADER, strict=True))


def _decode(data: bytes) -> tuple[str, list[Finding]]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), [
                Finding("file", "read as UTF-16 text", FindingLevel.INFO)
            ]
        except UnicodeDecodeError:
            raise InterchangeError("The file is not valid UTF-16 text.") from None
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise InterchangeError("The file is neither UTF-8 nor Windows-1252 text.") from None
    message = "not UTF-8: read as Windows-1252; check accented letters and symbols"
    return text, [Finding("file", message, FindingLevel.WARNING)]


def _looks_like_header(cells: list[str]) -> bool:
    if len(cells) < 12:
        return False
    first, form, kind = (cells[i].strip().lower() for i in (0, 1, 3))
    return ("variable" in first or "field" in first) and "form" in form and "type" in kind


def _records(text: str) -> tuple[list[tuple[int, list[str]]], list[Finding]]:
    """The CSV's records numbered as a spreadsheet shows them; REDCap writes commas, but a
    spreadsheet saved in some locales writes semicolons or tabs."""
    for delimiter in (",", ";", "\t"):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            records = list(enumerate(reader, start=1))
        except csv.Error as error:
            raise InterchangeError(f"The file is not readable CSV: {error}.") from None
        header = next((cells for _line, cells in records if any(c.strip() for c in cells)), [])
        if _looks_like_header(header):
            findings = []
            if delimiter != ",":
                message = f"fields are separated by {delimiter!r}, not commas: read as such"
                findings.append(Finding("file", message, FindingLevel.INFO))
            return records, findings
    raise InterchangeError(
        "The file is not a REDCap data dictionary: its first row should be the header "
        "(Variable / Field Name, Form Name, Section Header, Field Type, ...)."
    )


def _rows(records: list[tuple[int, list[str]]], findings: list[Finding]) -> list[Row]:
    rows: list[Row] = []
    filled = [(line, cells) for line, cells in records if any(c.strip() for c in cells)]
    (header_line, header), *body = filled
    width = len(header)
    if width != len(COLUMNS):
        message = f"the header has {width} columns where REDCap writes {len(COLUMNS)}: " + (
            "missing ones are read as empty" if width < len(COLUMNS) else "extra ones ignored"
        )
        findings.append(Finding(f"line {header_line}", message, FindingLevel.INFO))
    for line, cells in body:
        if len(cells) != width:
            message = f"{len(cells)} cells where the header has {width}: read by position"
            extra = [cell for cell in cells[len(COLUMNS) :] if cell.strip()]
            if extra:
                message += f", {_quoted(' | '.join(extra))} beyond column {len(COLUMNS)} ignored"
            findings.append(Finding(f"line {line}", message, FindingLevel.WARNING))
        padded = (cells + [""] * len(COLUMNS))[: len(COLUMNS)]
        rows.append(Row.of(line, padded))
    return rows


def _dictionary_rows(data: bytes) -> tuple[list[Row], list[Finding]]:
    """The rows, and the findings of reading them. The decoded text and the CSV's records are
    gone once the rows are made, before the design is built (issue 15's memory bound)."""
    text, findings = _decode(data)
    records, found = _records(text)
    findings.extend(found)
    return _rows(records, findings), findings


class DictionaryReader:
    """One import: its findings, and what every row needs to know about the others."""

    def __init__(self, findings: list[Finding], language: str = LANGUAGE) -> None:
        self.findings = findings
        self.language = language
        self.renames: dict[str, str] = {}
        self.names: set[str] = set()
        self.places: dict[str, str] = {}  # block OID -> where its row is
        self.form_renames: dict[str, str] = {}
        self.ranked: set[str] = set()  # matrix groups already reported for their ranking
        self.summaries: dict[str, list[str]] = {}
        self.events: dict[str, list[str]] = {}

    def note(self, where: str, message: str, level: FindingLevel = FindingLevel.WARNING) -> None:
        self.findings.append(Finding(where, message, level))

    def summarize(self, message: str, name: str) -> None:
        """Collect a field under a note given once per file (``message`` names the kind)."""
        self.summaries.setdefault(message, []).append(name)

    # - which rows become blocks, under which names

    def select(self, rows: list[Row]) -> list[tuple[Row, str]]:
        kept: list[tuple[Row, str]] = []
        orphan: Row | None = None  # a left-out row whose section header must not be lost
        for row in rows:
            name = self._name(row)
            if name is None:
                if row.section.strip():
                    self._lose_header(orphan)
                    orphan = row
                continue
            if orphan is not None:
                self._carry_header(orphan, row)
                orphan = None
            kept.append((row, name))
        self._lose_header(orphan)
        return kept

    def _carry_header(self, orphan: Row, row: Row) -> None:
        if row.form == orphan.form and not row.section.strip():
            row.section = orphan.section
            message = f"section header of the left-out field {orphan.name} starts here instead"
            self.note(row.where, message, FindingLevel.INFO)
        else:
            self._lose_header(orphan)

    def _lose_header(self, orphan: Row | None) -> None:
        if orphan is not None:
            message = f"section header {_quoted(orphan.section)} left out with its field"
            self.note(orphan.where, message)

    def _name(self, row: Row) -> str | None:
        """The variable name the row is imported under, or None when it is left out."""
        problem = self._left_out(row)
        if problem:
            self.note(row.where, problem)
            return None
        name = row.name
        if not NAME_PATTERN.match(name):
            name = variable_name(name)
            message = f"{row.name!r} is not a REDCap variable name: imported as {name}"
            self.note(row.where, message)
        if name in self.names:
            self.note(row.where, "the variable name is used twice (REDCap forbids it): left out")
            return None
        self.names.add(name)
        if name != row.name:
            self.renames[row.name] = name
        return name

    @staticmethod
    def _left_out(row: Row) -> str | None:
        if not row.name:
            return "a field without a variable name: left out"
        if not row.form:
            return "a field without a form name: left out"
        if row.type == "sql":
            return (
                "dynamic SQL field left out: a database query has no place in a validated "
                f"system ({_quoted(row.choices)}); use a drop-down list of fixed choices"
            )
        if row.type not in FIELD_TYPES:
            return f"unknown field type {row.type!r}: left out"
        return None

    # - the definition

    def definition(
        self,
        kept: list[tuple[Row, str]],
        titles: Mapping[str, str] | None = None,
        schedule: Schedule | None = None,
    ) -> Definition:
        """The forms of the kept rows; a project XML gives the forms' titles and the schedule a
        dictionary lacks (without them, titles come from the names and no visit is defined)."""
        layouts: dict[str, _Layout] = {}
        previous = ""
        for row, name in kept:
            form_name = self._form_name(row)
            layout = layouts.get(form_name)
            if layout is None:
                title = (titles or {}).get(row.form, "").strip() or prettified(form_name)
                layout = layouts[form_name] = _Layout(form_name, {self.language: title})
            elif form_name != previous:
                message = f"form {form_name} continues after other forms: its fields are joined"
                self.note(row.where, message, FindingLevel.INFO)
            previous = form_name
            matrix = row.matrix or None
            block = self._block(row, name)
            self.places[block.oid] = row.where
            if layout.add(block, self._header(row), matrix):
                self.note(row.where, f"matrix group {matrix} is split by other fields")
            self._ranking(row)
        for layout in layouts.values():
            self._check_matrices(layout.form)
        definition = Definition(
            default_language=self.language,
            languages=[self.language],
            forms=[layout.form for layout in layouts.values()],
            schedule=schedule or Schedule(),
        )
        if schedule is not None:
            self._schedule_forms(definition)
        self._check_expressions(definition)
        self._record_identifier(kept)
        self._summaries({visit.name for visit in definition.schedule.visits})
        if schedule is None:
            self.note(
                "schedule",
                "a data dictionary has no events: define the visits in the designer",
                FindingLevel.INFO,
            )
        return definition

    def _schedule_forms(self, definition: Definition) -> None:
        """Visits list forms by their names in the file: renamed ones follow, left-out ones go."""
        known = {form.name for form in definition.forms}
        for visit in definition.schedule.visits:
            forms = [self.form_renames.get(name, name) for name in visit.forms]
            for name in forms:
                if name not in known:
                    self.note(f"event {visit.name}", f"form {name} has no field kept: not listed")
            visit.forms = [name for name in dict.fromkeys(forms) if name in known]

    def _check_expressions(self, definition: Definition) -> None:
        """Check the kept logic against the fields now, where the CSV line can be named, rather
        than at publication; the events it names are taken as given (see their findings)."""
        visits = self.events.keys() | {visit.name for visit in definition.schedule.visits}
        table = replace(symbols(definition), visits=frozenset(visits))
        for form in definition.forms:
            for block in form_blocks(form):
                texts = [("show_if", block.show_if)]
                if isinstance(block, Item):
                    texts.append(("calculation", block.calculation))
                    tagged = action_tags(block.annotation).expressions()
                    texts += [("annotation", text) for text in tagged]
                for field, text in texts:
                    if text:
                        self._check_expression(text, table, block.oid, field)

    def _check_expression(self, text: str, table: Symbols, oid: str, field: str) -> None:
        what = {"show_if": "branching logic", "annotation": "action tag"}.get(field, "calculation")
        for problem in check_expression(text, table, oid, field, condition=field == "show_if"):
            message = f"{what}: {problem.message.interpolate()} (kept, to be corrected)"
            self.note(self.places[oid], message)

    def _record_identifier(self, kept: list[tuple[Row, str]]) -> None:
        first = next((row for row, _name in kept if row.type != "descriptive"), None)
        if first is not None:
            message = (
                "REDCap's record identifier (its first field), kept as an ordinary item: "
                "Datacapt identifies subjects itself"
            )
            self.note(first.where, message, FindingLevel.INFO)

    def _form_name(self, row: Row) -> str:
        if NAME_PATTERN.match(row.form):
            return row.form
        if row.form not in self.form_renames:
            name = self.form_renames[row.form] = variable_name(row.form)
            self.note(row.where, f"{row.form!r} is not a REDCap form name: imported as {name}")
        return self.form_renames[row.form]

    def _header(self, row: Row) -> Text | None:
        if not row.section.strip():
            return None
        title = self._plain(row, "section", row.section)
        if not title:
            self.note(row.where, "section header without text ignored", FindingLevel.INFO)
            return None
        return {self.language: title}

    def _ranking(self, row: Row) -> None:
        if row.ranking.lower() == "y" and row.matrix and row.matrix not in self.ranked:
            self.ranked.add(row.matrix)
            message = (
                f"matrix group {row.matrix} asks for ranking (each choice once per column): "
                "not supported, the matrix is imported without it"
            )
            self.note(row.where, message)

    def _check_matrices(self, form: Form) -> None:
        for section in form.sections:
            for subsection in section.subsections:
                if subsection.matrix is not None and not matrix_ready(subsection):
                    message = (
                        "a matrix holds radio or checkbox fields sharing their choices; "
                        "these differ: shown as a matrix all the same"
                    )
                    self.note(f"form {form.name}, matrix {subsection.matrix}", message)

    def _summaries(self, visits: set[str]) -> None:
        messages = {
            "alignment": "custom alignment ignored (the layout is Datacapt's)",
            "question": "survey question numbers ignored",
            "today": "'today' bounds became edit checks [field] > today or < today",
        }
        for key, message in messages.items():
            names = self.summaries.get(key, [])
            if names:
                self.note(counted(names, "field"), f"{message}: {listed(names)}", FindingLevel.INFO)
        for tag, names in sorted(self.summaries.items()):
            if tag in APPLIED:
                message = f"action tag {tag} applied by Datacapt's forms"
                self.note(counted(names, "field"), f"{message}: {listed(names)}", FindingLevel.INFO)
            elif tag.startswith("@"):
                message = f"action tag {tag} kept in the annotation but not applied by Datacapt"
                self.note(counted(names, "field"), f"{message}: {listed(names)}", FindingLevel.INFO)
        for event, names in sorted(self.events.items()):
            if event in visits:
                continue
            message = (
                f"logic refers to the event [{event}], which a dictionary cannot define: add a "
                f"visit named {event} before publication (used by {listed(names)})"
            )
            self.note(f"event {event}", message, FindingLevel.INFO)

    # - one block

    def _block(self, row: Row, name: str) -> Block:
        self._ignored_columns(row)
        self._action_tags(row, name)
        if row.alignment:
            self.summarize("alignment", name)
        if row.question:
            self.summarize("question", name)
        show_if = self._expression(row, row.logic, "branching logic", name)
        if row.type == "descriptive":
            content, had_html = from_html(row.label, markdown=True)
            if had_html:
                self.note(row.where, "HTML of the text reduced to Markdown", FindingLevel.INFO)
            return Static(oid=_oid("T", name), content={self.language: content}, show_if=show_if)
        label = self._plain(row, "label", row.label)
        if not label:
            self.note(row.where, "the field has no label: give it one before publication")
        values: dict[str, Any] = {
            "oid": _oid("I", name),
            "name": name,
            "label": {self.language: label},
            "help": self._text(row, "note", row.note),
            "required": self._flag(row, "required"),
            "identifier": self._flag(row, "identifier"),
            "annotation": renamed(row.annotation, self.renames) if row.annotation.strip() else None,
            "max_length": charlimit(row.annotation),
            "show_if": show_if,
        }
        values.update(getattr(self, f"_type_{row.type}")(row, name))
        return Item(**values)

    def _ignored_columns(self, row: Row) -> None:
        for column, types in TYPE_COLUMNS.items():
            value = getattr(row, column)
            if value.strip() and row.type not in types:
                message = (
                    f"{COLUMN_TITLES[column]!r} is not used by a {row.type} field: "
                    f"{_quoted(value)} ignored"
                )
                self.note(row.where, message, FindingLevel.INFO)

    def _plain(self, row: Row, column: str, raw: str) -> str:
        text, had_html = from_html(raw, markdown=False)
        if had_html:
            message = f"HTML removed from the {column}, kept as text: {_quoted(raw)}"
            self.note(row.where, message, FindingLevel.INFO)
        return text

    def _text(self, row: Row, column: str, raw: str) -> Text:
        text = self._plain(row, column, raw)
        return {self.language: text} if text else {}

    def _flag(self, row: Row, column: str) -> bool:
        value = getattr(row, column).lower()
        if value in ("", "n", "no", "0"):
            return False
        if value not in ("y", "yes", "1"):
            message = f"{COLUMN_TITLES[column]!r} is {value!r}, neither 'y' nor empty: read as 'y'"
            self.note(row.where, message)
        return True

    def _action_tags(self, row: Row, name: str) -> None:
        for tag in dict.fromkeys(_ACTION_TAG.findall(row.annotation)):
            self.summarize(tag, name)

    def _expression(self, row: Row, raw: str, what: str, name: str) -> str | None:
        source = raw.strip()
        if not source:
            return None
        try:
            expression = parse(renamed(source, self.renames))
        except ExpressionError as error:
            message = f"{what} left out, it does not parse ({expression_error(error)}): {source}"
            self.note(row.where, message)
            return None
        named = {ref.visit for ref in references(expression) if ref.visit}
        for visit in sorted(named - smart.EVENTS):
            self.events.setdefault(visit, []).append(name)
        return to_text(expression)

    # - field types: the Item attributes each sets

    def _type_text(self, row: Row, name: str) -> dict[str, Any]:
        values: dict[str, Any] = {"type": ItemType.TEXT}
        validation = row.validation
        if validation in LEGACY_VALIDATIONS:
            validation = LEGACY_VALIDATIONS[validation]
            message = f"old validation name {row.validation!r} read as {validation!r}"
            self.note(row.where, message, FindingLevel.INFO)
        if validation in VALIDATION_TYPES:
            values.update(VALIDATION_TYPES[validation])
        elif validation:
            message = f"unknown text validation {validation!r}: imported as text without one"
            self.note(row.where, message)
        values.update(self._ranges(row, name, values))
        return values

    def _type_notes(self, row: Row, name: str) -> dict[str, Any]:
        return {"type": ItemType.LONG_TEXT}

    def _type_calc(self, row: Row, name: str) -> dict[str, Any]:
        calculation = self._expression(row, row.choices, "calculation", name)
        if not row.choices.strip():
            self.note(row.where, "calculated field without a calculation")
        return {"type": ItemType.CALCULATED, "calculation": calculation}

    def _type_dropdown(self, row: Row, name: str) -> dict[str, Any]:
        widget = "dropdown"
        if row.validation == "autocomplete":
            widget = "autocomplete"
        elif row.validation:
            message = f"validation {row.validation!r} does not apply to a drop-down: ignored"
            self.note(row.where, message, FindingLevel.INFO)
        return {"type": ItemType.SINGLE_CHOICE, "widget": widget, "choices": self._choices(row)}

    def _type_radio(self, row: Row, name: str) -> dict[str, Any]:
        return {"type": ItemType.SINGLE_CHOICE, "widget": "radio", "choices": self._choices(row)}

    def _type_checkbox(self, row: Row, name: str) -> dict[str, Any]:
        return {"type": ItemType.MULTIPLE_CHOICE, "choices": self._choices(row)}

    def _type_yesno(self, row: Row, name: str) -> dict[str, Any]:
        return {"type": ItemType.YES_NO}

    def _type_truefalse(self, row: Row, name: str) -> dict[str, Any]:
        return {"type": ItemType.TRUE_FALSE}

    def _type_file(self, row: Row, name: str) -> dict[str, Any]:
        if row.validation not in ("", "signature"):
            message = f"validation {row.validation!r} does not apply to a file: ignored"
            self.note(row.where, message, FindingLevel.INFO)
        kind = "signature" if row.validation == "signature" else "file"
        return {"type": ItemType.FILE, "file_kind": kind}

    def _type_slider(self, row: Row, name: str) -> dict[str, Any]:
        labels = [self._text(row, "slider label", part) for part in row.choices.split("|")]
        if len(labels) > 3:
            message = f"a slider has 3 labels at most: {_quoted(row.choices)} cut to the first 3"
            self.note(row.where, message)
        left, middle, right = _slider_labels(labels)
        if row.validation not in ("", "number"):
            message = f"{row.validation!r} for a slider: only 'number' (show the value) is known"
            self.note(row.where, message, FindingLevel.INFO)
        slider = Slider(
            min=self._slider_bound(row, "min", DEFAULT_SLIDER.min),
            max=self._slider_bound(row, "max", DEFAULT_SLIDER.max),
            left=left,
            middle=middle,
            right=right,
            show_number=row.validation == "number",
        )
        return {"type": ItemType.SLIDER, "slider": slider}

    def _slider_bound(self, row: Row, bound: Bound, default: int) -> int:
        value = getattr(row, bound)
        if not value:
            return default
        if re.fullmatch(r"[-+]?[0-9]+", value):
            return int(value)
        self.note(row.where, f"slider {bound} {value!r} is not a whole number: {default} used")
        return default

    def _choices(self, row: Row) -> list[Choice]:
        """REDCap's "code, label | code, label": split on "|" then on the first comma."""
        choices: list[Choice] = []
        codes: set[str] = set()
        for part in row.choices.split("|"):
            if not part.strip():
                continue
            code, comma, label = part.partition(",")
            code = code.strip()
            if not comma:
                code = label = part.strip()
                message = f"choice {_quoted(part)} has no comma: used as code and label"
                self.note(row.where, message)
            if not code:
                self.note(row.where, f"choice {_quoted(part)} has no code: left out")
            elif code in codes:
                self.note(row.where, f"choice code {code!r} given twice: the second left out")
            else:
                codes.add(code)
                label_text = self._plain(row, "choice", label)
                # Interned: lists of one scale repeat their codes, held once for all of them.
                choices.append(Choice(code=sys.intern(code), label={self.language: label_text}))
        if not choices:
            self.note(row.where, f"a {row.type} field without choices")
        return choices

    # - ranges

    def _ranges(self, row: Row, name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Min/max as a soft range (REDCap warns and saves), or a hard one with @FORCE-MINMAX;
        a "today" bound on a date as an edit check of the same strength."""
        if not (row.min or row.max):
            return {}
        validation = values.get("validation")
        if validation not in RANGED:
            message = f"min/max ({row.min!r}, {row.max!r}) ignored: REDCap uses them only for "
            self.note(row.where, message + "numbers, dates and times")
            return {}
        forced = bool(FORCE_MINMAX.search(row.annotation))
        bounds: dict[str, str | None] = {}
        checks: list[EditCheck] = []
        for bound in ("min", "max"):
            raw = getattr(row, bound)
            if raw.lower() in _TODAY and validation is Validation.DATE:
                checks.append(today_check(name, bound, forced, self.language))
                self.summarize("today", name)
            elif raw.lower() in _TODAY:
                message = f"{bound} {raw!r} left out: only a date can be bound to today"
                self.note(row.where, message)
            elif raw:
                bounds[bound] = self._bound(row, bound, raw, values)
        result: dict[str, Any] = {"edit_checks": checks}
        if any(bounds.values()):
            kept = Range(min=bounds.get("min"), max=bounds.get("max"))
            result["hard_range" if forced else "soft_range"] = kept
        return result

    def _bound(self, row: Row, bound: Bound, raw: str, values: Mapping[str, Any]) -> str | None:
        """A bound as the definition keeps it: a number with ".", an ISO date or time."""
        validation = values["validation"]
        if validation in (Validation.INTEGER, Validation.NUMBER):
            value = _number(raw.replace(",", ".") if values.get("decimal_comma") else raw)
        elif validation is Validation.TIME:
            value = _clock(raw)
        else:
            value = _moment(raw, values.get("date_format") or "ymd", validation)
        if value is None:
            self.note(row.where, f"{bound} {raw!r} is not a valid bound for this field: left out")
        elif value != raw and validation in (Validation.DATE, Validation.DATETIME):
            message = f"{bound} {raw!r} read as {value}{_day_order(raw, values)}"
            self.note(row.where, message, FindingLevel.INFO)
        return value


def _slider_labels(labels: list[Text]) -> tuple[Text, Text, Text]:
    """REDCap's 1, 2 or 3 slider labels: left; left and right; left, middle and right."""
    if len(labels) == 1:
        return labels[0], {}, {}
    if len(labels) == 2:
        return labels[0], {}, labels[1]
    return labels[0], labels[1], labels[2]


def _number(raw: str) -> str | None:
    try:
        parse_number(raw)
    except NumberError:
        return None
    return raw


def _clock(raw: str) -> str | None:
    found = _CLOCK.fullmatch(raw)
    if found is None:
        return None
    hour, minute, second = (int(part or 0) for part in found.groups())
    try:
        value = time(hour, minute, second)
    except ValueError:
        return None
    return value.isoformat("seconds" if found.group(3) else "minutes")


def _day(raw: str, order: str) -> str | None:
    found = _SLASHED_DATE.fullmatch(raw)
    if found is None:
        return None
    first, second, third = found.groups()
    if len(first) == 4:
        year, month, day = first, second, third
    elif len(third) == 4:
        day, month = (first, second) if order == "dmy" else (second, first)
        year = third
    else:
        return None
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _day_order(raw: str, values: Mapping[str, Any]) -> str:
    """How a date that does not start with its year was read, for the finding."""
    if re.match(r"[0-9]{4}", raw):
        return ""
    if values.get("date_format") == "dmy":
        return " (day first, as the field shows dates)"
    return " (month first)"


def _moment(raw: str, order: str, validation: Validation) -> str | None:
    """REDCap writes bounds "YYYY-MM-DD[ HH:MM[:SS]]"; a spreadsheet may rewrite the date in
    its own order ("1/1/2000"), read here in the field's day/month order."""
    day_part, _space, clock_part = raw.partition(" ")
    day = _day(day_part, order)
    if validation is Validation.DATE:
        return day if not clock_part else None
    clock = _clock(clock_part.strip()) if clock_part else "00:00"
    return f"{day} {clock}" if day and clock else None


def _oid(kind: str, name: str) -> str:
    """The OID of a field or form from its name, valid and unique by then (see ``_name``):
    upper-cased whole, so ``a`` and ``a_`` keep apart (cleaning it as ``oid_part`` does strips
    the underscore, and two items shared an OID)."""
    return f"{kind}.{name.upper()}"


class _Layout:
    """A form being filled row by row: sections at headers, sub-sections at matrix changes."""

    def __init__(self, name: str, title: Text) -> None:
        self.form = Form(oid=_oid("F", name), name=name, title=title)
        self._key = name.upper()
        self._sections = 0
        self._subsections = 0
        self._matrices: set[str] = set()

    def add(self, block: Block, header: Text | None, matrix: str | None) -> bool:
        """Place the block; True when it reopens a matrix group left earlier."""
        if header is not None or not self.form.sections:
            self._sections += 1
            oid = f"S.{self._key}.{self._sections}"
            self.form.sections.append(Section(oid=oid, title=header or {}))
        section = self.form.sections[-1]
        reopened = False
        if not section.subsections or section.subsections[-1].matrix != matrix:
            self._subsections += 1
            oid = f"G.{self._key}.{self._subsections}"
            section.subsections.append(SubSection(oid=oid, matrix=matrix))
            reopened = matrix in self._matrices
            if matrix is not None:
                self._matrices.add(matrix)
        section.subsections[-1].blocks.append(block)
        return reopened


def read_dictionary(data: bytes, language: str = LANGUAGE) -> ImportResult:
    """A definition from a REDCap data dictionary (CSV), with findings on what was not mapped.

    Texts are in ``language`` (the study's), as a dictionary names none. Raises
    :class:`InterchangeError` only when nothing can be read: not text, not CSV, or no data
    dictionary header.
    """
    rows, findings = _dictionary_rows(data)
    reader = DictionaryReader(findings, language)
    definition = reader.definition(reader.select(rows))
    if not rows:
        findings.append(Finding("file", "the dictionary has no fields", FindingLevel.WARNING))
    return ImportResult(definition=definition, findings=findings)
