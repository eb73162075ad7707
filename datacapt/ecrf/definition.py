"""The design of a study version: forms, their structure and items, and the visit schedule.

A version's design is one document, stored as JSON on its row (``StudyVersion.definition``): a
published version is frozen as a whole, a new draft starts as a copy, and two versions compare
item by item through their OIDs, which never change once given. The tree is

    Definition → Form → Section → SubSection → Block (Item | Static)
    Definition → Schedule → Visit (→ form names)

Texts shown to people are :data:`Text` — a mapping language → text — so every label, help text
and choice can be translated (en, fr, de, pl, ...). Expressions (branching, calculations, edit
checks) are kept as text in the language of :mod:`datacapt.expressions` and checked when a
version is published.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

SCHEMA_VERSION = 1
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,99}$")

#: Language code → text. The definition's default language always has an entry.
Text = dict[str, str]


class ItemType(enum.StrEnum):
    TEXT = "text"  # one line, optionally validated (see Validation)
    LONG_TEXT = "long_text"
    SINGLE_CHOICE = "single_choice"  # radio buttons or a drop-down list (Item.widget)
    MULTIPLE_CHOICE = "multiple_choice"  # checkboxes
    YES_NO = "yes_no"  # codes 1 = yes, 0 = no
    TRUE_FALSE = "true_false"  # codes 1 = true, 0 = false
    SLIDER = "slider"  # a whole number between Slider.min and Slider.max
    CALCULATED = "calculated"  # Item.calculation, never typed in
    FILE = "file"  # an uploaded file, or a drawn signature (Item.file_kind)
    ACKNOWLEDGEMENT = "acknowledgement"  # one tick box: "I have read ..."


class Validation(enum.StrEnum):
    """What a TEXT item accepts. Values are stored in a canonical form (ISO dates, '.' decimals)
    whatever the display format."""

    INTEGER = "integer"
    NUMBER = "number"  # Item.decimals: exact number of decimals, or None for any
    EMAIL = "email"
    PHONE = "phone"
    DATE = "date"  # Item.date_format: how it is shown and typed; Item.partial_dates
    DATETIME = "datetime"  # Item.with_seconds
    TIME = "time"  # HH:MM, or HH:MM:SS with Item.with_seconds
    TIME_MM_SS = "time_mm_ss"  # a duration in minutes and seconds
    PARTIAL_DATE = "partial_date"  # YYYY, YYYY-MM or YYYY-MM-DD (unknown day or month)
    REGEX = "regex"  # Item.pattern; Item.pattern_name names a known pattern (postal codes ...)


class SdvRequirement(enum.StrEnum):
    """How much of a form monitors verify against the source (OpenClinica's SDV requirement)."""

    ALL = "all"  # 100 %
    NONE = "none"  # not required
    TARGETED = "targeted"  # only the items listed in ``Form.sdv_items``


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"  # shown, kept, turned into a query by monitoring
    BLOCKING = "blocking"  # the save is refused


DateFormat = Literal["dmy", "mdy", "ymd"]
Widget = Literal["radio", "dropdown", "autocomplete"]


@dataclass(slots=True)
class Choice:
    code: str
    label: Text
    exclusive: bool = False  # checkboxes: "None of these", chosen alone or not at all


@dataclass(slots=True)
class Range:
    """Inclusive bounds as text: numbers ("18", "2.5") or ISO dates/times for temporal items."""

    min: str | None = None
    max: str | None = None


@dataclass(slots=True)
class Slider:
    min: int = 0
    max: int = 100
    left: Text = field(default_factory=dict)
    middle: Text = field(default_factory=dict)
    right: Text = field(default_factory=dict)
    show_number: bool = False


@dataclass(slots=True)
class Alias:
    """A name of the item in another standard: context "CDASH", "SDTM", "LOINC" ..."""

    context: str
    name: str


@dataclass(slots=True)
class EditCheck:
    """When ``condition`` is true the data is suspect: show ``message`` with ``severity``."""

    oid: str
    condition: str
    message: Text
    severity: Severity = Severity.WARNING


@dataclass(slots=True)
class Item:
    oid: str
    name: str  # the variable name expressions use: [name]; unique in the definition
    type: ItemType
    label: Text
    kind: Literal["item"] = "item"
    help: Text = field(default_factory=dict)
    units: str | None = None
    required: bool = False
    identifier: bool = False  # personal data (PII): hidden from roles without VIEW_PII
    missing_codes_allowed: bool = False
    validation: Validation | None = None
    decimals: int | None = None
    date_format: DateFormat | None = None
    with_seconds: bool = False
    partial_dates: bool = False  # a DATE item takes an unknown day or month (UK/03/1970)
    decimal_comma: bool = False
    pattern: str | None = None
    pattern_name: str | None = None
    max_length: int | None = None
    choices: list[Choice] = field(default_factory=list)
    widget: Widget | None = None
    slider: Slider | None = None
    file_kind: Literal["file", "signature"] | None = None
    calculation: str | None = None
    show_if: str | None = None
    hard_range: Range | None = None
    soft_range: Range | None = None
    edit_checks: list[EditCheck] = field(default_factory=list)
    aliases: list[Alias] = field(default_factory=list)
    annotation: str | None = None


@dataclass(slots=True)
class Static:
    """Text shown between questions (instructions, headings); Markdown, rendered safely."""

    oid: str
    content: Text
    kind: Literal["static"] = "static"
    show_if: str | None = None


Block = Union[Item, Static]  # noqa: UP007 (the converter reads the Union)


@dataclass(slots=True)
class SubSection:
    oid: str
    title: Text = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    show_if: str | None = None
    repeating: bool = False  # a log: rows added as needed (adverse events, medications)
    matrix: str | None = None  # shown as a grid of items sharing their choices (REDCap matrix)


@dataclass(slots=True)
class Section:
    oid: str
    title: Text = field(default_factory=dict)
    subsections: list[SubSection] = field(default_factory=list)
    show_if: str | None = None


@dataclass(slots=True)
class Form:
    oid: str
    name: str  # unique in the definition; used in URLs and exports
    title: Text
    sections: list[Section] = field(default_factory=list)
    repeating: bool = False  # the whole form repeats within a visit (log form)
    sdv: SdvRequirement = SdvRequirement.ALL
    sdv_items: list[str] = field(default_factory=list)  # item names, for targeted SDV
    #: A questionnaire the subject fills in themself through their link (ePRO): one page per
    #: section, the same branching and calculations.
    epro: bool = False
    #: An ePRO questionnaire shown one question per screen (Next/Back) rather than a page
    #: per section.
    one_per_screen: bool = False


@dataclass(slots=True)
class Visit:
    oid: str
    name: str  # the visit name expressions use: [name][field]
    title: Text
    day: int | None = None  # planned day relative to day 0 (inclusion), None: not scheduled
    window_before: int = 0  # days allowed before the planned day
    window_after: int = 0
    repeating: bool = False
    forms: list[str] = field(default_factory=list)  # form names, in order
    #: The visit whose actual date its day counts from (its own day subtracted); None: day 0,
    #: the subject's inclusion date.
    anchor: str | None = None


@dataclass(slots=True)
class Schedule:
    visits: list[Visit] = field(default_factory=list)
    unscheduled_allowed: bool = False
    unscheduled_forms: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Definition:
    default_language: str = "en"
    languages: list[str] = field(default_factory=lambda: ["en"])
    forms: list[Form] = field(default_factory=list)
    schedule: Schedule = field(default_factory=Schedule)
    schema: int = SCHEMA_VERSION

    # --- walking the tree ------------------------------------------------------------------

    def form(self, name: str) -> Form | None:
        return next((form for form in self.forms if form.name == name), None)

    def items(self) -> Iterator[tuple[Form, Item]]:
        for form in self.forms:
            for item in form_items(form):
                yield form, item

    def item(self, name: str) -> Item | None:
        return next((item for _form, item in self.items() if item.name == name), None)

    def oids(self) -> Iterator[str]:
        """Every OID in the definition (forms, sections, sub-sections, blocks, checks, visits)."""
        for form in self.forms:
            yield form.oid
            for section in form.sections:
                yield section.oid
                for subsection in section.subsections:
                    yield subsection.oid
                    for block in subsection.blocks:
                        yield block.oid
                        if isinstance(block, Item):
                            yield from (check.oid for check in block.edit_checks)
        yield from (visit.oid for visit in self.schedule.visits)


def form_blocks(form: Form) -> Iterator[Block]:
    for section in form.sections:
        for subsection in section.subsections:
            yield from subsection.blocks


def form_items(form: Form) -> list[Item]:
    """The form's questions, in page order (static text left out); a published form's found
    once per process (a save asks for them several times), a draft's afresh."""
    found = _ITEMS.get(id(form))
    if found is not None and found[0] is form:
        return list(found[1])
    return [
        block
        for section in form.sections
        for subsection in section.subsections
        for block in subsection.blocks
        if isinstance(block, Item)
    ]


def file_items(form: Form) -> tuple[Item, ...]:
    """The form's file items, in page order; a published form's found once per process (every
    form page asks whether it has some)."""
    found = _ITEMS.get(id(form))
    if found is not None and found[0] is form:
        return found[2]
    return tuple(item for item in form_items(form) if item.type is ItemType.FILE)


#: By ``id``, the items of published versions' forms, each with its form (its ``id`` is not
#: reused while it is kept). Bounded: cleared when full.
_ITEMS: dict[int, tuple[Form, tuple[Item, ...], tuple[Item, ...]]] = {}  # form, items, files
ITEMS_LIMIT = 4096


def keep_published_items(forms: list[Form]) -> None:
    """Keep the items of a published version's forms (never changed: the database refuses
    it); a draft's forms may change, and are read each time."""
    if len(_ITEMS) + len(forms) > ITEMS_LIMIT:
        _ITEMS.clear()
    for form in forms:
        items = tuple(form_items(form))
        files = tuple(item for item in items if item.type is ItemType.FILE)
        _ITEMS[id(form)] = (form, items, files)


def text_in(text: Text, language: str, default_language: str) -> str:
    """The text in ``language``, else in the default language, else any."""
    return text.get(language) or text.get(default_language) or next(iter(text.values()), "")


# --- JSON ---------------------------------------------------------------------------------


class DefinitionFormatError(ValueError):
    """Stored or imported JSON that does not describe a definition."""


def to_json(definition: Definition) -> dict[str, Any]:
    """A JSON-ready dict; defaults are written too, so stored documents are explicit."""
    return _dump(definition)


def to_json_text(definition: Definition) -> str:
    """The same document as ``json.dumps(to_json(definition))``, encoded straight from the
    objects: each object's dict lives only while it is written, so a design of a hundred
    thousand choices is not held a second time as dicts (issue 15's memory bound)."""
    return json.dumps(definition, default=_fields_of, ensure_ascii=False, separators=(",", ":"))


def _fields_of(value: Any) -> Any:
    names = _FIELD_NAMES.get(type(value))
    if names is None:
        if not is_dataclass(value):
            raise TypeError(f"{type(value).__name__} is not part of a definition")
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in fields(value))
    return {name: getattr(value, name) for name in names}


