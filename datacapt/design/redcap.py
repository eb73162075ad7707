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
import html
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, time
from html.parser import HTMLParser
from typing import Any, Literal

from datacapt.design.checks import check_expression, symbols
from datacapt.design.definition import (
    NAME_PATTERN,
    Block,
    Choice,
    Definition,
    EditCheck,
    Form,
    Item,
    ItemType,
    Range,
    Section,
    Severity,
    Slider,
    Static,
    SubSection,
    Text,
    Validation,
    form_blocks,
    text_in,
)
from datacapt.design.interchange import (
    Finding,
    FindingLevel,
    ImportResult,
    InterchangeError,
    oid_part,
    variable_name,
)
from datacapt.expressions import ExpressionError, Symbols, parse, references, to_text
from datacapt.numbers import NumberError, parse_number

# Choice lists of large dictionaries (organisms, countries) are long cells; the limit is global.
csv.field_size_limit(max(csv.field_size_limit(), 1 << 24))

LANGUAGE = "en"  # a dictionary holds one language; REDCap keeps translations elsewhere

#: The header REDCap 13+ writes; columns are read by position whatever their names.
HEADER = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)

#: REDCap validation types that are patterns here, keyed by REDCap's name. They follow REDCap's
#: own (table redcap_validation_types) where it is right, and the real format where REDCap's is
#: looser (French postal codes have 5 digits, Canadian ones never use D F I O Q U, SSNs never
#: start with 000, 666 or 9). Written for RE2 and JavaScript alike (no inline flags, no
#: look-arounds).
PATTERNS: dict[str, str] = {
    "alpha_only": r"^[A-Za-z]+$",
    "mrn_10d": r"^[0-9]{10}$",
    "mrn_generic": r"^[A-Za-z0-9_-]+$",
    "vmrn": r"^[0-9]{4,9}$",
    "ssn": (
        r"^(00[1-9]|0[1-9][0-9]|[1-5][0-9]{2}|6[0-57-9][0-9]|66[0-57-9]|[78][0-9]{2})-"
        r"(0[1-9]|[1-9][0-9])-(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})$"
    ),
    "zipcode": r"^[0-9]{5}(-[0-9]{4})?$",
    "postalcode_australia": r"^[0-9]{4}$",
    "postalcode_canada": (
        r"^[ABCEGHJ-NPRSTVXYabceghj-nprstvxy][0-9][ABCEGHJ-NPRSTV-Zabceghj-nprstv-z] ?"
        r"[0-9][ABCEGHJ-NPRSTV-Zabceghj-nprstv-z][0-9]$"
    ),
    "postalcode_french": r"^(0[1-9]|[1-8][0-9]|9[0-8])[0-9]{3}$",
    "postalcode_germany": r"^(0[1-9]|[1-9][0-9])[0-9]{3}$",
    "phone_australia": r"^(\(0[2-8]\)|0[2-8])( ?[0-9]){8}$",
}
#: REDCap's "phone": North American numbers only (NANP area code and exchange, optional ext.).
NANP_PHONE_PATTERN = (
    r"^(?:\(?([2-9]1[02-9]|[2-9][02-8]1|[2-9][02-8][02-9])\)?)\s*(?:[.-]\s*)?"
    r"([2-9]1[02-9]|[2-9][02-9]1|[2-9][02-9]{2})\s*(?:[.-]\s*)?([0-9]{4})"
    r"(?:\s*(?:#|x\.?|ext\.?|extension)\s*([0-9]+))?$"
)
DATE_FORMATS = ("dmy", "mdy", "ymd")
DEFAULT_SLIDER = Slider()  # REDCap's slider: 0 to 100 when min/max are empty


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
#: Validations REDCap gives a min/max to (others ignore the columns).
RANGED = {
    Validation.INTEGER,
    Validation.NUMBER,
    Validation.DATE,
    Validation.DATETIME,
    Validation.TIME,
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
_CHARLIMIT = re.compile(r"""@CHARLIMIT\s*=\s*["']?([0-9]+)["']?""")
_FORCE_MINMAX = re.compile(r"@FORCE-MINMAX\b")
_APPLIED_TAGS = {"@CHARLIMIT", "@FORCE-MINMAX"}
_TAG = re.compile(r"<(?:/?[A-Za-z][^<>]*|!--.*?--)>", re.DOTALL)
_SLASHED_DATE = re.compile(r"([0-9]{1,4})[/.-]([0-9]{1,2})[/.-]([0-9]{1,4})")
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_TODAY = frozenset({"today", "now"})
_BRACKET_OR_STRING = re.compile(r"""'[^']*'|"[^"]*"|\[([^\[\]()]*)""")
_LISTED = 10  # names quoted in a summary finding before "…"

Bound = Literal["min", "max"]


# --- text: REDCap's HTML-capable cells ------------------------------------------------------


class _HTMLText(HTMLParser):
    """HTML as plain text or as Markdown (emphasis, links, breaks, lists, headings)."""

    BLOCKS = frozenset({"p", "div", "ul", "ol", "table", "tr", "blockquote", "center", "hr"})
    EMPHASIS = {"b": "**", "strong": "**", "i": "*", "em": "*"}

    def __init__(self, markdown: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.markdown = markdown
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")
        elif tag == "li":
            self.parts.append("\n- " if self.markdown else "\n")
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + ("#" * int(tag[1]) + " " if self.markdown else ""))
        elif self.markdown and tag in self.EMPHASIS:
            self.parts.append(self.EMPHASIS[tag])
        elif self.markdown and tag == "a":
            self.links.append(dict(attrs).get("href") or "")
            self.parts.append("[")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS or re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n")
        elif self.markdown and tag in self.EMPHASIS:
            self.parts.append(self.EMPHASIS[tag])
        elif self.markdown and tag == "a" and self.links:
            href = self.links.pop()
            self.parts.append(f"]({href})" if href else "]")

    def handle_data(self, data: str) -> None:
        self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        self.close()
        text = re.sub(r" *\n *", "\n", "".join(self.parts))
        return re.sub(r"\n{3,}", "\n\n", text)


def _normalized(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _from_html(raw: str, markdown: bool) -> tuple[str, bool]:
    """A cell's text, and whether HTML tags were removed. Entities are always decoded, as REDCap
    shows them decoded; the result is stripped and has "\\n" line breaks."""
    if not _TAG.search(raw):
        return _normalized(html.unescape(raw)), False
    parser = _HTMLText(markdown)
    parser.feed(raw)
    return _normalized(parser.text()), True


def plain_text(raw: str) -> str:
    """A label, note, choice or section header as the plain text it shows."""
    return _from_html(raw, markdown=False)[0]


def markdown_text(raw: str) -> str:
    """A descriptive field's label as Markdown."""
    return _from_html(raw, markdown=True)[0]


def _cell(text: str, read: Callable[[str], str], *, pipes: bool = False) -> str:
    """The cell that reads back as ``text``: HTML-escaped only when REDCap would otherwise take
    part of it as HTML; a "|" that would split a choice list becomes "&#124;"."""
    if read(text) == text and not (pipes and "|" in text):
        return text
    escaped = html.escape(text, quote=False)
    return escaped.replace("|", "&#124;") if pipes else escaped


def prettified(name: str) -> str:
    """A form title from its name: "inclusion_criteria" → "Inclusion criteria"."""
    words = " ".join(name.replace("_", " ").split())
    return words[:1].upper() + words[1:]


def _quoted(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _counted(things: list[str], noun: str) -> str:
    return f"{len(things)} {noun}{'' if len(things) == 1 else 's'}"


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (", …" if len(names) > _LISTED else "")


def _renamed(text: str, names: Mapping[str, str]) -> str:
    """``text`` with its references to renamed fields changed, before parsing: the old names
    are not valid names, so the parser would refuse them."""
    if not names:
        return text

    def swap(found: re.Match[str]) -> str:
        name = found.group(1)
        return f"[{names[name]}" if name in names else found.group(0)

    return _BRACKET_OR_STRING.sub(swap, text)


def _expression_error(error: ExpressionError) -> str:
    if error.position is None:
        return error.message
    return f"{error.message} (line {error.position.line}, column {error.position.column})"


# --- reading ---------------------------------------------------------------------------------


@dataclass
class _Row:
    """One dictionary row; cells other than texts and annotation are stripped."""

    line: int
    name: str
    form: str
    section: str
    type: str
    label: str
    choices: str
    note: str
    validation: str
    min: str
    max: str
    identifier: str
    logic: str
    required: str
    alignment: str
    question: str
    matrix: str
    ranking: str
    annotation: str

    @classmethod
    def of(cls, line: int, cells: list[str]) -> _Row:
        values = dict(zip(COLUMNS, cells, strict=True))
        for column in COLUMNS:
            if column not in ("label", "choices", "note", "logic", "section", "annotation"):
                values[column] = values[column].strip()
        values["type"] = values["type"].lower()
        return cls(line=line, **values)

    @property
    def where(self) -> str:
        return f"line {self.line}, field {self.name}" if self.name else f"line {self.line}"


#: Our names for the columns, in REDCap's order: the fields of a row after its line number.
COLUMNS = tuple(column.name for column in fields(_Row))[1:]
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


def _rows(records: list[tuple[int, list[str]]], findings: list[Finding]) -> list[_Row]:
    rows: list[_Row] = []
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
        rows.append(_Row.of(line, padded))
    return rows


class _Reader:
    """One import: its findings, and what every row needs to know about the others."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
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

    def select(self, rows: list[_Row]) -> list[tuple[_Row, str]]:
        kept: list[tuple[_Row, str]] = []
        orphan: _Row | None = None  # a left-out row whose section header must not be lost
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

    def _carry_header(self, orphan: _Row, row: _Row) -> None:
        if row.form == orphan.form and not row.section.strip():
            row.section = orphan.section
            message = f"section header of the left-out field {orphan.name} starts here instead"
            self.note(row.where, message, FindingLevel.INFO)
        else:
            self._lose_header(orphan)

    def _lose_header(self, orphan: _Row | None) -> None:
        if orphan is not None:
            message = f"section header {_quoted(orphan.section)} left out with its field"
            self.note(orphan.where, message)

    def _name(self, row: _Row) -> str | None:
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
    def _left_out(row: _Row) -> str | None:
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

    def definition(self, kept: list[tuple[_Row, str]]) -> Definition:
        layouts: dict[str, _Layout] = {}
        previous = ""
        for row, name in kept:
            form_name = self._form_name(row)
            layout = layouts.get(form_name)
            if layout is None:
                layout = layouts[form_name] = _Layout(form_name)
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
            default_language=LANGUAGE,
            languages=[LANGUAGE],
            forms=[layout.form for layout in layouts.values()],
        )
        self._check_expressions(definition)
        self._record_identifier(kept)
        self._summaries()
        self.note(
            "schedule",
            "a data dictionary has no events: define the visits in the designer",
            FindingLevel.INFO,
        )
        return definition

    def _check_expressions(self, definition: Definition) -> None:
        """Check the kept logic against the fields now, where the CSV line can be named, rather
        than at publication; the events it names are taken as given (see their findings)."""
        table = replace(symbols(definition), visits=frozenset(self.events))
        for form in definition.forms:
            for block in form_blocks(form):
                texts = {"show_if": block.show_if}
                if isinstance(block, Item):
                    texts["calculation"] = block.calculation
                for field, text in texts.items():
                    if text:
                        self._check_expression(text, table, block.oid, field)

    def _check_expression(self, text: str, table: Symbols, oid: str, field: str) -> None:
        what = "branching logic" if field == "show_if" else "calculation"
        for problem in check_expression(text, table, oid, field, condition=field == "show_if"):
            message = f"{what}: {problem.message.interpolate()} (kept, to be corrected)"
            self.note(self.places[oid], message)

    def _record_identifier(self, kept: list[tuple[_Row, str]]) -> None:
        first = next((row for row, _name in kept if row.type != "descriptive"), None)
        if first is not None:
            message = (
                "REDCap's record identifier (its first field), kept as an ordinary item: "
                "Datacapt identifies subjects itself"
            )
            self.note(first.where, message, FindingLevel.INFO)

    def _form_name(self, row: _Row) -> str:
        if NAME_PATTERN.match(row.form):
            return row.form
        if row.form not in self.form_renames:
            name = self.form_renames[row.form] = variable_name(row.form)
            self.note(row.where, f"{row.form!r} is not a REDCap form name: imported as {name}")
        return self.form_renames[row.form]

    def _header(self, row: _Row) -> Text | None:
        if not row.section.strip():
            return None
        title = self._plain(row, "section", row.section)
        if not title:
            self.note(row.where, "section header without text ignored", FindingLevel.INFO)
            return None
        return {LANGUAGE: title}

    def _ranking(self, row: _Row) -> None:
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
                if subsection.matrix is not None and not _matrix_ready(subsection):
                    message = (
                        "a matrix holds radio or checkbox fields sharing their choices; "
                        "these differ: shown as a matrix all the same"
                    )
                    self.note(f"form {form.name}, matrix {subsection.matrix}", message)

    def _summaries(self) -> None:
        messages = {
            "alignment": "custom alignment ignored (the layout is Datacapt's)",
            "question": "survey question numbers ignored",
            "today": "'today' bounds became edit checks [field] > today or < today",
        }
        for key, message in messages.items():
            names = self.summaries.get(key, [])
            if names:
                self.note(
                    _counted(names, "field"), f"{message}: {_listed(names)}", FindingLevel.INFO
                )
        for tag, names in sorted(self.summaries.items()):
            if tag.startswith("@"):
                message = f"action tag {tag} kept in the annotation but not applied by Datacapt"
                self.note(
                    _counted(names, "field"), f"{message}: {_listed(names)}", FindingLevel.INFO
                )
        for event, names in sorted(self.events.items()):
            message = (
                f"logic refers to the event [{event}], which a dictionary cannot define: add a "
                f"visit named {event} before publication (used by {_listed(names)})"
            )
            self.note(f"event {event}", message, FindingLevel.INFO)

    # - one block

    def _block(self, row: _Row, name: str) -> Block:
        self._ignored_columns(row)
        self._action_tags(row, name)
        if row.alignment:
            self.summarize("alignment", name)
        if row.question:
            self.summarize("question", name)
        show_if = self._expression(row, row.logic, "branching logic", name)
        if row.type == "descriptive":
            content, had_html = _from_html(row.label, markdown=True)
            if had_html:
                self.note(row.where, "HTML of the text reduced to Markdown", FindingLevel.INFO)
            return Static(oid=f"T.{oid_part(name)}", content={LANGUAGE: content}, show_if=show_if)
        values: dict[str, Any] = {
            "oid": f"I.{oid_part(name)}",
            "name": name,
            "label": {LANGUAGE: self._plain(row, "label", row.label)},
            "help": self._text(row, "note", row.note),
            "required": self._flag(row, "required"),
            "identifier": self._flag(row, "identifier"),
            "annotation": row.annotation if row.annotation.strip() else None,
            "max_length": charlimit(row.annotation),
            "show_if": show_if,
        }
        values.update(getattr(self, f"_type_{row.type}")(row, name))
        return Item(**values)

    def _ignored_columns(self, row: _Row) -> None:
        for column, types in TYPE_COLUMNS.items():
            value = getattr(row, column)
            if value.strip() and row.type not in types:
                message = (
                    f"{COLUMN_TITLES[column]!r} is not used by a {row.type} field: "
                    f"{_quoted(value)} ignored"
                )
                self.note(row.where, message, FindingLevel.INFO)

    def _plain(self, row: _Row, column: str, raw: str) -> str:
        text, had_html = _from_html(raw, markdown=False)
        if had_html:
            message = f"HTML removed from the {column}, kept as text: {_quoted(raw)}"
            self.note(row.where, message, FindingLevel.INFO)
        return text

    def _text(self, row: _Row, column: str, raw: str) -> Text:
        text = self._plain(row, column, raw)
        return {LANGUAGE: text} if text else {}

    def _flag(self, row: _Row, column: str) -> bool:
        value = getattr(row, column).lower()
        if value in ("", "n", "no", "0"):
            return False
        if value not in ("y", "yes", "1"):
            message = f"{COLUMN_TITLES[column]!r} is {value!r}, neither 'y' nor empty: read as 'y'"
            self.note(row.where, message)
        return True

    def _action_tags(self, row: _Row, name: str) -> None:
        for tag in dict.fromkeys(_ACTION_TAG.findall(row.annotation)):
            if tag not in _APPLIED_TAGS:
                self.summarize(tag, name)

    def _expression(self, row: _Row, raw: str, what: str, name: str) -> str | None:
        source = raw.strip()
        if not source:
            return None
        try:
            expression = parse(_renamed(source, self.renames))
        except ExpressionError as error:
            message = f"{what} left out, it does not parse ({_expression_error(error)}): {source}"
            self.note(row.where, message)
            return None
        for visit in sorted({ref.visit for ref in references(expression) if ref.visit}):
            self.events.setdefault(visit, []).append(name)
        return to_text(expression)

    # - field types: the Item attributes each sets

    def _type_text(self, row: _Row, name: str) -> dict[str, Any]:
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

    def _type_notes(self, row: _Row, name: str) -> dict[str, Any]:
        return {"type": ItemType.LONG_TEXT}

    def _type_calc(self, row: _Row, name: str) -> dict[str, Any]:
        calculation = self._expression(row, row.choices, "calculation", name)
        if not row.choices.strip():
            self.note(row.where, "calculated field without a calculation")
        return {"type": ItemType.CALCULATED, "calculation": calculation}

    def _type_dropdown(self, row: _Row, name: str) -> dict[str, Any]:
        widget = "dropdown"
        if row.validation == "autocomplete":
            widget = "autocomplete"
        elif row.validation:
            message = f"validation {row.validation!r} does not apply to a drop-down: ignored"
            self.note(row.where, message, FindingLevel.INFO)
        return {"type": ItemType.SINGLE_CHOICE, "widget": widget, "choices": self._choices(row)}

    def _type_radio(self, row: _Row, name: str) -> dict[str, Any]:
        return {"type": ItemType.SINGLE_CHOICE, "widget": "radio", "choices": self._choices(row)}

    def _type_checkbox(self, row: _Row, name: str) -> dict[str, Any]:
        return {"type": ItemType.MULTIPLE_CHOICE, "choices": self._choices(row)}

    def _type_yesno(self, row: _Row, name: str) -> dict[str, Any]:
        return {"type": ItemType.YES_NO}

    def _type_truefalse(self, row: _Row, name: str) -> dict[str, Any]:
        return {"type": ItemType.TRUE_FALSE}

    def _type_file(self, row: _Row, name: str) -> dict[str, Any]:
        if row.validation not in ("", "signature"):
            message = f"validation {row.validation!r} does not apply to a file: ignored"
            self.note(row.where, message, FindingLevel.INFO)
        kind = "signature" if row.validation == "signature" else "file"
        return {"type": ItemType.FILE, "file_kind": kind}

    def _type_slider(self, row: _Row, name: str) -> dict[str, Any]:
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

    def _slider_bound(self, row: _Row, bound: Bound, default: int) -> int:
        value = getattr(row, bound)
        if not value:
            return default
        if re.fullmatch(r"[-+]?[0-9]+", value):
            return int(value)
        self.note(row.where, f"slider {bound} {value!r} is not a whole number: {default} used")
        return default

    def _choices(self, row: _Row) -> list[Choice]:
        """REDCap's "code, label | code, label": split on "|" then on the first comma."""
        choices: list[Choice] = []
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
            elif any(choice.code == code for choice in choices):
                self.note(row.where, f"choice code {code!r} given twice: the second left out")
            else:
                choices.append(
                    Choice(code=code, label={LANGUAGE: self._plain(row, "choice", label)})
                )
        if not choices:
            self.note(row.where, f"a {row.type} field without choices")
        return choices

    # - ranges

    def _ranges(self, row: _Row, name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Min/max as a soft range (REDCap warns and saves), or a hard one with @FORCE-MINMAX;
        a "today" bound on a date as an edit check of the same strength."""
        if not (row.min or row.max):
            return {}
        validation = values.get("validation")
        if validation not in RANGED:
            message = f"min/max ({row.min!r}, {row.max!r}) ignored: REDCap uses them only for "
            self.note(row.where, message + "numbers, dates and times")
            return {}
        forced = bool(_FORCE_MINMAX.search(row.annotation))
        bounds: dict[str, str | None] = {}
        checks: list[EditCheck] = []
        for bound in ("min", "max"):
            raw = getattr(row, bound)
            if raw.lower() in _TODAY and validation is Validation.DATE:
                checks.append(today_check(name, bound, forced))
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

    def _bound(self, row: _Row, bound: Bound, raw: str, values: Mapping[str, Any]) -> str | None:
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


def charlimit(annotation: str) -> int | None:
    """The @CHARLIMIT=N of an annotation: the item's maximum length."""
    found = _CHARLIMIT.search(annotation)
    return int(found.group(1)) if found and int(found.group(1)) > 0 else None


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


class _Layout:
    """A form being filled row by row: sections at headers, sub-sections at matrix changes."""

    def __init__(self, name: str) -> None:
        self.form = Form(oid=f"F.{oid_part(name)}", name=name, title={LANGUAGE: prettified(name)})
        self._key = oid_part(name)
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


def today_check(name: str, bound: Bound, forced: bool) -> EditCheck:
    """The edit check a "today" bound of a date becomes (recognised again on export)."""
    operator, message = (
        (">", "The date is after today.") if bound == "max" else ("<", "The date is before today.")
    )
    return EditCheck(
        oid=f"EC.{oid_part(name)}.{bound.upper()}",
        condition=to_text(parse(f"[{name}] {operator} today")),
        message={LANGUAGE: message},
        severity=Severity.BLOCKING if forced else Severity.WARNING,
    )


def read_dictionary(data: bytes) -> ImportResult:
    """A definition from a REDCap data dictionary (CSV), with findings on what was not mapped.

    Raises :class:`InterchangeError` only when nothing can be read: not text, not CSV, or no
    data dictionary header.
    """
    text, findings = _decode(data)
    records, found = _records(text)
    findings.extend(found)
    rows = _rows(records, findings)
    reader = _Reader(findings)
    definition = reader.definition(reader.select(rows))
    if not rows:
        findings.append(Finding("file", "the dictionary has no fields", FindingLevel.WARNING))
    return ImportResult(definition=definition, findings=findings)


# --- writing ---------------------------------------------------------------------------------


def redcap_validation(item: Item) -> tuple[str, str | None]:
    """REDCap's validation type for a text item, and what it loses (None when nothing)."""
    validation = item.validation
    if validation is None:
        return "", None
    if validation is Validation.NUMBER:
        return _number_validation(item)
    if validation is Validation.DATE:
        return f"date_{item.date_format or 'ymd'}", None
    if validation is Validation.DATETIME:
        seconds = "seconds_" if item.with_seconds else ""
        return f"datetime_{seconds}{item.date_format or 'ymd'}", None
    if validation is Validation.TIME:
        return ("time_hh_mm_ss" if item.with_seconds else "time"), None
    if validation is Validation.PHONE and item.pattern_name != "phone":
        return "", "REDCap's phone validation accepts North American numbers only: left out"
    if validation is Validation.REGEX:
        return _pattern_validation(item)
    simple = {
        Validation.INTEGER: "integer",
        Validation.EMAIL: "email",
        Validation.PHONE: "phone",
        Validation.TIME_MM_SS: "time_mm_ss",
    }
    if validation in simple:
        return simple[validation], None
    return "", f"REDCap has no {validation} validation: written as text without one"


def _number_validation(item: Item) -> tuple[str, str | None]:
    comma = "_comma_decimal" if item.decimal_comma else ""
    if item.decimals is None:
        return f"number{comma}", None
    if 1 <= item.decimals <= 4:
        return f"number_{item.decimals}dp{comma}", None
    if item.decimals == 0:
        return "integer", "a number without decimals is an integer in REDCap"
    return f"number{comma}", f"REDCap fixes 1 to 4 decimals, not {item.decimals}: any accepted"


def _pattern_validation(item: Item) -> tuple[str, str | None]:
    name = item.pattern_name
    if name not in PATTERNS:
        return "", f"REDCap takes no custom pattern ({item.pattern!r}) in a dictionary: left out"
    if item.pattern != PATTERNS[name]:
        return name, f"REDCap's {name} validation applies its own pattern, not {item.pattern!r}"
    return name, None


class _Writer:
    """One export: the rows of a definition, and findings on what they cannot carry."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self.language = definition.default_language
        self.findings: list[Finding] = []
        self.exported_checks: set[int] = set()  # ids of edit checks written as "today" bounds
        self.names = self._names()
        self.renames = {
            item.name: self.names[id(item)]
            for _form, item in definition.items()
            if self.names[id(item)] != item.name
        }

    def note(self, where: str, message: str, level: FindingLevel = FindingLevel.WARNING) -> None:
        self.findings.append(Finding(where, message, level))

    def text(self, text: Text) -> str:
        return text_in(text, self.language, self.language)

    def _names(self) -> dict[int, str]:
        """REDCap variable names by block; items keep theirs, descriptive fields take their
        OID's, and any clash or invalid name gets a unique valid one."""
        blocks = [block for form in self.definition.forms for block in form_blocks(form)]
        names: dict[int, str] = {}
        used: set[str] = set()
        for block in sorted(blocks, key=lambda block: isinstance(block, Static)):
            wanted = block.name if isinstance(block, Item) else block.oid.removeprefix("T.").lower()
            name = wanted if NAME_PATTERN.match(wanted) else variable_name(wanted)
            unique, number = name, 2
            while unique in used:
                unique, number = f"{name[:90]}_{number}", number + 1
            if unique != wanted:
                message = f"written as {unique}: {wanted!r} is not a free REDCap variable name"
                self.note(block.oid, message, FindingLevel.INFO)
            used.add(unique)
            names[id(block)] = unique
        return names

    # - the whole definition

    def rows(self) -> Iterator[list[str]]:
        self._definition_findings()
        for form in self.definition.forms:
            yield from self._form_rows(form)

    def _definition_findings(self) -> None:
        if self.language != LANGUAGE:
            message = (
                f"texts written in {self.language}: a dictionary does not say its language, "
                f"so they read back as {LANGUAGE}"
            )
            self.note("languages", message, FindingLevel.INFO)
        others = [lang for lang in self.definition.languages if lang != self.language]
        if others:
            message = (
                f"texts in {', '.join(others)} not exported: a dictionary holds one language "
                "(REDCap's Multi-Language Management imports translations)"
            )
            self.note("languages", message)
        schedule = self.definition.schedule
        if schedule.visits:
            names = [visit.name for visit in schedule.visits]
            message = f"{_counted(names, 'visit')} not exported (a dictionary has no events): "
            self.note("schedule", message + _listed(names) + "; define them as REDCap events")
        if schedule.unscheduled_allowed or schedule.unscheduled_forms:
            self.note("schedule", "unscheduled visits and their forms not exported")
        first = next((b for form in self.definition.forms for b in form_blocks(form)), None)
        if first is not None and not (isinstance(first, Item) and first.type is ItemType.TEXT):
            message = (
                "REDCap takes the first field as the record identifier: put a text field first"
            )
            self.note(first.oid, message)

    def _form_rows(self, form: Form) -> Iterator[list[str]]:
        name = form.name
        if not NAME_PATTERN.match(name):
            name = variable_name(name)
            self.note(form.oid, f"form written as {name}: {form.name!r} is no REDCap form name")
        if self.text(form.title) != prettified(name):
            message = f"form title {self.text(form.title)!r} not exported: a dictionary names forms"
            self.note(form.oid, message + f" only ({name})")
        if form.repeating:
            self.note(form.oid, "repeating form: make the instrument repeating in REDCap's setup")
        if next(form_blocks(form), None) is None:
            self.note(form.oid, "form without fields not exported: REDCap needs at least one")
        started = False
        for section in form.sections:
            header = self.text(section.title)
            blocks = [block for sub in section.subsections for block in sub.blocks]
            self._section_findings(section, header, started, bool(blocks))
            cell = _cell(header, plain_text)
            previous: SubSection | None = None
            for subsection in section.subsections:
                self._subsection_findings(subsection, previous)
                for block in subsection.blocks:
                    yield self._row(name, block, cell, subsection.matrix)
                    cell = ""
                previous = subsection if subsection.blocks else previous
            started = started or bool(blocks)

    def _section_findings(self, section: Section, header: str, started: bool, filled: bool) -> None:
        if section.show_if:
            message = f"section condition {section.show_if!r} not exported: REDCap has none"
            self.note(section.oid, message + " (give it to each field)")
        if header and not filled:
            self.note(section.oid, f"section {header!r} has no field to carry it: not exported")
        elif not header and started and filled:
            message = "untitled section joined to the previous one: REDCap starts sections at "
            self.note(section.oid, message + "headers", FindingLevel.INFO)

    def _subsection_findings(self, subsection: SubSection, previous: SubSection | None) -> None:
        where = subsection.oid
        if subsection.title:
            self.note(where, f"sub-section title {self.text(subsection.title)!r} not exported")
        if subsection.show_if:
            message = f"sub-section condition {subsection.show_if!r} not exported: REDCap has "
            self.note(where, message + "none (give it to each field)")
        if subsection.repeating:
            message = "repeating sub-section not exported as such: REDCap repeats whole forms"
            self.note(where, message)
        if previous is not None and subsection.blocks and previous.matrix == subsection.matrix:
            what = f"matrix groups {subsection.matrix}" if subsection.matrix else "sub-sections"
            self.note(
                where, f"adjacent {what} joined: REDCap cannot tell them apart", FindingLevel.INFO
            )
        if subsection.matrix and not _matrix_ready(subsection):
            message = "REDCap accepts in a matrix only radio or checkbox fields with the same "
            self.note(where, message + "choices: the upload will refuse this group")

    # - one row

    def _row(self, form: str, block: Block, header: str, matrix: str | None) -> list[str]:
        cells = dict.fromkeys(COLUMNS, "")
        cells.update(name=self.names[id(block)], form=form, section=header, matrix=matrix or "")
        cells["logic"] = self._expression(block.show_if, block.oid, "branching logic")
        if isinstance(block, Static):
            cells.update(type="descriptive", label=_cell(self.text(block.content), markdown_text))
        else:
            self._item_cells(block, cells)
        return [cells[column] for column in COLUMNS]

    def _item_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["label"] = _cell(self.text(item.label), plain_text)
        cells["note"] = _cell(self.text(item.help), plain_text)
        cells["identifier"] = "y" if item.identifier else ""
        cells["required"] = "y" if item.required else ""
        forced = None
        if item.type is ItemType.TEXT:
            forced = self._text_cells(item, cells)
        else:
            getattr(self, f"_{item.type.value}_cells")(item, cells)
        cells["annotation"] = self._annotation(item, forced)
        self._lost(item)

    def _text_cells(self, item: Item, cells: dict[str, str]) -> bool | None:
        cells["type"] = "text"
        cells["validation"], problem = redcap_validation(item)
        if problem:
            self.note(item.oid, problem)
        return self._ranges(item, cells)

    def _long_text_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["type"] = "notes"

    def _calculated_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["type"] = "calc"
        cells["choices"] = self._expression(item.calculation, item.oid, "calculation")
        if not item.calculation:
            self.note(item.oid, "calculated item without a calculation: REDCap needs one")

    def _single_choice_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["type"] = "radio" if item.widget in (None, "radio") else "dropdown"
        cells["validation"] = "autocomplete" if item.widget == "autocomplete" else ""
        cells["choices"] = self._choices(item)

    def _multiple_choice_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells.update(type="checkbox", choices=self._choices(item))

    def _yes_no_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["type"] = "yesno"

    def _true_false_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["type"] = "truefalse"

    def _file_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["type"] = "file"
        cells["validation"] = "signature" if item.file_kind == "signature" else ""

    def _acknowledgement_cells(self, item: Item, cells: dict[str, str]) -> None:
        label = _cell(self.text(item.label), plain_text, pipes=True)
        cells.update(type="checkbox", choices=f"1, {label}")
        message = "an acknowledgement is written as a checkbox with one choice (1): it reads "
        self.note(item.oid, message + "back as a multiple choice")

    def _slider_cells(self, item: Item, cells: dict[str, str]) -> None:
        slider = item.slider or DEFAULT_SLIDER
        labels = [
            _cell(self.text(text), plain_text, pipes=True)
            for text in (slider.left, slider.middle, slider.right)
        ]
        cells["type"] = "slider"
        cells["choices"] = " | ".join(labels) if any(labels) else ""
        cells["validation"] = "number" if slider.show_number else ""
        cells["min"] = str(slider.min) if slider.min != DEFAULT_SLIDER.min else ""
        cells["max"] = str(slider.max) if slider.max != DEFAULT_SLIDER.max else ""

    def _choices(self, item: Item) -> str:
        parts = []
        for choice in item.choices:
            code = choice.code
            if not code or code != code.strip() or "," in code or "|" in code:
                message = f"choice code {code!r} cannot be written (empty, spaces, ',' or '|'): "
                self.note(item.oid, message + "left out")
                continue
            parts.append(f"{code}, {_cell(self.text(choice.label), plain_text, pipes=True)}")
        return " | ".join(parts)

    def _expression(self, text: str | None, where: str, what: str) -> str:
        if not text:
            return ""
        try:
            expression = parse(_renamed(text, self.renames))
        except ExpressionError as error:
            message = f"{what} does not parse ({_expression_error(error)}): written as it is"
            self.note(where, message)
            return text
        return to_text(expression)

    # - ranges, action tags and what a dictionary cannot hold

    def _ranges(self, item: Item, cells: dict[str, str]) -> bool | None:
        """Fill min/max; whether REDCap must refuse values out of them (@FORCE-MINMAX), None
        when there are none (the annotation's tag is then left as it is)."""
        hard, soft = item.hard_range, item.soft_range
        if item.validation not in RANGED:
            if hard or soft:
                self.note(item.oid, "range not exported: REDCap ranges numbers, dates and times")
            return None
        written = hard or soft
        if hard and soft:
            forced = bool(_FORCE_MINMAX.search(item.annotation or ""))
            written = hard if forced else soft
            lost = "soft" if forced else "hard"
            self.note(item.oid, f"the {lost} range not exported: REDCap has one range per field")
        todays = self._today_checks(item)
        if written is None:
            forced = any(check.severity is Severity.BLOCKING for check in todays.values())
        else:
            forced = written is hard
        for bound in ("min", "max"):
            value = getattr(written, bound) if written else None
            check = todays.get(bound)
            if (
                value is None
                and check is not None
                and check == today_check(item.name, bound, forced)
            ):
                value = "today"
                self.exported_checks.add(id(check))
            cells[bound] = value or ""
        return forced if cells["min"] or cells["max"] else None

    def _today_checks(self, item: Item) -> dict[str, EditCheck]:
        """The edit checks that are a "today" bound read from REDCap, by bound."""
        if not NAME_PATTERN.match(item.name):
            return {}
        found: dict[str, EditCheck] = {}
        for check in item.edit_checks:
            for bound in ("min", "max"):
                if check in (today_check(item.name, bound, forced) for forced in (False, True)):
                    found.setdefault(bound, check)
        return found

    def _annotation(self, item: Item, forced: bool | None) -> str:
        """The annotation, with @FORCE-MINMAX and @CHARLIMIT agreeing with the item."""
        annotation = item.annotation or ""
        if forced is not None and bool(_FORCE_MINMAX.search(annotation)) != forced:
            annotation = _with_tag(annotation, _FORCE_MINMAX, "@FORCE-MINMAX" if forced else None)
            message = "@FORCE-MINMAX " + ("added: the range is hard" if forced else "removed")
            self.note(item.oid, message, FindingLevel.INFO)
        if charlimit(annotation) != item.max_length:
            tag = f"@CHARLIMIT={item.max_length}" if item.max_length else None
            annotation = _with_tag(annotation, _CHARLIMIT, tag)
            self.note(
                item.oid, f"annotation's @CHARLIMIT set to {tag or 'none'}", FindingLevel.INFO
            )
        return annotation

    def _lost(self, item: Item) -> None:
        """What the item holds and no dictionary column can."""
        if item.units:
            message = f"units {item.units!r} not exported: REDCap has no units column (give "
            self.note(item.oid, message + "them in the label or the field note)")
        if item.missing_codes_allowed:
            message = "missing data codes not exported: REDCap sets them for the whole project"
            self.note(item.oid, message)
        for alias in item.aliases:
            self.note(item.oid, f"alias {alias.context} {alias.name!r} not exported")
        for check in item.edit_checks:
            if id(check) not in self.exported_checks:
                message = f"edit check {check.condition!r} not exported: REDCap keeps data "
                self.note(check.oid, message + "quality rules apart from the dictionary")
        if item.type is not ItemType.TEXT and item.validation is not None:
            self.note(item.oid, f"{item.validation} validation of a {item.type} item not exported")
        if item.type is not ItemType.TEXT and (item.hard_range or item.soft_range):
            self.note(item.oid, f"range of a {item.type} item not exported")
        if item.type is not ItemType.CALCULATED and item.calculation:
            self.note(item.oid, f"calculation of a {item.type} item not exported")
        if item.choices and item.type not in (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_CHOICE):
            message = f"choices of a {item.type} item not exported: REDCap's are fixed"
            self.note(item.oid, message)


def _with_tag(annotation: str, pattern: re.Pattern[str], tag: str | None) -> str:
    kept = pattern.sub("", annotation).strip()
    return " ".join(part for part in (kept, tag) if part)


def _matrix_ready(subsection: SubSection) -> bool:
    """Whether REDCap takes the group as a matrix: radio or checkbox fields, same choices."""
    shapes = {
        (block.type, block.widget, tuple((c.code, tuple(c.label.items())) for c in block.choices))
        if isinstance(block, Item)
        else None
        for block in subsection.blocks
    }
    return len(shapes) == 1 and all(
        shape is not None
        and shape[0] in (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_CHOICE)
        and shape[1] in (None, "radio")
        for shape in shapes
    )


def write_dictionary(definition: Definition) -> tuple[str, list[Finding]]:
    """The REDCap data dictionary (CSV text) of a definition, and what it could not carry.

    One row per item or static in order; a section's title heads its first field, a matrix
    sub-section names its fields' matrix group. The text is to be encoded as UTF-8.
    """
    writer = _Writer(definition)
    buffer = io.StringIO(newline="")
    output = csv.writer(buffer)
    output.writerow(HEADER)
    output.writerows(writer.rows())
    return buffer.getvalue(), writer.findings
