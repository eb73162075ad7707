"""Writing a study design as CDISC ODM 1.3.2 study metadata.

Strict: the document follows the schema's element order and is validated against the shipped
XSD before it is returned; an invalid document is a bug and raises
:class:`~datacapt.design.interchange.odm.OdmSchemaError`. What ODM has no element for is
carried in ``datacapt:`` aliases (see :mod:`datacapt.design.interchange.odm`), so that reading
the document back gives the same definition.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from datacapt.design.interchange import odm
from datacapt.design.interchange.findings import Finding, FindingLevel
from datacapt.design.interchange.odm_xpath import Target, to_xpath
from datacapt.ecrf.definition import (
    Choice,
    Definition,
    Form,
    Item,
    ItemType,
    Range,
    Section,
    Static,
    SubSection,
    Text,
    Validation,
    Visit,
)
from datacapt.expressions import ExpressionError, parse, to_redcap

INTEGER = re.compile(r"-?[0-9]+\Z")
CHOICE_TYPES = (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_CHOICE)
BOOLEAN_TYPES = (ItemType.YES_NO, ItemType.TRUE_FALSE, ItemType.ACKNOWLEDGEMENT)
#: The DataType of an item by its validation; types with DataTypes of their own come first.
VALIDATION_DATA_TYPES: dict[Validation | None, str] = {
    Validation.INTEGER: "integer",
    Validation.NUMBER: "float",
    Validation.DATE: "date",
    Validation.DATETIME: "datetime",
    Validation.TIME: "time",
    Validation.PARTIAL_DATE: "partialDate",
}


def write_metadata(
    definition: Definition,
    *,
    study_oid: str,
    study_name: str,
    version_oid: str,
    version_name: str,
    description: str = "",
) -> bytes:
    """The definition as an ODM 1.3.2 snapshot with one Study and one MetaDataVersion, valid
    against the schema (checked here, so an invalid document is never returned)."""
    return write_metadata_report(
        definition,
        study_oid=study_oid,
        study_name=study_name,
        version_oid=version_oid,
        version_name=version_name,
        description=description,
    )[0]


def write_metadata_report(
    definition: Definition,
    *,
    study_oid: str,
    study_name: str,
    version_oid: str,
    version_name: str,
    description: str = "",
    redcap_logic: bool = False,
) -> tuple[bytes, list[Finding]]:
    """:func:`write_metadata`, and the logic it could not write in XPath; with
    ``redcap_logic``, each field's branching and calculation also in REDCap's syntax, in
    REDCap's attributes (a declared extension of ODM, which the official schema alone refuses,
    as it refuses REDCap's own files)."""
    writer = _Writer(definition, redcap_logic=redcap_logic)
    document = writer.document(
        study_oid=study_oid,
        study_name=study_name,
        version_oid=version_oid,
        version_name=version_name,
        description=description,
    )
    odm.validate(document, extended=redcap_logic)
    content = etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return content, writer.findings


def _element(
    parent: etree._Element | None, tag: str, **attributes: str | int | None
) -> etree._Element:
    """An ODM element with the attributes that have a value, in the order given."""
    values = {key: str(value) for key, value in attributes.items() if value is not None}
    name = f"{{{odm.ODM_NS}}}{tag}"
    if parent is None:
        return etree.Element(name, values, nsmap={None: odm.ODM_NS})
    return etree.SubElement(parent, name, values)


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def _data_type(item: Item) -> str:
    if item.choices and item.type in CHOICE_TYPES:
        return _code_list_type(item.choices)
    if item.type in BOOLEAN_TYPES:
        return "boolean"
    if item.type is ItemType.FILE:
        return "base64Binary"
    if item.type is ItemType.SLIDER:
        return "integer"
    if item.validation is Validation.DATE and item.partial_dates:
        return "partialDate"  # its values may be 1970-03 or 1970
    return VALIDATION_DATA_TYPES.get(item.validation, "text")


def _code_list_type(choices: list[Choice]) -> str:
    return "integer" if all(INTEGER.match(choice.code) for choice in choices) else "text"


