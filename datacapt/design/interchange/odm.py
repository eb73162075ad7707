"""CDISC ODM 1.3.2 study metadata: what the importer (:mod:`.odm_reader`) and the exporter
(:mod:`.odm_writer`) share, starting with how a design is written in ODM.

Reading is :func:`.odm_reader.read_metadata` (tolerant: any ODM 1.3 metadata, with findings for
what is not kept); writing is :func:`.odm_writer.write_metadata` (strict: the document is
validated against the shipped XSD before it is returned).

Standard ODM carries most of a design:

=========================  ===============================================================
Datacapt                   ODM 1.3.2
=========================  ===============================================================
Visit                      StudyEventDef (OID, Name = name, Description = title, Repeating,
                           Type Scheduled, or Common when it has no planned day), listed in
                           Protocol/StudyEventRef; its forms are FormRefs
unscheduled visits         one StudyEventDef Type="Unscheduled" marked ``datacapt:unscheduled``
Form                       FormDef (OID, Name = name, Description = title, Repeating)
SubSection                 ItemGroupDef (OID, Description = title, Repeating) and the
                           ItemGroupRef of its form (show_if → CollectionExceptionConditionOID)
Item                       ItemDef (OID, Name = name, DataType, Length = max_length,
                           SignificantDigits = decimals, Description = help, Question = label,
                           MeasurementUnitRef = units, RangeCheck GE/LE Soft/Hard = ranges,
                           CodeListRef = choices, Alias = aliases) and its ItemRef
                           (Mandatory = required, MethodOID = calculation,
                           CollectionExceptionConditionOID = show_if)
Static                     ItemDef DataType="text", Question = content, ``datacapt:static``
show_if                    ConditionDef, FormalExpression Context="datacapt": ``not (<show_if>)``
                           (ODM's condition says when *not* to collect)
calculation                MethodDef Type="Computation", FormalExpression Context="datacapt"
EditCheck                  ConditionDef OID = check OID, FormalExpression = condition,
                           Description = message; tied to its item (see below)
units                      BasicDefinitions/MeasurementUnit (Name and Symbol = the text)
=========================  ===============================================================

What ODM has no element for travels in ``Alias`` elements whose Context starts with
``datacapt:``; the schema allows one Alias per Context on an element, hence the numbered and
per-language contexts. Booleans are written only when true (Name "yes"); the item's type,
validation and widget only when they differ from what the importer infers from DataType,
CodeListRef and MethodOID (:func:`inferred_kind`), so a plain ODM reader still sees the design.

==================================  ===========================================================
Context                             Name
==================================  ===========================================================
on Protocol
``datacapt:languages``              the definition's languages, space-separated, in order
``datacapt:default-language``       the default language
on StudyEventDef
``datacapt:day``                    planned day (absent: not scheduled)
``datacapt:window``                 ``<days before> <days after>``
``datacapt:unscheduled``            ``yes``/``no`` (unscheduled visits allowed); the event is
                                    the schedule's unscheduled slot, not a visit
on ItemGroupDef
``datacapt:section``                OID of the section the group belongs to (on every group;
                                    consecutive groups with one OID form the section)
``datacapt:section-title:<lang>``   the section's title, one per language (first group)
``datacapt:section-show-if``        the section's show_if (first group)
``datacapt:empty-section``          ``yes``: the group only stands for a section without
                                    sub-sections (its OID is the section's)
``datacapt:matrix``                 SubSection.matrix
on ItemDef
``datacapt:static``                 ``yes``: a Static block, not an item
``datacapt:type``                   ItemType, when not the inferred one
``datacapt:validation``             Validation or ``none``, when not the inferred one
``datacapt:widget``                 Widget or ``none``, when not the inferred one
``datacapt:identifier``             ``yes``
``datacapt:missing-codes``          ``yes``
``datacapt:date-format``            ``dmy``/``mdy``/``ymd``
``datacapt:with-seconds``           ``yes``
``datacapt:partial-dates``          ``yes``: a date item that takes UK/UNK (DataType partialDate)
``datacapt:decimal-comma``          ``yes``
``datacapt:pattern``                the regular expression
``datacapt:pattern-name``           the named pattern
``datacapt:slider``                 ``<min> <max> <yes|no: show the number>``
``datacapt:slider-<part>:<lang>``   the slider's left/middle/right label, one per language
``datacapt:file-kind``              ``file``/``signature``
``datacapt:annotation``             Item.annotation
``datacapt:edit-check:<n>``         ``<check OID> <severity>``, n = 1, 2, … in order; the check's
                                    ConditionDef holds condition and message
``datacapt:alias:<n>``              JSON ``[context, name]`` of the n-th (1-based) alias when it
                                    cannot be a plain Alias (Context repeated on the item, or
                                    starting with ``datacapt:``)
==================================  ===========================================================
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from datacapt.ecrf.definition import ItemType, Validation, Widget

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = f"{{{XML_NS}}}lang"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "odm-1.3.2" / "ODM1-3-2.xsd"
#: ODM 1.3.2 with the one extension a design export may carry: REDCap's logic on ItemDef.
EXTENDED_SCHEMA_PATH = (
    Path(__file__).parent / "schemas" / "redcap-extension" / "ODM1-3-2-redcap.xsd"
)
REDCAP_NS = "https://projectredcap.org"
REDCAP_BRANCHING = f"{{{REDCAP_NS}}}BranchingLogic"
REDCAP_CALCULATION = f"{{{REDCAP_NS}}}Calculation"
XPATH_CONTEXT = "XPath"

#: FormalExpression Context of expressions written in Datacapt's own language.
DATACAPT_CONTEXT = "datacapt"
ALIAS_PREFIX = "datacapt:"
YES = "yes"
NO = "no"
NONE = "none"

# Alias contexts (see the module docstring).
LANGUAGES = "datacapt:languages"
DEFAULT_LANGUAGE = "datacapt:default-language"
DAY = "datacapt:day"
WINDOW = "datacapt:window"
UNSCHEDULED = "datacapt:unscheduled"
SECTION = "datacapt:section"
SECTION_TITLE = "datacapt:section-title:"
SECTION_SHOW_IF = "datacapt:section-show-if"
EMPTY_SECTION = "datacapt:empty-section"
MATRIX = "datacapt:matrix"
STATIC = "datacapt:static"
TYPE = "datacapt:type"
VALIDATION = "datacapt:validation"
WIDGET = "datacapt:widget"
IDENTIFIER = "datacapt:identifier"
MISSING_CODES = "datacapt:missing-codes"
DATE_FORMAT = "datacapt:date-format"
WITH_SECONDS = "datacapt:with-seconds"
PARTIAL_DATES = "datacapt:partial-dates"
DECIMAL_COMMA = "datacapt:decimal-comma"
PATTERN = "datacapt:pattern"
PATTERN_NAME = "datacapt:pattern-name"
SLIDER = "datacapt:slider"
SLIDER_PARTS = ("left", "middle", "right")
FILE_KIND = "datacapt:file-kind"
ANNOTATION = "datacapt:annotation"
EDIT_CHECK = "datacapt:edit-check:"
ALIAS = "datacapt:alias:"

#: ItemDef DataType → (type, validation) of an item without code list or computation.
DATA_TYPES: dict[str, tuple[ItemType, Validation | None]] = {
    "text": (ItemType.TEXT, None),
    "string": (ItemType.TEXT, None),
    "integer": (ItemType.TEXT, Validation.INTEGER),
    "float": (ItemType.TEXT, Validation.NUMBER),
    "double": (ItemType.TEXT, Validation.NUMBER),
    "hexFloat": (ItemType.TEXT, Validation.NUMBER),
    "base64Float": (ItemType.TEXT, Validation.NUMBER),
    "date": (ItemType.TEXT, Validation.DATE),
    "time": (ItemType.TEXT, Validation.TIME),
    "datetime": (ItemType.TEXT, Validation.DATETIME),
    "partialDate": (ItemType.TEXT, Validation.PARTIAL_DATE),
    "incompleteDate": (ItemType.TEXT, Validation.PARTIAL_DATE),
    "partialDatetime": (ItemType.TEXT, Validation.PARTIAL_DATE),
    "incompleteDatetime": (ItemType.TEXT, Validation.PARTIAL_DATE),
    "partialTime": (ItemType.TEXT, Validation.TIME),
    "incompleteTime": (ItemType.TEXT, Validation.TIME),
    "boolean": (ItemType.YES_NO, None),
    "hexBinary": (ItemType.FILE, None),
    "base64Binary": (ItemType.FILE, None),
    "URI": (ItemType.TEXT, None),
    "durationDatetime": (ItemType.TEXT, None),
    "intervalDatetime": (ItemType.TEXT, None),
}

#: Above this many choices a single-choice item read from ODM is a drop-down list.
RADIO_MAX_CHOICES = 5


class OdmSchemaError(Exception):
    """An exported document the ODM schema rejects: a bug in the exporter, never written."""


def inferred_kind(
    data_type: str, choices: int, calculated: bool
) -> tuple[ItemType, Validation | None, Widget | None]:
    """What an ItemDef is for a reader that only knows ODM: the exporter writes Datacapt's
    type, validation and widget as aliases only where they differ from this."""
    item_type, validation = DATA_TYPES.get(data_type, (ItemType.TEXT, None))
    if calculated:
        return ItemType.CALCULATED, validation, None
    if choices:
        widget: Widget = "radio" if choices <= RADIO_MAX_CHOICES else "dropdown"
        return ItemType.SINGLE_CHOICE, None, widget
    return item_type, validation, None


def negate(expression: str) -> str:
    """``not (expression)``, unwrapping an expression that already is one; ODM conditions say
    when *not* to collect, Datacapt's show_if when to show, so each side negates the other."""
    inner = _not_operand(expression)
    return inner if inner is not None else f"not ({expression})"


