"""Reading a study design from CDISC ODM 1.3 study metadata.

Tolerant: real files come from many systems (CDISC examples, OpenEDC, REDCap, OpenClinica), so
whatever can be mapped is, and everything else becomes a :class:`Finding` — unknown elements and
attributes by kind, vendor extension namespaces one finding each, expressions that cannot be
translated quoted with their context. Only a file that is not ODM metadata at all raises
:class:`InterchangeError`. The mapping and Datacapt's own ``datacapt:`` aliases are described in
:mod:`datacapt.design.interchange.odm`; choices made for files from other systems:

* A definition ODM shares (an ItemGroupDef in several forms, an ItemDef in several groups)
  becomes one copy per use, since Datacapt's names and OIDs are unique: the first keeps the
  OID, the others get ``.2``, ``.3`` … (an INFO finding lists them). Expressions mean the copy
  in their own form and group.
* Names: an identifier-like Name (``Weight``) gives the variable name, else the OID
  (``I_SEX`` → ``i_sex``); visits take their Name. Titles: Description, else Name.
* Conditions are translated from Datacapt's language, from the XPath of CDISC's examples
  (``../ItemData[@ItemOID='X'][@Value='v']`` with and/or/not) and from OpenEDC's syntax;
  booleans ``true``/``false`` become the yes/no codes 1/0. A FormRef condition goes to the
  form's sections when every visit lists the form under it.
* An event of Type Unscheduled allows unscheduled visits with its forms; it is no planned visit.
* RangeCheck GT/LT on integers is exact (GT 5 → at least 6); on other values the bound is kept
  and allowed (INFO). EQ/NE/IN/NI and FormalExpression range checks become edit checks. A check
  in another unit than the item's is not kept.
* Texts are stripped of surrounding white space (pretty-printed files); empty ones are absent.
  Datacapt's own files are read as written (a title of spaces stays one). Texts without
  ``xml:lang`` are in the file's most used language, else in the importing study's.
* A REDCap project XML (``redcap:FieldType`` on its ItemDefs) is read from REDCap's attributes
  by :mod:`.redcap_project`, as its data dictionary would be.

The file is parsed with ``iterparse``; code lists of nothing but codes and labels are read as
they are parsed and their entries' elements dropped, so a design of long lists is not held
twice (as a tree and as choices).
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar, cast, get_args

from anyascii import anyascii
from lxml import etree

from datacapt.design.interchange import odm, redcap_project
from datacapt.design.interchange.findings import (
    Finding,
    FindingLevel,
    ImportResult,
    InterchangeError,
    variable_name,
)
from datacapt.design.interchange.odm_expressions import (
    IDENTIFIER,
    INFO,
    WARNING,
    ExpressionReading,
    Pending,
    Scope,
    UntranslatableError,
    literal_text,
    show_if_of,
)
from datacapt.design.interchange.odm_report import NotKeptReport
from datacapt.ecrf.definition import (
    NAME_PATTERN,
    Alias,
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
    Visit,
    Widget,
)
from datacapt.expressions import ExpressionError, parse
from datacapt.patterns import pattern_problem

INTEGER = re.compile(r"-?[0-9]+\Z")
WIDGETS = get_args(Widget)

#: Attributes read, by element; other attributes of these elements are reported. Elements not
#: listed are containers whose attributes say nothing about the design.
MAPPED_ATTRIBUTES: dict[str, frozenset[str]] = {
    tag: frozenset(names.split())
    for tag, names in {
        "StudyEventRef": "StudyEventOID OrderNumber Mandatory",
        "StudyEventDef": "OID Name Repeating Type",
        "FormRef": "FormOID OrderNumber Mandatory CollectionExceptionConditionOID",
        "FormDef": "OID Name Repeating",
        "ItemGroupRef": "ItemGroupOID OrderNumber Mandatory CollectionExceptionConditionOID",
        "ItemGroupDef": "OID Name Repeating",
        "ItemRef": "ItemOID OrderNumber Mandatory CollectionExceptionConditionOID MethodOID",
        "ItemDef": "OID Name DataType Length SignificantDigits",
        "RangeCheck": "Comparator SoftHard",
        "CodeListRef": "CodeListOID",
        "MeasurementUnitRef": "MeasurementUnitOID",
        "CodeList": "OID Name DataType",
        "CodeListItem": "CodedValue OrderNumber",
        "EnumeratedItem": "CodedValue OrderNumber",
        "ConditionDef": "OID Name",
        "MethodDef": "OID Name Type",
        "FormalExpression": "Context",
        "MeasurementUnit": "OID Name",
        "Alias": "Context Name",
    }.items()
}


#: ODM DataTypes Datacapt does not hold as such: (level, what becomes of them).
DATA_TYPE_NOTES: dict[str, tuple[FindingLevel, str]] = {
    "partialDatetime": (WARNING, "a partial date-time is read as a partial date (no time)"),
    "incompleteDatetime": (WARNING, "an incomplete date-time is read as a partial date (no time)"),
    "partialTime": (WARNING, "a partial time is read as a time (hours and minutes required)"),
    "incompleteTime": (WARNING, "an incomplete time is read as a time"),
    "hexBinary": (INFO, "binary data is read as a file upload"),
    "base64Binary": (INFO, "binary data is read as a file upload"),
    "URI": (INFO, "a URI is read as free text"),
    "hexFloat": (INFO, "a binary float is read as a decimal number"),
    "base64Float": (INFO, "a binary float is read as a decimal number"),
    "durationDatetime": (WARNING, "an ISO 8601 duration is read as free text"),
    "intervalDatetime": (WARNING, "an ISO 8601 interval is read as free text"),
}


def read_metadata(
    data: bytes, version_oid: str | None = None, language: str = "en"
) -> ImportResult:
    """The design held by the MetaDataVersion ``version_oid`` (default: the first) of an ODM
    file, with findings for everything not kept as it was. Texts without ``xml:lang`` are in
    the file's most used language, else in ``language`` (the study's). A REDCap project XML is
    read from its ``redcap:`` attributes, as its data dictionary would be."""
    reader = _Reader(_parse(data), version_oid, language)
    study, version = reader.select_version()
    if redcap_project.is_project(version):
        return redcap_project.read_project(
            study, version, language, reader.findings, reader.entries
        )
    return reader.read(study, version)


T = TypeVar("T")


def _order_number(element: etree._Element) -> str:
    return element.get("OrderNumber", "")


@dataclass
class _Parsed:
    """The document, with its plain code lists read as they were parsed (their entries' elements
    dropped: a design of ten 10,000-code lists held 160 MB as a tree), and the languages of the
    texts dropped with them."""

    root: etree._Element
    entries: dict[etree._Element, list[odm.CodeEntry]]
    languages: Counter[str]


def _parse(data: bytes) -> _Parsed:
    """The document, read without network, DTD or entity expansion (XXE, billion laughs)."""
    if not isinstance(data, bytes):
        raise InterchangeError("an ODM file is read from bytes")
    entries: dict[etree._Element, list[odm.CodeEntry]] = {}
    languages: Counter[str] = Counter()
    events = etree.iterparse(io.BytesIO(data), events=("end",), **odm.SAFE_PARSING)
    try:
        for _event, element in events:
            if isinstance(element.tag, str) and etree.QName(element).localname == "CodeList":
                plain = odm.plain_entries(element)
                if plain is not None:
                    entries[element] = plain
                    languages.update(lang for entry in plain for lang, _ in entry.texts if lang)
                    del element[:]
        root = events.root
    except etree.XMLSyntaxError as error:
        raise InterchangeError(f"not well-formed XML: {error}") from None
    if root.getroottree().docinfo.doctype:
        raise InterchangeError(
            "the file declares a document type (DOCTYPE): ODM files have none, and DTDs and "
            "entities are never read"
        )
    name = etree.QName(root)
    if name.localname != "ODM" or not (name.namespace or "").startswith(
        "http://www.cdisc.org/ns/odm/v1."
    ):
        raise InterchangeError(f"not an ODM document: the root element is {root.tag}")
    return _Parsed(root, entries, languages)


def _ordered(refs: list[T], number: Callable[[T], str] = _order_number) -> list[T]:
    """References in OrderNumber order when every one has a number, else in document order."""
    numbers = [number(ref) for ref in refs]
    if all(INTEGER.match(value.strip()) for value in numbers):
        return [
            ref
            for _number, ref in sorted(
                zip((int(n) for n in numbers), refs, strict=True), key=lambda pair: pair[0]
            )
        ]
    return refs


def _unique(taken: set[str], base: str) -> str:
    """``base``, or ``base_2``, ``base_3`` … (at most 100 characters) if it is taken."""
    name, number = base, 1
    while name in taken:
        number += 1
        suffix = f"_{number}"
        name = base[: 100 - len(suffix)] + suffix
    taken.add(name)
    return name


def _base_name(name: str | None, oid: str) -> str:
    """A Datacapt name from an ODM Name when it looks like an identifier, else from the OID."""
    if name and NAME_PATTERN.match(name):
        return name
    if name and IDENTIFIER.match(anyascii(name)):
        return variable_name(name)
    return variable_name(oid)


class _Oids:
    """OIDs handed out on import: the file's own OIDs are kept (the first user of a shared
    definition gets it), copies and generated ones get a numbered suffix."""

    def __init__(self, reserved: set[str]) -> None:
        self.reserved = reserved
        self.taken: set[str] = set()

    def claim(self, oid: str) -> str:
        if oid not in self.taken:
            self.taken.add(oid)
            return oid
        return self.generate(oid)

    def generate(self, base: str) -> str:
        oid, number = base, 1
        while oid in self.taken or oid in self.reserved:
            number += 1
            oid = f"{base}.{number}"
        self.taken.add(oid)
        return oid


@dataclass
class _FormPlace:
    form: Form
    section_marker: str | None = None
    items: dict[str, list[tuple[str, Item]]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class _ItemPlan:
    """What decides an item's kind once its computation is known."""

    item: Item
    data_type: str
    overrides: dict[str, str]
    where: str


