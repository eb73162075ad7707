"""REDCap project XML (REDCap's ODM export): read as its data dictionary is.

REDCap writes the design twice in such a file: as plain ODM, which loses most of it (a checkbox
becomes one yes/no item per choice, calculations and branching are gone), and in its own
``redcap:`` attributes, which hold every column of the dictionary. Those attributes are read
here into the dictionary's rows, and the rows go through the dictionary reader: the same field
gives the same item whichever of the two files is imported. What only the XML holds is added:
form titles, events (visits with their day and window), arms and repeating forms and events.

Differences from the dictionary that come from the file, not from reading it:

- REDCap writes no slider bounds in the XML: a slider has REDCap's default 0 to 100.
- Text validation bounds are RangeChecks (GE/LE) and read as the dictionary's min/max.
- ``Length`` is REDCap's column width (999), not a limit typed by anyone: it is not read.
- The pseudo-fields of an export (``form_complete``, ``redcap_data_access_group``,
  ``redcap_survey_identifier``, survey timestamps) are not study items.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping

from lxml import etree

from datacapt.design.interchange.findings import (
    Finding,
    FindingLevel,
    ImportResult,
    oid_part,
    variable_name,
)
from datacapt.design.interchange.odm import CodeEntry
from datacapt.design.interchange.redcap import COLUMNS, Row, cell_text, counted, plain_text
from datacapt.design.interchange.redcap_reader import LEGACY_VALIDATIONS, DictionaryReader
from datacapt.ecrf.definition import NAME_PATTERN, Form, Schedule, Visit

NS = "https://projectredcap.org"

#: REDCap's own names of field types (``element_type``) → the dictionary's.
FIELD_TYPES = {"select": "dropdown", "textarea": "notes"}

#: Attributes of an ItemDef → the dictionary column they fill, as they are.
COLUMN_ATTRIBUTES = {
    "SectionHeader": "section",
    "FieldNote": "note",
    "Identifier": "identifier",
    "BranchingLogic": "logic",
    "RequiredField": "required",
    "CustomAlignment": "alignment",
    "QuestionNumber": "question",
    "MatrixGroupName": "matrix",
    "MatrixRanking": "ranking",
    "FieldAnnotation": "annotation",
}

#: The ``redcap:`` attributes of an ItemDef read here; others are reported.
READ_ATTRIBUTES = frozenset(
    {"Variable", "FieldType", "TextValidationType", "Calculation", "SliderLabels", "OntologySearch"}
    | COLUMN_ATTRIBUTES.keys()
)

PSEUDO_FIELDS = frozenset({"redcap_data_access_group", "redcap_survey_identifier"})

INTEGER = re.compile(r"[-+]?[0-9]+\Z")


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def is_project(version: etree._Element) -> bool:
    """Whether a MetaDataVersion is REDCap's: its ItemDefs carry ``redcap:FieldType``."""
    namespace = etree.QName(version).namespace or ""
    return any(
        item.get(q("FieldType")) is not None
        for item in version.iterchildren(f"{{{namespace}}}ItemDef")
    )


class _RowRead(Row):
    """A dictionary row read from an ItemDef: findings name the element, not a line."""

    element: str = ""

    @property
    def where(self) -> str:
        return f"ItemDef {self.element}, field {self.name}"