def _not_operand(expression: str) -> str | None:
    """X when ``expression`` is exactly ``not (X)``: the parenthesis after ``not`` must not
    close before the last character (quotes taken into account)."""
    if not (expression.startswith("not (") and expression.endswith(")")):
        return None
    depth, quote = 0, ""
    for index, char in enumerate(expression[4:-1], start=4):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0 and index < len(expression) - 1:
                return None
    return expression[5:-1]


#: Reading nothing but the given bytes: no network, no DTD, no entities.
SAFE_PARSING = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "load_dtd": False,
    "dtd_validation": False,
    "remove_comments": True,
    "remove_pis": True,
}


def safe_parser() -> etree.XMLParser:
    """A parser that reads nothing but the given bytes: no network, no DTD, no entities."""
    return etree.XMLParser(**SAFE_PARSING)


@functools.cache
def odm_schema(extended: bool = False) -> etree.XMLSchema:
    """The shipped ODM 1.3.2 schema (``extended``: with the REDCap extension), compiled once;
    its imports (xml.xsd, xmldsig) are local."""
    path = EXTENDED_SCHEMA_PATH if extended else SCHEMA_PATH
    return etree.XMLSchema(etree.parse(str(path), safe_parser()))


def validate(document: etree._ElementTree, *, extended: bool = False) -> None:
    """Raise :class:`OdmSchemaError` naming the first error if the schema rejects it."""
    schema = odm_schema(extended)
    if not schema.validate(document):
        error = schema.error_log[0]
        raise OdmSchemaError(f"line {error.line}: {error.message}")


