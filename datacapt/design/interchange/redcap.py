"""REDCap data dictionaries: what reading and writing share — the columns, field and validation
types, action tags, and text between REDCap's HTML and plain text or Markdown."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from html.parser import HTMLParser
from typing import Literal

from datacapt.design.interchange.findings import (
    oid_part,
)
from datacapt.ecrf.definition import (
    EditCheck,
    Item,
    ItemType,
    Severity,
    Slider,
    SubSection,
    Validation,
)
from datacapt.expressions import ExpressionError, parse, to_text

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

DEFAULT_SLIDER = Slider()  # REDCap's slider: 0 to 100 when min/max are empty

#: Validations REDCap gives a min/max to (others ignore the columns).
RANGED = {
    Validation.INTEGER,
    Validation.NUMBER,
    Validation.DATE,
    Validation.DATETIME,
    Validation.TIME,
}

CHARLIMIT = re.compile(r"""@CHARLIMIT\s*=\s*["']?([0-9]+)["']?""")

FORCE_MINMAX = re.compile(r"@FORCE-MINMAX\b")

TAG = re.compile(r"<(?:/?[A-Za-z][^<>]*|!--.*?--)>", re.DOTALL)

BRACKET_OR_STRING = re.compile(r"""'[^']*'|"[^"]*"|\[([^\[\]()]*)""")

LISTED = 10  # names quoted in a summary finding before "…"

Bound = Literal["min", "max"]


class HTMLText(HTMLParser):
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


def normalized(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def from_html(raw: str, markdown: bool) -> tuple[str, bool]:
    """A cell's text, and whether HTML tags were removed. Entities are always decoded, as REDCap
    shows them decoded; the result is stripped and has "\\n" line breaks."""
    if not TAG.search(raw):
        return normalized(html.unescape(raw)), False
    parser = HTMLText(markdown)
    parser.feed(_unopened(raw))
    return normalized(parser.text()), True


def _unopened(raw: str) -> str:
    """``raw`` with every "<" after its last ">" written as ``&lt;``: such a "<" opens no tag
    (the parser gives it back as text either way), but Python 3.11's HTMLParser scans on from
    each one to the end of the cell, so a cell of "<a <a <a …" or "<!--<!--…" took time growing
    with the square of its length (4.8 s for 24,000 characters)."""
    end = raw.rfind(">")
    return raw[: end + 1] + raw[end + 1 :].replace("<", "&lt;")


def plain_text(raw: str) -> str:
    """A label, note, choice or section header as the plain text it shows."""
    return from_html(raw, markdown=False)[0]


def markdown_text(raw: str) -> str:
    """A descriptive field's label as Markdown."""
    return from_html(raw, markdown=True)[0]


def cell_text(text: str, read: Callable[[str], str], *, pipes: bool = False) -> str:
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


def counted(things: list[str], noun: str) -> str:
    return f"{len(things)} {noun}{'' if len(things) == 1 else 's'}"


def listed(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (", …" if len(names) > LISTED else "")


def renamed(text: str, names: Mapping[str, str]) -> str:
    """``text`` with its references to renamed fields changed, before parsing: the old names
    are not valid names, so the parser would refuse them."""
    if not names:
        return text

    def swap(found: re.Match[str]) -> str:
        name = found.group(1)
        return f"[{names[name]}" if name in names else found.group(0)

    return BRACKET_OR_STRING.sub(swap, text)


def expression_error(error: ExpressionError) -> str:
    if error.position is None:
        return error.message
    return f"{error.message} (line {error.position.line}, column {error.position.column})"


@dataclass
class Row:
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
    def of(cls, line: int, cells: list[str]) -> Row:
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
COLUMNS = tuple(column.name for column in fields(Row))[1:]


def charlimit(annotation: str) -> int | None:
    """The @CHARLIMIT=N of an annotation: the item's maximum length."""
    found = CHARLIMIT.search(annotation)
    return int(found.group(1)) if found and int(found.group(1)) > 0 else None


def today_check(name: str, bound: Bound, forced: bool, language: str = LANGUAGE) -> EditCheck:
    """The edit check a "today" bound of a date becomes (recognised again on export)."""
    operator, message = (
        (">", "The date is after today.") if bound == "max" else ("<", "The date is before today.")
    )
    return EditCheck(
        oid=f"EC.{oid_part(name)}.{bound.upper()}",
        condition=to_text(parse(f"[{name}] {operator} today")),
        message={language: message},
        severity=Severity.BLOCKING if forced else Severity.WARNING,
    )


def matrix_ready(subsection: SubSection) -> bool:
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