class _Project:
    """One project XML: its elements by OID, read in the order REDCap wrote its forms."""

    def __init__(
        self,
        study: etree._Element,
        version: etree._Element,
        language: str,
        findings: list[Finding],
        entries: Mapping[etree._Element, list[CodeEntry]],
    ) -> None:
        self.entries = entries
        self.ns = etree.QName(version).namespace or ""
        self.study = study
        self.version = version
        self.language = language
        self.findings = findings
        self.defs: dict[str, dict[str, etree._Element]] = defaultdict(dict)
        for element in version:
            if isinstance(element.tag, str) and element.get("OID"):
                self.defs[etree.QName(element).localname].setdefault(element.get("OID"), element)
        self.left_out: list[str] = []
        self.unread: Counter[etree.QName] = Counter()

    def odm(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}"

    def note(self, where: str, message: str, level: FindingLevel = FindingLevel.WARNING) -> None:
        self.findings.append(Finding(where, message, level))

    def read(self) -> ImportResult:
        rows: list[Row] = []
        titles: dict[str, str] = {}
        seen: set[str] = set()
        for form_def in self.version.iterchildren(self.odm("FormDef")):
            form = self.form_name(form_def)
            titles[form] = form_def.get("Name", "")
            for item_def, ref in self.fields(form_def):
                variable = item_def.get(q("Variable")) or item_def.get("Name", "")
                if variable in seen:
                    continue  # the other choices of a checkbox
                seen.add(variable)
                if self.pseudo(variable, form, item_def):
                    self.left_out.append(variable)
                    continue
                rows.append(self.row(len(rows) + 1, item_def, ref, variable, form))
                self.unread.update(
                    name
                    for name in map(etree.QName, item_def.attrib)
                    if name.namespace == NS and name.localname not in READ_ATTRIBUTES
                )
        if self.left_out:
            message = "REDCap's form status and export fields are not study items: " + ", ".join(
                self.left_out
            )
            self.note(counted(self.left_out, "field"), message, FindingLevel.INFO)
        self.not_read()
        reader = DictionaryReader(self.findings, self.language)
        kept = reader.select(rows)
        definition = reader.definition(kept, titles=titles, schedule=self.schedule())
        self.repeating(definition.forms, definition.schedule.visits)
        return ImportResult(definition, self.findings)

    def not_read(self) -> None:
        """What a design does not hold, one finding each: project settings, records, and the
        field attributes that have no place here (attachments, videos, ontologies)."""
        root = self.study.getparent()
        if root is not None and root.find(self.odm("ClinicalData")) is not None:
            message = (
                "the records' data are not read here: import them once the design is published"
            )
            self.note("ClinicalData", message, FindingLevel.INFO)
        variables = self.study.find(self.odm("GlobalVariables"))
        settings = sorted(
            {
                etree.QName(element).localname
                for element in (variables if variables is not None else [])
                if isinstance(element.tag, str)
                and etree.QName(element).namespace == NS
                and element.tag != q("RepeatingInstrumentsAndEvents")
            }
        )
        if settings:
            message = f"project settings are not part of a design: {', '.join(settings)}"
            self.note("GlobalVariables", message, FindingLevel.INFO)
        if self.unread:
            listed = ", ".join(f"{name.localname} ×{count}" for name, count in self.unread.items())
            self.note("ItemDef", f"REDCap attributes not read: {listed}")

    def form_name(self, form_def: etree._Element) -> str:
        oid = form_def.get("OID", "")
        return form_def.get(q("FormName")) or oid.removeprefix("Form.")

    def fields(self, form_def: etree._Element) -> list[tuple[etree._Element, etree._Element]]:
        found = []
        for group_ref in form_def.iterchildren(self.odm("ItemGroupRef")):
            group_oid = group_ref.get("ItemGroupOID", "")
            group = self.defs["ItemGroupDef"].get(group_oid)
            if group is None:
                self.note(f"FormDef {form_def.get('OID')}", f"missing ItemGroupDef {group_oid}")
                continue
            for ref in group.iterchildren(self.odm("ItemRef")):
                item_oid = ref.get("ItemOID", "")
                item_def = self.defs["ItemDef"].get(item_oid)
                if item_def is None:
                    self.note(f"ItemGroupDef {group_oid}", f"missing ItemDef {item_oid}")
                else:
                    found.append((item_def, ref))
        return found

    @staticmethod
    def pseudo(variable: str, form: str, item_def: etree._Element) -> bool:
        if variable in PSEUDO_FIELDS:
            return True
        if variable == f"{form}_timestamp" and item_def.get(q("FieldType")) is None:
            return True
        return variable == f"{form}_complete"

    def row(
        self, number: int, item_def: etree._Element, ref: etree._Element, name: str, form: str
    ) -> Row:
        cells = dict.fromkeys(COLUMNS, "")
        kind = (item_def.get(q("FieldType")) or "text").lower()
        cells.update(name=name, form=form, type=FIELD_TYPES.get(kind, kind))
        for attribute, column in COLUMN_ATTRIBUTES.items():
            cells[column] = item_def.get(q(attribute)) or ""
        if ref.get("Mandatory") == "Yes" and not cells["required"]:
            cells["required"] = "y"
        validation = item_def.get(q("TextValidationType")) or ""
        # REDCap keeps the old names ("int", "float") as its own: no finding, unlike a dictionary
        cells["validation"] = LEGACY_VALIDATIONS.get(validation, validation)
        cells["label"] = self.label(item_def)
        cells["choices"] = self.choices(item_def, cells["type"])
        cells["min"], cells["max"] = self.bounds(item_def)
        row = _RowRead.of(number, [cells[column] for column in COLUMNS])
        row.element = item_def.get("OID", "")
        return row

    def label(self, item_def: etree._Element) -> str:
        """REDCap's label with its HTML when it has some, else the plain text it wrote."""
        question = item_def.find(self.odm("Question"))
        if question is None:
            return ""
        formatted = question.find(q("FormattedTranslatedText"))
        if formatted is not None and (formatted.text or "").strip():
            return formatted.text or ""
        texts = [
            "".join(text.itertext()) for text in question.iterchildren(self.odm("TranslatedText"))
        ]
        return cell_text(texts[0], plain_text) if texts else ""

    def choices(self, item_def: etree._Element, kind: str) -> str:
        """The dictionary's choices column: the calculation, slider labels, or "code, label"."""
        if kind == "calc":
            return item_def.get(q("Calculation")) or ""
        if kind == "slider":
            return item_def.get(q("SliderLabels")) or ""
        if kind == "text":  # a BioPortal ontology, in the dictionary's choices column
            return item_def.get(q("OntologySearch")) or ""
        if kind not in ("dropdown", "radio", "checkbox"):
            return ""
        ref = item_def.find(self.odm("CodeListRef"))
        code_list = (
            self.defs["CodeList"].get(ref.get("CodeListOID", "")) if ref is not None else None
        )
        if code_list is None:
            return ""
        if kind == "checkbox":
            return code_list.get(q("CheckboxChoices")) or ""
        entries = self.entries.get(code_list)
        if entries is None:
            entries = []
            for entry in code_list.iterchildren(self.odm("CodeListItem")):
                decode = entry.find(f"{self.odm('Decode')}/{self.odm('TranslatedText')}")
                label = "".join(decode.itertext()) if decode is not None else ""
                entries.append(CodeEntry(entry.get("CodedValue", ""), "", ((None, label),)))
        labels = (entry.texts[0][1] if entry.texts else "" for entry in entries)
        return " | ".join(
            f"{entry.code}, {cell_text(label, plain_text, pipes=True)}"
            for entry, label in zip(entries, labels, strict=True)
        )

    def bounds(self, item_def: etree._Element) -> tuple[str, str]:
        found = {"GE": "", "LE": ""}
        for check in item_def.iterchildren(self.odm("RangeCheck")):
            value = check.find(self.odm("CheckValue"))
            if check.get("Comparator") in found and value is not None:
                found[check.get("Comparator", "")] = (value.text or "").strip()
        return found["GE"], found["LE"]

    # - what only the XML holds

    def schedule(self) -> Schedule:
        """Events as visits; a classic project (no events) has none, as its dictionary."""
        schedule = Schedule()
        events = list(self.version.iterchildren(self.odm("StudyEventDef")))
        if not events:
            message = "a classic project has no events: define the visits in the designer"
            self.note("schedule", message, FindingLevel.INFO)
            return schedule
        arms = {(event.get(q("ArmNum")), event.get(q("ArmName"))) for event in events}
        if len(arms) > 1:
            named = ", ".join(f"{number} ({name})" for number, name in sorted(arms, key=str))
            message = (
                f"{len(arms)} arms ({named}): their events are visits of one schedule, "
                "each visit named after its event and arm"
            )
            self.note("arms", message)
        for event in events:
            schedule.visits.append(self.visit(event))
        return schedule

    def visit(self, event: etree._Element) -> Visit:
        oid = event.get("OID", "")
        name = event.get(q("UniqueEventName")) or oid.removeprefix("Event.")
        if not NAME_PATTERN.match(name):
            renamed = variable_name(name)
            self.note(
                f"StudyEventDef {oid}", f"{name!r} is not an event name: imported as {renamed}"
            )
            name = renamed
        # Name adds the arm to the event's name; a custom label is a piping template
        title = event.get(q("EventName")) or event.get("Name") or name
        visit = Visit(oid=f"V.{oid_part(name)}", name=name, title={self.language: title.strip()})
        day, before, after = (
            event.get(q(key), "") for key in ("DayOffset", "OffsetMin", "OffsetMax")
        )
        if INTEGER.match(day):
            visit.day = int(day)
        visit.window_before = int(before) if INTEGER.match(before) else 0
        visit.window_after = int(after) if INTEGER.match(after) else 0
        for ref in event.iterchildren(self.odm("FormRef")):
            form = ref.get(q("FormName")) or ref.get("FormOID", "").removeprefix("Form.")
            visit.forms.append(form)
        return visit

    def repeating(self, forms: list[Form], visits: list[Visit]) -> None:
        """REDCap's repeating instruments and events, listed in GlobalVariables."""
        variables = self.study.find(self.odm("GlobalVariables"))
        setup = (
            variables.find(q("RepeatingInstrumentsAndEvents")) if variables is not None else None
        )
        if setup is None:
            return
        by_name = {form.name: form for form in forms}
        by_visit = {visit.name: visit for visit in visits}
        for entry in setup.iter(q("RepeatingInstrument"), q("RepeatingEvent")):
            event = entry.get(q("UniqueEventName")) or ""
            if etree.QName(entry).localname == "RepeatingEvent":
                if event in by_visit:
                    by_visit[event].repeating = True
                else:
                    self.note("repeating events", f"event {event} is not defined: not read")
                continue
            form = entry.get(q("RepeatInstrument")) or ""
            if form in by_name:
                by_name[form].repeating = True
                if visits:
                    message = (
                        f"repeats at event {event} in REDCap: repeats in every visit listing it"
                    )
                    self.note(f"form {form}", message, FindingLevel.INFO)
            else:
                self.note("repeating instruments", f"form {form} has no field kept: not read")


def read_project(
    study: etree._Element,
    version: etree._Element,
    language: str,
    findings: list[Finding],
    entries: Mapping[etree._Element, list[CodeEntry]],
) -> ImportResult:
    """The design of a REDCap project XML's MetaDataVersion; ``findings`` so far are kept, and
    ``entries`` are the code lists read while parsing."""
    return _Project(study, version, language, findings, entries).read()