@dataclass
class _Parts:
    """The MetaDataVersion's children by kind, appended in the order the schema requires."""

    events: list[etree._Element] = field(default_factory=list)
    forms: list[etree._Element] = field(default_factory=list)
    groups: list[etree._Element] = field(default_factory=list)
    items: list[etree._Element] = field(default_factory=list)
    code_lists: list[etree._Element] = field(default_factory=list)
    conditions: list[etree._Element] = field(default_factory=list)
    methods: list[etree._Element] = field(default_factory=list)

    def all(self) -> list[etree._Element]:
        return [
            *self.events,
            *self.forms,
            *self.groups,
            *self.items,
            *self.code_lists,
            *self.conditions,
            *self.methods,
        ]


class _Writer:
    def __init__(self, definition: Definition, *, redcap_logic: bool = False) -> None:
        self.definition = definition
        self.redcap_logic = redcap_logic
        self.parts = _Parts()
        self.taken = set(definition.oids())
        self.units: dict[str, str] = {}
        self.findings: list[Finding] = []
        self.inherited: list[str] = []  # the show_if of the section and sub-section written
        self.targets = {
            item.name: Target(item.oid, item.type in BOOLEAN_TYPES)
            for _form, item in definition.items()
        }
        self.events = {visit.name: visit.oid for visit in definition.schedule.visits}
        for _form, item in definition.items():
            if item.units is not None and item.units not in self.units:
                self.units[item.units] = self.new_oid(f"MU.{len(self.units) + 1}")

    def new_oid(self, base: str) -> str:
        """An OID no other MetaDataVersion child has (the schema wants them all distinct)."""
        oid, number = base, 1
        while oid in self.taken:
            number += 1
            oid = f"{base}.{number}"
        self.taken.add(oid)
        return oid

    # --- texts and aliases -----------------------------------------------------------------

    def languages(self, text: Text) -> list[str]:
        """A text's languages in the definition's order, then any others."""
        known = [language for language in self.definition.languages if language in text]
        return known + sorted(language for language in text if language not in known)

    def text(self, parent: etree._Element, tag: str, text: Text, required: bool = False) -> None:
        if not text and not required:
            return
        container = _element(parent, tag)
        for language in self.languages(text):
            _element(container, "TranslatedText", **{odm.XML_LANG: language}).text = text[language]
        if not text:
            _element(container, "TranslatedText")

    def note(self, parent: etree._Element, tag: str, note: str) -> None:
        """A required Description for a definition Datacapt generated (no language: a note)."""
        _element(_element(parent, tag), "TranslatedText").text = note

    def alias(self, parent: etree._Element, context: str, name: str | int | None) -> None:
        if name is not None:
            _element(parent, "Alias", Context=context, Name=str(name))

    def flag(self, parent: etree._Element, context: str, value: bool) -> None:
        if value:
            self.alias(parent, context, odm.YES)

    def texts(self, parent: etree._Element, prefix: str, text: Text) -> None:
        for language in self.languages(text):
            self.alias(parent, f"{prefix}{language}", text[language])

    # --- the document ----------------------------------------------------------------------

    def document(
        self,
        *,
        study_oid: str,
        study_name: str,
        version_oid: str,
        version_name: str,
        description: str,
    ) -> etree._ElementTree:
        now = datetime.now(UTC).replace(microsecond=0)
        root = _element(
            None,
            "ODM",
            Description=description or None,
            FileType="Snapshot",
            Granularity="Metadata",
            FileOID=f"{study_oid}.{version_oid}.{now:%Y%m%dT%H%M%SZ}",
            CreationDateTime=now.isoformat(),
            ODMVersion="1.3.2",
            SourceSystem="Datacapt",
        )
        study = _element(root, "Study", OID=study_oid)
        variables = _element(study, "GlobalVariables")
        _element(variables, "StudyName").text = study_name
        _element(variables, "StudyDescription").text = description
        _element(variables, "ProtocolName").text = study_name
        if self.units:
            basic = _element(study, "BasicDefinitions")
            for symbol, oid in self.units.items():
                unit = _element(basic, "MeasurementUnit", OID=oid, Name=symbol)
                self.text(unit, "Symbol", {self.definition.default_language: symbol}, True)
        version = _element(
            study,
            "MetaDataVersion",
            OID=version_oid,
            Name=version_name,
            Description=description or None,
        )
        version.append(self.protocol())
        for form in self.definition.forms:
            self.form(form)
        version.extend(self.parts.all())
        if self.redcap_logic:
            etree.cleanup_namespaces(root, top_nsmap={"redcap": odm.REDCAP_NS})
        return etree.ElementTree(root)

    def protocol(self) -> etree._Element:
        """The visits in order, the unscheduled slot last, and the languages."""
        protocol = _element(None, "Protocol")
        form_oids = {form.name: form.oid for form in self.definition.forms}
        events = [self.visit(visit, form_oids) for visit in self.definition.schedule.visits]
        schedule = self.definition.schedule
        if schedule.unscheduled_allowed or schedule.unscheduled_forms:
            events.append(self.unscheduled(form_oids))
        for order, event in enumerate(events, start=1):
            _element(
                protocol,
                "StudyEventRef",
                StudyEventOID=event.get("OID"),
                OrderNumber=order,
                Mandatory="Yes",
            )
        self.alias(protocol, odm.LANGUAGES, " ".join(self.definition.languages))
        self.alias(protocol, odm.DEFAULT_LANGUAGE, self.definition.default_language)
        self.parts.events = events
        return protocol

    def visit(self, visit: Visit, form_oids: dict[str, str]) -> etree._Element:
        event = _element(
            None,
            "StudyEventDef",
            OID=visit.oid,
            Name=visit.name,
            Repeating=_yes_no(visit.repeating),
            Type="Common" if visit.day is None else "Scheduled",
        )
        self.text(event, "Description", visit.title)
        self.form_refs(event, visit.forms, form_oids, f"visit {visit.name}")
        self.alias(event, odm.DAY, visit.day)
        if visit.window_before or visit.window_after:
            self.alias(event, odm.WINDOW, f"{visit.window_before} {visit.window_after}")
        return event

    def unscheduled(self, form_oids: dict[str, str]) -> etree._Element:
        schedule = self.definition.schedule
        event = _element(
            None,
            "StudyEventDef",
            OID=self.new_oid("UNSCHEDULED"),
            Name="unscheduled",
            Repeating="Yes",
            Type="Unscheduled",
        )
        self.form_refs(event, schedule.unscheduled_forms, form_oids, "unscheduled visits")
        self.alias(event, odm.UNSCHEDULED, odm.YES if schedule.unscheduled_allowed else odm.NO)
        return event

    def form_refs(
        self, event: etree._Element, forms: list[str], form_oids: dict[str, str], where: str
    ) -> None:
        for order, name in enumerate(forms, start=1):
            if name not in form_oids:
                raise ValueError(f"{where} lists form {name!r}, which the definition does not have")
            _element(event, "FormRef", FormOID=form_oids[name], OrderNumber=order, Mandatory="Yes")

    # --- forms and their groups ------------------------------------------------------------

    def form(self, form: Form) -> None:
        form_def = _element(
            None, "FormDef", OID=form.oid, Name=form.name, Repeating=_yes_no(form.repeating)
        )
        self.text(form_def, "Description", form.title)
        order = 0
        for section in form.sections:
            groups = (
                [self.empty_section(section)]
                if not section.subsections
                else [
                    self.group(section, subsection, first=index == 0)
                    for index, subsection in enumerate(section.subsections)
                ]
            )
            for group, show_if in groups:
                order += 1
                _element(
                    form_def,
                    "ItemGroupRef",
                    ItemGroupOID=group.get("OID"),
                    OrderNumber=order,
                    Mandatory="No",
                    CollectionExceptionConditionOID=self.show_if(group.get("OID", ""), show_if),
                )
        self.parts.forms.append(form_def)

    def section_aliases(self, group: etree._Element, section: Section) -> None:
        self.alias(group, odm.SECTION, section.oid)
        self.texts(group, odm.SECTION_TITLE, section.title)
        self.alias(group, odm.SECTION_SHOW_IF, section.show_if)

    def empty_section(self, section: Section) -> tuple[etree._Element, str | None]:
        group = _element(None, "ItemGroupDef", OID=section.oid, Name=section.oid, Repeating="No")
        self.section_aliases(group, section)
        self.flag(group, odm.EMPTY_SECTION, True)
        self.parts.groups.append(group)
        return group, None

    def group(
        self, section: Section, subsection: SubSection, first: bool
    ) -> tuple[etree._Element, str | None]:
        title = subsection.title.get(self.definition.default_language)
        group = _element(
            None,
            "ItemGroupDef",
            OID=subsection.oid,
            Name=title or subsection.oid,
            Repeating=_yes_no(subsection.repeating),
        )
        self.text(group, "Description", subsection.title)
        self.inherited = [text for text in (section.show_if, subsection.show_if) if text]
        for order, block in enumerate(subsection.blocks, start=1):
            self.block(group, block, order)
        if first:
            self.section_aliases(group, section)
        else:
            self.alias(group, odm.SECTION, section.oid)
        self.alias(group, odm.MATRIX, subsection.matrix)
        self.parts.groups.append(group)
        return group, subsection.show_if

    def show_if(self, oid: str, show_if: str | None) -> str | None:
        """A ConditionDef saying when *not* to collect; its OID, or None without show_if."""
        if show_if is None:
            return None
        condition_oid = self.new_oid(f"SHOW.{oid}")
        condition = _element(None, "ConditionDef", OID=condition_oid, Name=condition_oid)
        self.note(condition, "Description", f"Not collected when: {odm.negate(show_if)}")
        _element(condition, "FormalExpression", Context=odm.DATACAPT_CONTEXT).text = odm.negate(
            show_if
        )
        self.xpath(condition, odm.negate(show_if), oid, "branching")
        self.parts.conditions.append(condition)
        return condition_oid

    # --- the same logic in other dialects --------------------------------------------------

    def xpath(self, parent: etree._Element, text: str, where: str, what: str) -> None:
        """A FormalExpression in XPath beside Datacapt's, or a finding saying why not."""
        try:
            translated = to_xpath(parse(text), self.targets, self.events)
        except ExpressionError as error:
            self.untranslated(where, what, "XPath", error)
            return
        _element(parent, "FormalExpression", Context=odm.XPATH_CONTEXT).text = translated

    def redcap(self, item_def: etree._Element, block: Item | Static) -> None:
        """REDCap's own attributes for a field's branching (its groups' conditions joined to
        its own) and calculation."""
        if not self.redcap_logic:
            return
        conditions = [*self.inherited, *([block.show_if] if block.show_if else [])]
        logic = {odm.REDCAP_BRANCHING: " and ".join(f"({text})" for text in conditions)}
        if len(conditions) == 1:
            logic[odm.REDCAP_BRANCHING] = conditions[0]
        if isinstance(block, Item) and block.calculation:
            logic[odm.REDCAP_CALCULATION] = block.calculation
        for attribute, text in logic.items():
            if not text:
                continue
            what = "branching" if attribute == odm.REDCAP_BRANCHING else "calculation"
            try:
                item_def.set(attribute, to_redcap(parse(text)))
            except ExpressionError as error:
                self.untranslated(block.oid, what, "REDCap's syntax", error)

    def untranslated(self, where: str, what: str, dialect: str, error: ExpressionError) -> None:
        self.findings.append(
            Finding(where, f"{what} not written in {dialect}: {error.message}", FindingLevel.INFO)
        )

    # --- items -----------------------------------------------------------------------------

    def block(self, group: etree._Element, block: Item | Static, order: int) -> None:
        calculation = None
        if isinstance(block, Static):
            self.static(block)
            mandatory = False
        else:
            self.item(block)
            mandatory = block.required
            calculation = self.method(block)
        _element(
            group,
            "ItemRef",
            ItemOID=block.oid,
            OrderNumber=order,
            Mandatory=_yes_no(mandatory),
            CollectionExceptionConditionOID=self.show_if(block.oid, block.show_if),
            MethodOID=calculation,
        )

    def static(self, static: Static) -> None:
        item_def = _element(None, "ItemDef", OID=static.oid, Name=static.oid, DataType="text")
        self.redcap(item_def, static)
        self.text(item_def, "Question", static.content)
        self.flag(item_def, odm.STATIC, True)
        self.parts.items.append(item_def)

    def item(self, item: Item) -> None:
        data_type = _data_type(item)
        item_def = _element(
            None,
            "ItemDef",
            OID=item.oid,
            Name=item.name,
            DataType=data_type,
            Length=item.max_length if item.max_length and item.max_length > 0 else None,
            SignificantDigits=item.decimals,
        )
        self.redcap(item_def, item)
        self.text(item_def, "Description", item.help)
        self.text(item_def, "Question", item.label)
        if item.units is not None:
            _element(item_def, "MeasurementUnitRef", MeasurementUnitOID=self.units[item.units])
        self.range_checks(item_def, item.hard_range, "Hard")
        self.range_checks(item_def, item.soft_range, "Soft")
        if item.choices:
            _element(item_def, "CodeListRef", CodeListOID=self.code_list(item))
        self.item_aliases(item_def, item)
        self.item_marks(item_def, item, data_type)
        self.parts.items.append(item_def)

    def range_checks(self, item_def: etree._Element, bounds: Range | None, soft_hard: str) -> None:
        if bounds is None:
            return
        for comparator, value in (("GE", bounds.min), ("LE", bounds.max)):
            if value is not None:
                check = _element(item_def, "RangeCheck", Comparator=comparator, SoftHard=soft_hard)
                _element(check, "CheckValue").text = value

    def code_list(self, item: Item) -> str:
        oid = self.new_oid(f"CL.{item.oid}")
        code_list = _element(
            None, "CodeList", OID=oid, Name=item.name, DataType=_code_list_type(item.choices)
        )
        for choice in item.choices:
            entry = _element(code_list, "CodeListItem", CodedValue=choice.code)
            self.text(entry, "Decode", choice.label, required=True)
        self.parts.code_lists.append(code_list)
        return oid

    def method(self, item: Item) -> str | None:
        if item.calculation is None:
            return None
        oid = self.new_oid(f"CALC.{item.oid}")
        method = _element(None, "MethodDef", OID=oid, Name=oid, Type="Computation")
        self.note(method, "Description", f"Calculation of {item.name}")
        _element(method, "FormalExpression", Context=odm.DATACAPT_CONTEXT).text = item.calculation
        self.xpath(method, item.calculation, item.oid, "calculation")
        self.parts.methods.append(method)
        return oid

    def item_aliases(self, item_def: etree._Element, item: Item) -> None:
        """Aliases as plain Alias elements, except those the schema cannot take as such."""
        contexts: set[str] = set()
        for position, alias in enumerate(item.aliases, start=1):
            if alias.context in contexts or alias.context.startswith(odm.ALIAS_PREFIX):
                self.alias(
                    item_def,
                    f"{odm.ALIAS}{position}",
                    json.dumps([alias.context, alias.name], ensure_ascii=False),
                )
            else:
                contexts.add(alias.context)
                self.alias(item_def, alias.context, alias.name)

    def item_marks(self, item_def: etree._Element, item: Item, data_type: str) -> None:
        kind, validation, widget = odm.inferred_kind(
            data_type, len(item.choices), item.calculation is not None
        )
        if item.type is not kind:
            self.alias(item_def, odm.TYPE, item.type.value)
        if item.validation != validation:
            self.alias(item_def, odm.VALIDATION, item.validation or odm.NONE)
        if item.widget != widget:
            self.alias(item_def, odm.WIDGET, item.widget or odm.NONE)
        self.flag(item_def, odm.IDENTIFIER, item.identifier)
        self.flag(item_def, odm.MISSING_CODES, item.missing_codes_allowed)
        self.alias(item_def, odm.DATE_FORMAT, item.date_format)
        self.flag(item_def, odm.WITH_SECONDS, item.with_seconds)
        self.flag(item_def, odm.PARTIAL_DATES, item.partial_dates)
        self.flag(item_def, odm.DECIMAL_COMMA, item.decimal_comma)
        self.alias(item_def, odm.PATTERN, item.pattern)
        self.alias(item_def, odm.PATTERN_NAME, item.pattern_name)
        if item.slider is not None:
            slider = item.slider
            show = odm.YES if slider.show_number else odm.NO
            self.alias(item_def, odm.SLIDER, f"{slider.min} {slider.max} {show}")
            for part in odm.SLIDER_PARTS:
                self.texts(item_def, f"{odm.SLIDER}-{part}:", getattr(slider, part))
        self.alias(item_def, odm.FILE_KIND, item.file_kind)
        self.alias(item_def, odm.ANNOTATION, item.annotation)
        for number, check in enumerate(item.edit_checks, start=1):
            self.alias(item_def, f"{odm.EDIT_CHECK}{number}", f"{check.oid} {check.severity.value}")
            condition = _element(None, "ConditionDef", OID=check.oid, Name=check.oid)
            self.text(condition, "Description", check.message, required=True)
            _element(
                condition, "FormalExpression", Context=odm.DATACAPT_CONTEXT
            ).text = check.condition
            self.parts.conditions.append(condition)
