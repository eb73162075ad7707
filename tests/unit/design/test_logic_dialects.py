"""Logic others can run: a design's branching and calculations exported beside Datacapt's own
language in XPath (for ODM readers) and in REDCap's syntax (REDCap's attributes in the ODM
export, the cells of a data dictionary), with what could not be translated reported."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from lxml import etree

from datacapt.design.interchange import odm
from datacapt.design.interchange.findings import FindingLevel
from datacapt.design.interchange.odm_reader import read_metadata
from datacapt.design.interchange.odm_writer import write_metadata_report
from datacapt.design.interchange.redcap_reader import read_dictionary
from datacapt.design.interchange.redcap_writer import write_dictionary
from datacapt.ecrf.definition import (
    Definition,
    Form,
    Item,
    ItemType,
    Section,
    SubSection,
    Validation,
    Visit,
)
from datacapt.expressions import parse
from tests.unit.design.test_odm import definitions, official_schema

NS = {"odm": odm.ODM_NS}


def item(name: str, **more: object) -> Item:
    return Item(
        oid=f"I.{name.upper()}",
        name=name,
        type=more.pop("type", ItemType.TEXT),  # type: ignore[arg-type]
        label={"en": name},
        **more,  # type: ignore[arg-type]
    )


def design() -> Definition:
    form = Form(
        oid="F.VITALS",
        name="vitals",
        title={"en": "Vitals"},
        sections=[
            Section(
                oid="S.1",
                show_if="[consent] = '1'",
                subsections=[
                    SubSection(
                        oid="G.1",
                        blocks=[
                            item("consent", type=ItemType.YES_NO),
                            item("weight", validation=Validation.NUMBER),
                            item("height", validation=Validation.NUMBER),
                            item(
                                "bmi",
                                type=ItemType.CALCULATED,
                                calculation="round([weight] / ([height] / 100) ^ 2, 1)",
                            ),
                            item("heavy", show_if="[weight] > 100 && !([baseline][weight] < 60)"),
                            item("repeat_only", show_if="[weight][2] > 1"),
                            item("dated", show_if="[visit_date] > today"),
                            item("visit_date", validation=Validation.DATE),
                            item(
                                "delta",
                                type=ItemType.CALCULATED,
                                calculation="[weight] - [baseline][weight]",
                            ),
                        ],
                    )
                ],
            )
        ],
    )
    definition = Definition(forms=[form])
    definition.schedule.visits = [
        Visit(oid="SE.BASELINE", name="baseline", title={"en": "Baseline"}, forms=["vitals"])
    ]
    return definition


def export(definition: Definition) -> tuple[bytes, list]:
    return write_metadata_report(
        definition,
        study_oid="ST.1",
        study_name="Study",
        version_oid="MDV.1",
        version_name="Version 1",
        redcap_logic=True,
    )


def without_redcap(document: bytes) -> etree._Element:
    root = etree.fromstring(document)
    for element in root.iter():
        for name in [name for name in element.attrib if name.startswith(f"{{{odm.REDCAP_NS}}}")]:
            del element.attrib[name]
    return root


def item_def(root: etree._Element, oid: str) -> etree._Element:
    return root.find(f".//odm:ItemDef[@OID='{oid}']", NS)


def formal(root: etree._Element, oid: str, context: str) -> str | None:
    element = root.find(f".//*[@OID='{oid}']/odm:FormalExpression[@Context='{context}']", NS)
    return None if element is None else element.text


def test_branching_and_calculations_in_xpath_and_redcap_syntax() -> None:
    document, findings = export(design())
    root = etree.fromstring(document)
    heavy = item_def(root, "I.HEAVY")
    assert heavy.get(odm.REDCAP_BRANCHING) == (
        "[consent] = '1' and ([weight] > 100 and !([baseline][weight] < 60))"
    )
    assert item_def(root, "I.BMI").get(odm.REDCAP_CALCULATION) == (
        "round([weight] / ([height] / 100)^2, 1)"
    )
    assert formal(root, "SHOW.I.HEAVY", "XPath") == (
        "not(ItemData[@ItemOID='I.WEIGHT'][@Value > 100] and "
        "not(StudyEventData[@StudyEventOID='SE.BASELINE']/ItemData[@ItemOID='I.WEIGHT']"
        "[@Value < 60]))"
    )
    consent = item_def(root, "I.WEIGHT").get(odm.REDCAP_BRANCHING)
    assert consent == "[consent] = '1'"  # the section's condition, on each of its fields
    assert formal(root, "CALC.I.DELTA", "XPath") == (
        "number(ItemData[@ItemOID='I.WEIGHT']/@Value) - number(StudyEventData"
        "[@StudyEventOID='SE.BASELINE']/ItemData[@ItemOID='I.WEIGHT']/@Value)"
    )
    reported = {(finding.where, finding.message.split(":")[0]) for finding in findings}
    assert reported == {
        ("I.BMI", "calculation not written in XPath"),
        ("I.REPEAT_ONLY", "branching not written in XPath"),
        ("I.DATED", "branching not written in XPath"),
        ("I.DATED", "branching not written in REDCap's syntax"),
    }
    assert all(finding.level is FindingLevel.INFO for finding in findings)
    assert item_def(root, "I.DATED").get(odm.REDCAP_BRANCHING) is None


def test_the_export_is_valid_odm_with_its_declared_extension() -> None:
    document, _findings = export(design())
    assert odm.odm_schema(extended=True).validate(etree.fromstring(document))
    assert not official_schema().validate(etree.fromstring(document))
    assert official_schema().validate(without_redcap(document))


def test_an_odm_reader_without_datacapt_reads_the_xpath_back() -> None:
    document, _findings = export(design())
    root = etree.fromstring(document)
    for expression in root.findall(".//odm:FormalExpression[@Context='datacapt']", NS):
        expression.getparent().remove(expression)
    definition = read_metadata(etree.tostring(root)).definition
    heavy = definition.item("heavy")
    assert heavy is not None and heavy.show_if is not None
    assert parse(heavy.show_if) == parse("[weight] > 100 and not ([baseline][weight] < 60)")


def test_a_redcap_dictionary_writes_redcaps_syntax_and_reads_back_equal() -> None:
    definition = design()
    definition.schedule.visits = []
    for block in definition.forms[0].sections[0].subsections[0].blocks:
        if isinstance(block, Item) and block.name == "heavy":
            block.show_if = "[weight] > 100 && !([weight] < 60) || [user-name] = 'x'"
        if isinstance(block, Item) and block.name == "delta":
            block.calculation = "[weight] - [weight][previous-instance]"
    definition.forms[0].sections[0].show_if = None
    text, findings = write_dictionary(definition)
    rows = {row[0]: row for row in csv.reader(io.StringIO(text))}
    assert rows["heavy"][11] == "[weight] > 100 and !([weight] < 60) or [user-name] = 'x'"
    assert rows["delta"][5] == "[weight] - [weight][previous-instance]"
    assert rows["dated"][11] == "[visit_date] > today"
    assert any("no REDCap equivalent" in f.message for f in findings if f.where == "I.DATED")
    again = read_dictionary(text.encode()).definition
    assert (
        again.item("heavy").show_if == "[weight] > 100 and not ([weight] < 60) or [user-name] = 'x'"
    )
    assert again.item("delta").calculation == "[weight] - [weight][previous-instance]"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions())
def test_any_design_exported_with_its_dialects_reimports_equal(definition: Definition) -> None:
    document, findings = export(definition)
    assert odm.odm_schema(extended=True).validate(etree.fromstring(document))
    assert official_schema().validate(without_redcap(document))
    result = read_metadata(document)
    assert result.definition == definition
    assert all(finding.level is FindingLevel.INFO for finding in findings)
    for _form, found in definition.items():
        written = item_def(etree.fromstring(document), found.oid).get(odm.REDCAP_CALCULATION)
        if found.calculation and written is not None:
            assert parse(written) == parse(found.calculation)