@dataclass(frozen=True)
class CodeEntry:
    """A code-list entry (CodeListItem or EnumeratedItem) as the readers use it: its code, its
    OrderNumber and its Decode's texts as (xml:lang, text) pairs."""

    code: str
    order: str
    texts: tuple[tuple[str | None, str], ...]


_PLAIN_ENTRY = frozenset({"CodedValue", "OrderNumber"})


def plain_entries(code_list: etree._Element) -> list[CodeEntry] | None:
    """The entries of a code list holding nothing but codes and their labels (every entry of
    one kind, no other attribute or element), else None: only such a list can be read while
    parsing and its elements dropped, with nothing lost for the report of what was not kept."""
    namespace = etree.QName(code_list).namespace
    prefix = f"{{{namespace}}}" if namespace else ""
    kinds = {child.tag for child in code_list}
    if len(kinds) != 1 or kinds - {f"{prefix}CodeListItem", f"{prefix}EnumeratedItem"}:
        return None
    entries = []
    for child in code_list:
        if set(child.attrib) - _PLAIN_ENTRY or len(child) > 1 or (child.text or "").strip():
            return None
        texts: list[tuple[str | None, str]] = []
        for decode in child:
            if decode.tag != f"{prefix}Decode" or decode.attrib or (decode.text or "").strip():
                return None
            for translated in decode:
                if (
                    translated.tag != f"{prefix}TranslatedText"
                    or set(translated.attrib) - {XML_LANG}
                    or len(translated)
                ):
                    return None
                texts.append((translated.get(XML_LANG), translated.text or ""))
        entries.append(
            CodeEntry(child.get("CodedValue", ""), child.get("OrderNumber", ""), tuple(texts))
        )
    return entries