def from_json(data: dict[str, Any]) -> Definition:
    if not isinstance(data, dict):
        raise DefinitionFormatError("a definition is a JSON object")
    if data.get("schema", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise DefinitionFormatError(f"unknown definition schema {data.get('schema')!r}")
    return _load(Definition, data, "definition")


_SCALARS = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _dump(value: Any) -> Any:
    """Dispatched on the exact type, field names read once per class: a design with a hundred
    thousand choices is dumped in linear time without asking ``is_dataclass`` of each string."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return [_dump(v) for v in value]
    if kind is dict:
        return {k: _dump(v) for k, v in value.items()}
    names = _FIELD_NAMES.get(kind)
    if names is None:
        if isinstance(value, enum.Enum):
            return value.value
        if not is_dataclass(kind):
            return value
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return {name: _dump(getattr(value, name)) for name in names}


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _load(kind: Any, data: Any, where: str) -> Any:
    origin = get_origin(kind)
    if is_dataclass(kind):
        if not isinstance(data, dict):
            raise DefinitionFormatError(f"{where}: expected an object")
        hints = _hints(kind)
        unknown = set(data) - set(hints)
        if unknown:
            raise DefinitionFormatError(f"{where}: unknown keys {sorted(unknown)}")
        values = {
            name: _load(hints[name], data[name], f"{where}.{name}")
            for name in hints
            if name in data
        }
        try:
            return kind(**values)
        except TypeError as error:
            raise DefinitionFormatError(f"{where}: {error}") from None
    if origin in (Union, UnionType):
        options = get_args(kind)
        if data is None and type(None) in options:
            return None
        if isinstance(data, dict) and "kind" in data:  # Block: dispatch on the discriminator
            for option in options:
                if is_dataclass(option) and _hints(option).get("kind") == Literal[data["kind"]]:
                    return _load(option, data, where)
            raise DefinitionFormatError(f"{where}: unknown kind {data['kind']!r}")
        non_null = [o for o in options if o is not type(None)]
        return _load(non_null[0], data, where)
    if origin is list:
        if not isinstance(data, list):
            raise DefinitionFormatError(f"{where}: expected a list")
        (element,) = get_args(kind)
        return [_load(element, v, f"{where}[{i}]") for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise DefinitionFormatError(f"{where}: expected texts by language")
        return dict(data)
    if origin is Literal:
        if data not in get_args(kind):
            raise DefinitionFormatError(f"{where}: {data!r} is not one of {get_args(kind)}")
        return data
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(data)
        except ValueError:
            raise DefinitionFormatError(f"{where}: {data!r} is not a {kind.__name__}") from None
    if kind is bool and isinstance(data, bool):
        return data
    if kind is int and isinstance(data, int) and not isinstance(data, bool):
        return data
    if kind is str and isinstance(data, str):
        return data
    raise DefinitionFormatError(f"{where}: expected {getattr(kind, '__name__', kind)}")