class _Reader(ExpressionReading, NotKeptReport):
    """One import: the definition is built in passes (forms, schedule, then expressions, which
    need every item's name), and whatever was not read is reported at the end."""

    default_language: str
    languages: list[str]
    native: bool  # written by Datacapt (its languages alias is there)
    units: dict[str, etree._Element]
    events: dict[str, etree._Element]
    form_defs: dict[str, etree._Element]
    groups: dict[str, etree._Element]
    item_defs: dict[str, etree._Element]
    code_lists: dict[str, etree._Element]
    conditions: dict[str, etree._Element]
    methods: dict[str, etree._Element]
    oids: _Oids
    identifiers: re.Pattern[str] | None
    identifier_targets: dict[str, tuple[str, str | None]]

    def __init__(self, parsed: _Parsed, version_oid: str | None, language: str) -> None:
        self.root = root = parsed.root
        self.entries = parsed.entries
        self.entry_languages = parsed.languages
        self.language = language
        self.ns = etree.QName(root).namespace or ""
        self.version_oid = version_oid
        self.findings: list[Finding] = []
        self.noted: set[Finding] = set()
        self.used: set[etree._Element] = set()
        self.skipped: set[etree._Element] = set()
        self.unmapped_attributes: Counter[tuple[str, str]] = Counter()
        self.places: dict[str, _FormPlace] = {}
        self.first_item: dict[str, Item] = {}
        self.data_types: dict[int, str] = {}
        self.plans: list[_ItemPlan] = []
        self.pending: list[Pending] = []
        self.copies: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.form_conditions: dict[str, list[str | None]] = defaultdict(list)
        self.visit_names: dict[str, str] = {}
        self.names: dict[str, set[str]] = defaultdict(set)

    # --- small helpers ---------------------------------------------------------------------

    def q(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}" if self.ns else tag

    def children(self, element: etree._Element, tag: str) -> list[etree._Element]:
        return list(element.iterchildren(self.q(tag)))

    def child(self, element: etree._Element, tag: str) -> etree._Element | None:
        return element.find(self.q(tag))

    def note(self, where: str, message: str, level: FindingLevel = WARNING) -> None:
        """A finding, once: copies of one definition would repeat it."""
        finding = Finding(where, message, level)
        if finding not in self.noted:
            self.noted.add(finding)
            self.findings.append(finding)

    def use(self, element: etree._Element) -> etree._Element:
        """Mark an element as read; its attributes Datacapt does not read are counted."""
        if element not in self.used:
            self.used.add(element)
            tag = etree.QName(element).localname
            mapped = MAPPED_ATTRIBUTES.get(tag)
            if mapped is not None:
                for attribute in element.attrib:
                    if not attribute.startswith("{") and attribute not in mapped:
                        self.unmapped_attributes[tag, attribute] += 1
        return element

    def text(self, container: etree._Element | None) -> Text:
        """Texts by language; one without xml:lang is in the default language. Texts of other
        systems are stripped (pretty-printed files), Datacapt's own are read as written."""
        if container is None:
            return {}
        self.use(container)
        return self.texts(
            (self.use(translated).get(odm.XML_LANG), "".join(translated.itertext()))
            for translated in self.children(container, "TranslatedText")
        )

    def texts(self, pairs: Iterable[tuple[str | None, str]]) -> Text:
        """(xml:lang, text) pairs as a Text (see :meth:`text`)."""
        result: Text = {}
        unlabelled: str | None = None
        for language, value in pairs:
            if self.native and language:
                result.setdefault(language, value)  # as typed: a title of spaces stays one
                continue
            value = value.strip()
            if not value:
                continue
            if language:
                result.setdefault(language, value)
            elif unlabelled is None:
                unlabelled = value
        if unlabelled is not None:
            result.setdefault(self.default_language, unlabelled)
        return result

    def named(self, name: str | None) -> Text:
        return {self.default_language: name} if name else {}

    def marks(self, element: etree._Element) -> dict[str, str]:
        """The ``datacapt:`` aliases of an element, by context."""
        found = {}
        for alias in self.children(element, "Alias"):
            context = alias.get("Context", "")
            if context.startswith(odm.ALIAS_PREFIX):
                self.use(alias)
                found[context] = alias.get("Name", "")
        return found

    def leftover(self, marks: dict[str, str], where: str) -> None:
        for context in marks:
            self.note(where, f"unknown Datacapt alias {context} not read")

    def texts_from(self, marks: dict[str, str], prefix: str) -> Text:
        keys = [key for key in marks if key.startswith(prefix)]
        return {key[len(prefix) :]: marks.pop(key) for key in keys}

    def flag(self, marks: dict[str, str], context: str) -> bool:
        return marks.pop(context, odm.NO) == odm.YES

    # --- the document ----------------------------------------------------------------------

    def read(self, study: etree._Element, version: etree._Element) -> ImportResult:
        self.index(study, version)
        protocol = self.child(version, "Protocol")
        self.read_languages(protocol)
        definition = Definition(default_language=self.default_language, languages=self.languages)
        for form_def in self.children(version, "FormDef"):
            self.read_form(definition, form_def)
        self.read_schedule(definition, protocol)
        self.resolve()
        self.finish_items()
        self.report()
        return ImportResult(definition, self.findings)

    def select_version(self) -> tuple[etree._Element, etree._Element]:
        self.use(self.root)
        versions = [
            (study, version)
            for study in self.children(self.root, "Study")
            for version in self.children(study, "MetaDataVersion")
        ]
        if not versions:
            data = (
                " (it holds ClinicalData only)" if self.children(self.root, "ClinicalData") else ""
            )
            raise InterchangeError(f"no MetaDataVersion: the file holds no study metadata{data}")
        chosen = versions[0]
        if self.version_oid is not None:
            matching = [pair for pair in versions if pair[1].get("OID") == self.version_oid]
            if not matching:
                known = ", ".join(repr(version.get("OID")) for _study, version in versions)
                raise InterchangeError(
                    f"no MetaDataVersion {self.version_oid!r}; the file has {known}"
                )
            chosen = matching[0]
        elif len(versions) > 1:
            self.note(
                f"MetaDataVersion {chosen[1].get('OID')}",
                f"the file has {len(versions)} metadata versions: the first one is read",
                INFO,
            )
        study, version = chosen
        self.skipped.update(other for _study, other in versions if other is not version)
        self.use(study)
        self.use(version)
        if (variables := self.child(study, "GlobalVariables")) is not None:
            self.used.update(variables.iter())  # the study's names, not its design
        if self.ns != odm.ODM_NS:
            self.note("ODM", f"namespace {self.ns} read as ODM 1.3", INFO)
        return study, version

    def index(self, study: etree._Element, version: etree._Element) -> None:
        def by_oid(parent: etree._Element | None, tag: str) -> dict[str, etree._Element]:
            found: dict[str, etree._Element] = {}
            for element in self.children(parent, tag) if parent is not None else []:
                oid = element.get("OID")
                if not oid:
                    self.note(tag, "a definition without OID is not read")
                elif oid in found:
                    self.note(f"{tag} {oid}", "defined twice: the first definition is read")
                else:
                    found[oid] = element
            return found

        basic = self.child(study, "BasicDefinitions")
        if basic is not None:
            self.use(basic)
        self.units = by_oid(basic, "MeasurementUnit")
        self.events = by_oid(version, "StudyEventDef")
        self.form_defs = by_oid(version, "FormDef")
        self.groups = by_oid(version, "ItemGroupDef")
        self.item_defs = by_oid(version, "ItemDef")
        self.code_lists = by_oid(version, "CodeList")
        self.conditions = by_oid(version, "ConditionDef")
        self.methods = by_oid(version, "MethodDef")
        self.oids = _Oids(
            {element.get("OID", "") for element in version.iter() if element.get("OID")}
        )

    def read_languages(self, protocol: etree._Element | None) -> None:
        marks = self.marks(protocol) if protocol is not None else {}
        if protocol is not None:
            self.use(protocol)
        languages = marks.pop(odm.LANGUAGES, "").split()
        default = marks.pop(odm.DEFAULT_LANGUAGE, "")
        self.leftover(marks, "Protocol")
        self.native = bool(languages) and default in languages
        if self.native:
            self.default_language, self.languages = default, languages
            return
        counts: Counter[str] = Counter(self.entry_languages)
        for translated in self.root.iter(self.q("TranslatedText")):
            if language := translated.get(odm.XML_LANG):
                counts[language] += 1
        if not counts:
            self.default_language, self.languages = self.language, [self.language]
            return
        top = max(counts.values())
        tied = [language for language, count in counts.items() if count == top]
        self.default_language = "en" if "en" in tied else tied[0]
        self.languages = [self.default_language] + [
            language for language in counts if language != self.default_language
        ]

    # --- forms -----------------------------------------------------------------------------

    def read_form(self, definition: Definition, form_def: etree._Element) -> None:
        oid = form_def.get("OID")
        if not oid or self.form_defs.get(oid) is not form_def:
            return
        self.use(form_def)
        name = form_def.get("Name")
        form = Form(
            oid=self.oids.claim(oid),
            name=_unique(self.names["form"], _base_name(name, oid)),
            title=self.text(self.child(form_def, "Description")) or self.named(name or oid),
            repeating=form_def.get("Repeating") == "Yes",
        )
        definition.forms.append(form)
        place = self.places[oid] = _FormPlace(form)
        for ref in _ordered(self.children(form_def, "ItemGroupRef")):
            self.use(ref)
            group_oid = ref.get("ItemGroupOID", "")
            group = self.groups.get(group_oid)
            if group is None:
                self.note(f"FormDef {oid}", f"ItemGroupRef to missing ItemGroupDef {group_oid}")
                continue
            self.read_group(place, ref, group, Scope(oid, group_oid))

    def section_for(self, place: _FormPlace, marker: str | None, marks: dict[str, str]) -> Section:
        """The section a group goes in: Datacapt's own marker, else one section per form."""
        form = place.form
        if form.sections and place.section_marker == marker:
            return form.sections[-1]
        if marker is None:
            section = Section(oid=self.oids.generate(f"{form.oid}.SECTION"))
        else:
            section = Section(
                oid=self.oids.claim(marker),
                title=self.texts_from(marks, odm.SECTION_TITLE),
                show_if=marks.pop(odm.SECTION_SHOW_IF, None),
            )
        place.section_marker = marker
        form.sections.append(section)
        return section

    def read_group(
        self, place: _FormPlace, ref: etree._Element, group: etree._Element, scope: Scope
    ) -> None:
        self.use(group)
        where = f"ItemGroupDef {scope.group_oid}"
        marks = self.marks(group)
        marker = marks.pop(odm.SECTION, None)
        section = self.section_for(place, marker, marks)
        if self.flag(marks, odm.EMPTY_SECTION):
            self.leftover(marks, where)
            return
        title = self.text(self.child(group, "Description"))
        subsection = SubSection(
            oid=self.oids.claim(scope.group_oid or ""),
            title=title if marker is not None else title or self.named(group.get("Name")),
            repeating=group.get("Repeating") == "Yes",
            matrix=marks.pop(odm.MATRIX, None),
        )
        self.leftover(marks, where)
        self.copies["ItemGroupDef", scope.group_oid or ""].append(subsection.oid)
        section.subsections.append(subsection)
        self.expect_condition(ref, subsection, scope, f"ItemGroupRef {scope.group_oid}")
        for item_ref in _ordered(self.children(group, "ItemRef")):
            self.use(item_ref)
            item_oid = item_ref.get("ItemOID", "")
            item_def = self.item_defs.get(item_oid)
            if item_def is None:
                self.note(where, f"ItemRef to missing ItemDef {item_oid}: not read")
                continue
            block = self.read_block(place, item_ref, item_def, scope)
            subsection.blocks.append(block)

    def expect_condition(
        self, ref: etree._Element, target: Block | SubSection, scope: Scope, where: str
    ) -> None:
        condition = ref.get("CollectionExceptionConditionOID")
        if not condition:
            return

        def apply(expression: str, native: bool) -> None:
            target.show_if = odm.negate(expression) if native else show_if_of(expression)

        self.pending.append(Pending(condition, scope, where, apply))

    # --- items -----------------------------------------------------------------------------

    def read_block(
        self, place: _FormPlace, ref: etree._Element, item_def: etree._Element, scope: Scope
    ) -> Block:
        self.use(item_def)
        def_oid = item_def.get("OID", "")
        marks = self.marks(item_def)
        oid = self.oids.claim(def_oid)
        where = f"ItemDef {def_oid}"
        if self.flag(marks, odm.STATIC):
            static = Static(oid=oid, content=self.text(self.child(item_def, "Question")))
            self.leftover(marks, where)
            self.expect_condition(ref, static, scope, f"ItemRef {def_oid}")
            return static
        item = self.read_item(item_def, ref, oid, marks, scope)
        self.copies["ItemDef", def_oid].append(f"{item.name} ({item.oid})")
        place.items[def_oid].append((scope.group_oid or "", item))
        self.first_item.setdefault(def_oid, item)
        self.expect_condition(ref, item, scope, f"ItemRef {def_oid}")
        self.expect_method(ref, item, scope)
        return item

    def read_item(
        self,
        item_def: etree._Element,
        ref: etree._Element,
        oid: str,
        marks: dict[str, str],
        scope: Scope,
    ) -> Item:
        where = f"ItemDef {item_def.get('OID')}"
        name = item_def.get("Name")
        data_type = item_def.get("DataType", "text")
        if data_type not in odm.DATA_TYPES:
            self.note(where, f"unknown DataType {data_type!r}: read as text")
        elif data_type in DATA_TYPE_NOTES and not self.native:
            level, message = DATA_TYPE_NOTES[data_type]
            self.note(where, f"DataType {data_type}: {message}", level)
        item = Item(
            oid=oid,
            name=_unique(self.names["item"], _base_name(name, item_def.get("OID", ""))),
            type=ItemType.TEXT,
            label=self.text(self.child(item_def, "Question")) or self.named(name or oid),
            help=self.text(self.child(item_def, "Description")),
            required=ref.get("Mandatory") == "Yes",
            choices=self.read_choices(item_def, where),
        )
        self.data_types[id(item)] = data_type
        length, digits = item_def.get("Length", ""), item_def.get("SignificantDigits", "")
        item.max_length = int(length) if INTEGER.match(length) and int(length) > 0 else None
        item.decimals = int(digits) if INTEGER.match(digits) and int(digits) >= 0 else None
        unit_oid = self.read_units(item, item_def, where)
        self.read_ranges(item, item_def, unit_oid, scope, where)
        self.read_aliases(item, item_def, marks, where)
        self.read_marks(item, marks, where)
        self.read_edit_checks(item, marks, where)
        overrides = {
            key: marks.pop(key) for key in (odm.TYPE, odm.VALIDATION, odm.WIDGET) if key in marks
        }
        self.leftover(marks, where)
        self.plans.append(_ItemPlan(item, data_type, overrides, where))
        return item

    def read_choices(self, item_def: etree._Element, where: str) -> list[Choice]:
        ref = self.child(item_def, "CodeListRef")
        if ref is None:
            return []
        self.use(ref)
        list_oid = ref.get("CodeListOID", "")
        code_list = self.code_lists.get(list_oid)
        if code_list is None:
            self.note(where, f"CodeListRef to missing CodeList {list_oid}: read without choices")
            return []
        self.use(code_list)
        if (external := self.child(code_list, "ExternalCodeList")) is not None:
            self.use(external)
            self.note(f"CodeList {list_oid}", "an external code list (dictionary) is not read")
        entries = self.entries.get(code_list)
        if entries is None:
            entries = [
                self.entry(element)
                for element in self.children(code_list, "CodeListItem")
                + self.children(code_list, "EnumeratedItem")
            ]
        choices: list[Choice] = []
        codes: set[str] = set()
        for entry in _ordered(entries, lambda entry: entry.order):
            if entry.code in codes:
                self.note(f"CodeList {list_oid}", f"code {entry.code!r} listed twice: kept once")
                continue
            codes.add(entry.code)
            label = self.texts(entry.texts) or {self.default_language: entry.code}
            choices.append(Choice(code=entry.code, label=label))
        return choices

    def entry(self, element: etree._Element) -> odm.CodeEntry:
        """A code-list entry the parse kept as elements (it holds more than a code and label)."""
        self.use(element)
        decode = self.child(element, "Decode")
        texts: list[tuple[str | None, str]] = []
        if decode is not None:
            self.use(decode)
            for translated in self.children(decode, "TranslatedText"):
                self.use(translated)
                texts.append((translated.get(odm.XML_LANG), "".join(translated.itertext())))
        return odm.CodeEntry(
            element.get("CodedValue", ""), element.get("OrderNumber", ""), tuple(texts)
        )

    def read_units(self, item: Item, item_def: etree._Element, where: str) -> str | None:
        refs = self.children(item_def, "MeasurementUnitRef")
        if not refs:
            return None
        for ref in refs:
            self.use(ref)
        if len(refs) > 1:
            self.note(where, f"{len(refs)} measurement units: only the first is kept")
        unit_oid = refs[0].get("MeasurementUnitOID", "")
        unit = self.units.get(unit_oid)
        if unit is None:
            self.note(where, f"MeasurementUnitRef to missing MeasurementUnit {unit_oid}")
            return None
        self.use(unit)
        symbol = self.text(self.child(unit, "Symbol"))
        item.units = (
            symbol.get(self.default_language)
            or next(iter(symbol.values()), None)
            or unit.get("Name")
        )
        return unit_oid

    def read_ranges(
        self,
        item: Item,
        item_def: etree._Element,
        unit_oid: str | None,
        scope: Scope,
        where: str,
    ) -> None:
        data_type = self.data_types[id(item)]
        for check in self.children(item_def, "RangeCheck"):
            self.use(check)
            comparator = check.get("Comparator", "")
            soft = check.get("SoftHard") == "Soft"
            values = [
                (self.use(value).text or "").strip() for value in self.children(check, "CheckValue")
            ]
            described = f"RangeCheck {comparator} {' '.join(values)}".rstrip()
            unit = self.child(check, "MeasurementUnitRef")
            check_unit = self.use(unit).get("MeasurementUnitOID") if unit is not None else None
            message = self.text(self.child(check, "ErrorMessage"))
            if check_unit and unit_oid and check_unit != unit_oid:
                self.note(where, f"{described} is in unit {check_unit}, not the item's: not kept")
            elif comparator in ("GE", "GT", "LE", "LT") and len(values) == 1:
                self.read_bound(item, comparator, values[0], soft, data_type, where)
                if message:
                    self.note(where, "range-check error messages are not kept", INFO)
            elif comparator in ("EQ", "NE", "IN", "NI") and values:
                self.value_check(item, comparator, values, soft, message, data_type, where)
            elif expressions := self.children(check, "FormalExpression"):
                self.expression_check(item, expressions, soft, message, scope, where)
            else:
                self.note(where, f"{described}: not read")

    def read_bound(
        self, item: Item, comparator: str, value: str, soft: bool, data_type: str, where: str
    ) -> None:
        if comparator in ("GT", "LT"):
            if data_type == "integer" and INTEGER.match(value):
                value = str(int(value) + (1 if comparator == "GT" else -1))
            else:
                self.note(
                    where,
                    f"RangeCheck {comparator} {value}: the bound is kept, and allowed "
                    "(Datacapt's ranges include their bounds)",
                    INFO,
                )
        bounds = item.soft_range if soft else item.hard_range
        if bounds is None:
            bounds = Range()
            if soft:
                item.soft_range = bounds
            else:
                item.hard_range = bounds
        side = "min" if comparator in ("GE", "GT") else "max"
        if getattr(bounds, side) is not None:
            self.note(where, f"RangeCheck {comparator} {value}: a second {side} is not kept")
        else:
            setattr(bounds, side, value)

    def value_check(
        self,
        item: Item,
        comparator: str,
        values: list[str],
        soft: bool,
        message: Text,
        data_type: str,
        where: str,
    ) -> None:
        """EQ/NE/IN/NI range checks become an edit check flagging the values they refuse."""
        numeric = odm.DATA_TYPES.get(data_type, (None, None))[1] in (
            Validation.INTEGER,
            Validation.NUMBER,
        )
        reference = f"[{item.name}]"
        try:
            literals = [literal_text(value, numeric) for value in values]
        except UntranslatableError as error:
            self.note(where, f"RangeCheck {comparator} not read: {error}")
            return
        if comparator in ("EQ", "IN"):
            condition = " and ".join(
                [f"{reference} <> ''"] + [f"{reference} <> {literal}" for literal in literals]
            )
        else:
            condition = " or ".join(f"{reference} = {literal}" for literal in literals)
        self.add_check(item, condition, soft, message, f"{comparator} {', '.join(values)}")

    def expression_check(
        self,
        item: Item,
        expressions: list[etree._Element],
        soft: bool,
        message: Text,
        scope: Scope,
        where: str,
    ) -> None:
        """A range check given as an expression the value must satisfy: flagged when false."""

        def apply(expression: str, native: bool) -> None:
            self.add_check(item, odm.negate(expression), soft, message, "expression")

        self.pending.append(Pending("", scope, where, apply, "RangeCheck", expressions))

    def add_check(
        self, item: Item, condition: str, soft: bool, message: Text, described: str
    ) -> None:
        item.edit_checks.append(
            EditCheck(
                oid=self.oids.generate(f"{item.oid}.CHECK"),
                condition=condition,
                message=message or {self.default_language: f"Range check failed: {described}"},
                severity=Severity.WARNING if soft else Severity.BLOCKING,
            )
        )

    def read_aliases(
        self, item: Item, item_def: etree._Element, marks: dict[str, str], where: str
    ) -> None:
        """Plain Alias elements in order, with those written as ``datacapt:alias:<n>`` put
        back at their place."""
        for alias in self.children(item_def, "Alias"):
            context = alias.get("Context", "")
            if not context.startswith(odm.ALIAS_PREFIX):
                self.use(alias)
                item.aliases.append(Alias(context=context, name=alias.get("Name", "")))
        placed = []
        for key in [key for key in marks if key.startswith(odm.ALIAS)]:
            value = marks.pop(key)
            try:
                position = int(key[len(odm.ALIAS) :])
                context, name = json.loads(value)
            except (ValueError, TypeError):
                self.note(where, f"alias {key} not read: {value!r}")
                continue
            placed.append((position, Alias(context=str(context), name=str(name))))
        for position, alias in sorted(placed, key=lambda pair: pair[0]):
            item.aliases.insert(position - 1, alias)

    def read_marks(self, item: Item, marks: dict[str, str], where: str) -> None:
        item.identifier = self.flag(marks, odm.IDENTIFIER)
        item.missing_codes_allowed = self.flag(marks, odm.MISSING_CODES)
        item.with_seconds = self.flag(marks, odm.WITH_SECONDS)
        item.partial_dates = self.flag(marks, odm.PARTIAL_DATES)
        item.decimal_comma = self.flag(marks, odm.DECIMAL_COMMA)
        item.pattern = marks.pop(odm.PATTERN, None)
        if item.pattern and (reason := pattern_problem(item.pattern)) is not None:
            self.note(
                where,
                f"pattern {item.pattern[:100]!r} left out: it cannot be matched safely ({reason});"
                " write one without back-references or look-arounds",
            )
            item.pattern = None
        item.pattern_name = marks.pop(odm.PATTERN_NAME, None)
        item.annotation = marks.pop(odm.ANNOTATION, None)
        date_format = marks.pop(odm.DATE_FORMAT, None)
        if date_format in ("dmy", "mdy", "ymd"):
            item.date_format = date_format
        elif date_format is not None:
            self.note(where, f"unknown date format {date_format!r}")
        file_kind = marks.pop(odm.FILE_KIND, None)
        if file_kind in ("file", "signature"):
            item.file_kind = file_kind
        elif file_kind is not None:
            self.note(where, f"unknown file kind {file_kind!r}")
        slider = marks.pop(odm.SLIDER, None)
        texts = {part: self.texts_from(marks, f"{odm.SLIDER}-{part}:") for part in odm.SLIDER_PARTS}
        if slider is not None:
            parts = slider.split()
            if len(parts) == 3 and all(INTEGER.match(part) for part in parts[:2]):
                item.slider = Slider(
                    min=int(parts[0]), max=int(parts[1]), show_number=parts[2] == odm.YES, **texts
                )
            else:
                self.note(where, f"slider {slider!r} not read")

    def read_edit_checks(self, item: Item, marks: dict[str, str], where: str) -> None:
        numbered = []
        for key in [key for key in marks if key.startswith(odm.EDIT_CHECK)]:
            value = marks.pop(key)
            oid, _, severity = value.rpartition(" ")
            number = key[len(odm.EDIT_CHECK) :]
            condition = self.conditions.get(oid)
            if (
                not INTEGER.match(number)
                or severity not in {s.value for s in Severity}
                or condition is None
            ):
                self.note(where, f"edit check {key} = {value!r} not read")
                continue
            numbered.append((int(number), oid, Severity(severity), condition))
        for _number, oid, severity, condition in sorted(numbered, key=lambda entry: entry[0]):
            self.use(condition)
            expression = self.native_expression(condition, f"ConditionDef {oid}")
            item.edit_checks.append(
                EditCheck(
                    oid=self.oids.claim(oid),
                    condition=expression or "",
                    message=self.text(self.child(condition, "Description")),
                    severity=severity,
                )
            )

    def native_expression(self, definition: etree._Element, where: str) -> str | None:
        """The Datacapt expression of a ConditionDef/MethodDef written by Datacapt."""
        for expression in self.children(definition, "FormalExpression"):
            if expression.get("Context") == odm.DATACAPT_CONTEXT:
                self.use(expression)
                text = (expression.text or "").strip()
                self.check_parses(text, where)
                return text
        self.note(where, "no FormalExpression in Datacapt's language")
        return None

    def check_parses(self, text: str, where: str) -> None:
        try:
            parse(text)
        except ExpressionError as error:
            self.note(where, f"expression {text!r} kept as written, but it does not parse: {error}")

    def expect_method(self, ref: etree._Element, item: Item, scope: Scope) -> None:
        method = ref.get("MethodOID")
        if not method:
            return

        def apply(expression: str, native: bool) -> None:
            item.calculation = expression

        self.pending.append(
            Pending(method, scope, f"ItemRef {ref.get('ItemOID')}", apply, "MethodDef")
        )

    def finish_items(self) -> None:
        """Each item's type, validation and widget: inferred from ODM, then Datacapt's own."""
        for plan in self.plans:
            item = plan.item
            item.type, item.validation, item.widget = odm.inferred_kind(
                plan.data_type, len(item.choices), item.calculation is not None
            )
            overrides = plan.overrides
            try:
                if odm.TYPE in overrides:
                    item.type = ItemType(overrides[odm.TYPE])
                if odm.VALIDATION in overrides:
                    value = overrides[odm.VALIDATION]
                    item.validation = None if value == odm.NONE else Validation(value)
                if odm.WIDGET in overrides:
                    value = overrides[odm.WIDGET]
                    if value not in (odm.NONE, *WIDGETS):
                        raise ValueError(f"{value!r} is not a widget")
                    item.widget = None if value == odm.NONE else cast(Widget, value)
            except ValueError as error:
                self.note(plan.where, f"Datacapt alias value not read: {error}")

    # --- schedule --------------------------------------------------------------------------

    def read_schedule(self, definition: Definition, protocol: etree._Element | None) -> None:
        order: list[str] = []
        for ref in _ordered(
            self.children(protocol, "StudyEventRef") if protocol is not None else []
        ):
            self.use(ref)
            oid = ref.get("StudyEventOID", "")
            if oid not in self.events:
                self.note("Protocol", f"StudyEventRef to missing StudyEventDef {oid}")
            elif oid not in order:
                order.append(oid)
            if ref.get("CollectionExceptionConditionOID"):
                self.note(
                    f"StudyEventRef {oid}",
                    "conditions on visits cannot be represented: the visit is always planned",
                )
        order += [oid for oid in self.events if oid not in order]
        for oid in order:
            self.read_event(definition, oid, self.events[oid])

    def read_event(self, definition: Definition, oid: str, event: etree._Element) -> None:
        self.use(event)
        where = f"StudyEventDef {oid}"
        marks = self.marks(event)
        forms = []
        for ref in _ordered(self.children(event, "FormRef")):
            self.use(ref)
            form_oid = ref.get("FormOID", "")
            place = self.places.get(form_oid)
            if place is None:
                self.note(where, f"FormRef to missing FormDef {form_oid}")
                continue
            forms.append(place.form.name)
            self.form_conditions[form_oid].append(ref.get("CollectionExceptionConditionOID"))
        schedule = definition.schedule
        if odm.UNSCHEDULED in marks:
            schedule.unscheduled_allowed = marks.pop(odm.UNSCHEDULED) == odm.YES
            schedule.unscheduled_forms = forms
            self.leftover(marks, where)
            return
        if event.get("Type") == "Unscheduled":
            schedule.unscheduled_allowed = True
            schedule.unscheduled_forms += [f for f in forms if f not in schedule.unscheduled_forms]
            self.note(
                where,
                "an unscheduled event allows unscheduled visits with its forms; it is not a "
                "planned visit",
                INFO,
            )
            return
        name = event.get("Name")
        visit = Visit(
            oid=self.oids.claim(oid),
            name=_unique(
                self.names["visit"],
                name if name and NAME_PATTERN.match(name) else variable_name(name or oid),
            ),
            title=self.text(self.child(event, "Description")) or self.named(name or oid),
            repeating=event.get("Repeating") == "Yes",
            forms=forms,
        )
        self.visit_names[oid] = visit.name
        day, window = marks.pop(odm.DAY, None), marks.pop(odm.WINDOW, "0 0").split()
        if day is not None and INTEGER.match(day):
            visit.day = int(day)
        if len(window) == 2 and all(INTEGER.match(part) for part in window):
            visit.window_before, visit.window_after = int(window[0]), int(window[1])
        self.leftover(marks, where)
        definition.schedule.visits.append(visit)
