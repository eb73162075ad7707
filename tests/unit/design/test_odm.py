"""CDISC ODM 1.3.2 study metadata: tolerant import of real files, strict (XSD-valid) export, and
lossless round trips of Datacapt's own designs."""

from __future__ import annotations

import gc
import time
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from datacapt.design.interchange.findings import FindingLevel, ImportResult, InterchangeError
from datacapt.design.interchange.odm import OdmSchemaError, negate
from datacapt.design.interchange.odm_reader import read_metadata
from datacapt.design.interchange.odm_writer import write_metadata
from datacapt.ecrf.definition import (
    Alias,
    Choice,
    Definition,
    EditCheck,
    Form,
    Item,
    ItemType,
    Range,
    Schedule,
    Section,
    Severity,
    Slider,
    Static,
    SubSection,
    Text,
    Validation,
    Visit,
    form_blocks,
)
from datacapt.expressions import parse
from datacapt.patterns import pattern_problem
from tests.conftest import REFERENCE_DATA

SHARED = REFERENCE_DATA
ODM_FILES = SHARED / "odm"
CDISC = ODM_FILES / "cdisc-metadata-1.3.2-multilanguage.xml"
CDASH = ODM_FILES / "cdash-odm-1.3.2.xml"
OPENEDC = ODM_FILES / "openedc-metadata.xml"
OPENEDC_DATA = ODM_FILES / "openedc-clinicaldata.xml"
REDCAP = SHARED / "redcap" / "validation-types-1" / "project.xml"
PLAIN_FILES = [CDISC, CDASH, OPENEDC]  # a REDCap project's checkboxes are one item each
REFERENCE_FILES = [*PLAIN_FILES, REDCAP]
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


@cache
def official_schema() -> etree.XMLSchema:
    """The official CDISC copy in tests/data, independent of the one the product ships."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SHARED / "odm-1.3.2-xsd" / "ODM1-3-2.xsd"), parser))


@cache
def imported(path: Path) -> ImportResult:
    return read_metadata(path.read_bytes())


def export(definition: Definition) -> bytes:
    return write_metadata(
        definition,
        study_oid="ST.1",
        study_name="Étude <test> & co",
        version_oid="MDV.1",
        version_name="Version 1",
        description='A study\'s "design"',
    )


def assert_valid(document: bytes) -> None:
    schema = official_schema()
    valid = schema.validate(etree.fromstring(document))
    assert valid, schema.error_log.last_error


def items(definition: Definition) -> list[Item]:
    return [item for _form, item in definition.items()]


def subsections(definition: Definition) -> list[SubSection]:
    return [sub for form in definition.forms for sec in form.sections for sub in sec.subsections]


def expressions(definition: Definition) -> list[str]:
    """Every expression in the definition: show_if, calculations, edit checks."""
    found = [section.show_if for form in definition.forms for section in form.sections]
    found += [subsection.show_if for subsection in subsections(definition)]
    for form in definition.forms:
        for block in form_blocks(form):
            found.append(block.show_if)
            if isinstance(block, Item):
                found.append(block.calculation)
                found += [check.condition for check in block.edit_checks]
    return [expression for expression in found if expression is not None]


def levels(result: ImportResult) -> Counter[FindingLevel]:
    return Counter(finding.level for finding in result.findings)


def messages(result: ImportResult) -> str:
    return "\n".join(str(finding) for finding in result.findings)


def odm(metadata: str, basic: str = "", extra: str = "") -> bytes:
    """A small ODM document around the given MetaDataVersion content."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileType="Snapshot" FileOID="F"
     CreationDateTime="2024-01-01T00:00:00" ODMVersion="1.3.2"{extra}>
  <Study OID="S"><GlobalVariables><StudyName>S</StudyName><StudyDescription/>
    <ProtocolName>S</ProtocolName></GlobalVariables>{basic}
    <MetaDataVersion OID="V" Name="V">{metadata}</MetaDataVersion>
  </Study>
</ODM>""".encode()


def one_form(items_xml: str, refs: str, *, extra_defs: str = "") -> bytes:
    """One form with one item group holding ``refs``, and the given ItemDefs."""
    return odm(
        f"""<FormDef OID="F.1" Name="Form" Repeating="No">
              <ItemGroupRef ItemGroupOID="IG.1" Mandatory="Yes"/></FormDef>
            <ItemGroupDef OID="IG.1" Name="Group" Repeating="No">{refs}</ItemGroupDef>
            {items_xml}{extra_defs}"""
    )


# --- the reference files ----------------------------------------------------------------------


def test_cdisc_example_counts() -> None:
    result = imported(CDISC)
    definition = result.definition
    assert definition.default_language == "en"
    # en/fr/de/ko, plus seven roman numerals in Italian in CL_DIARY_DAY ("kr" is only a
    # Presentation's language, not a text's).
    assert definition.languages == ["en", "fr", "de", "ko", "it"]
    assert [visit.oid for visit in definition.schedule.visits] == [
        "BASELINE",
        "WEEK_1",
        "WEEK_2",
        "DIARY",
        "AE",
    ]
    assert [visit.repeating for visit in definition.schedule.visits] == [
        False,
        False,
        False,
        True,
        False,
    ]
    assert len(definition.forms) == 7
    assert definition.schedule.visits[0].forms == [
        "f_baseline",
        "f_cm",
        "laboratory",
        "f_complaints_rel_smoking",
    ]
    # 14 ItemGroupDefs; IG_COMMON is in 6 forms and IG_SMOKING_COMPLAINTS in 2: 20 sub-sections.
    assert len(subsections(definition)) == 20
    assert all(len(form.sections) == 1 for form in definition.forms)
    # 63 ItemDefs, 61 referenced; counting each use: 90 items, all names and OIDs distinct.
    all_items = items(definition)
    assert len(all_items) == 90
    assert len({item.oid.split(".")[0] for item in all_items}) == 61
    assert len({item.name for item in all_items}) == 90
    assert len(set(definition.oids())) == len(list(definition.oids()))
    choice_items = [item for item in all_items if item.type is ItemType.SINGLE_CHOICE]
    assert len(choice_items) == 24
    by_oid = {item.oid: item for item in all_items}
    assert [choice.code for choice in by_oid["I_SEX"].choices] == ["M", "F"]
    assert by_oid["I_SEX"].choices[1].label["de"] == "Weiblich"
    assert len(by_oid["I_DAY"].choices) == 7
    assert by_oid["I_DAY"].widget == "dropdown" and by_oid["I_SEX"].widget == "radio"
    assert by_oid["I_SYSBP"].units == "mm Hg" and by_oid["I_WEIGHT"].units == "lbs"
    assert by_oid["I_LB_RBC"].validation is Validation.NUMBER and by_oid["I_LB_RBC"].decimals == 3
    assert by_oid["I_SMOKING"].type is ItemType.YES_NO
    assert by_oid["I_SITE"].aliases == [Alias("SDTM", "SITEID")]
    assert by_oid["I_SYSBP"].label == {
        "en": "Systolic blood pressure",
        "fr": "Tension artérielle systolique",
        "de": "Systolischer Blutdruck",
    }


def test_cdisc_example_ranges() -> None:
    by_oid = {item.oid: item for item in items(imported(CDISC).definition)}
    # LT on integers is exact (LT 180 → at most 179); checks in another unit than the item's
    # (height in cm, weight in kg) are reported and dropped.
    assert by_oid["I_SYSBP"].hard_range == Range(max="179")
    assert by_oid["I_HEIGHT"].hard_range == Range(max="89")
    assert by_oid["I_WEIGHT"].hard_range == Range(max="299")
    assert by_oid["I_LB_RBC"].hard_range == Range(min="2.0", max="8.0")
    assert by_oid["I_LB_RBC"].soft_range == Range(min="4.0", max="6.5")
    assert by_oid["I_LB_WBC"].soft_range == Range(min="3.5", max="12.0")
    text = messages(imported(CDISC))
    assert "RangeCheck LT 220 is in unit MU_CM" in text
    assert "RangeCheck LT 150 is in unit MU_KG" in text


def test_cdisc_example_conditions() -> None:
    result = imported(CDISC)
    definition = result.definition
    by_oid = {item.oid: item for item in items(definition)}
    # ODM says when NOT to collect; show_if says when to show.
    assert by_oid["I_NR_CIGARETTES"].show_if == "[smoking] <> '0'"  # boolean 'false' → code 0
    assert by_oid["I_DIZZY"].show_if == "not ([i_diabp] > 90)"
    assert by_oid["I_LB_RBC"].show_if == "[i_lb_rbc_notdone] <> '1'"
    groups = {sub.oid: sub for sub in subsections(definition)}
    assert groups["IG_AE"].show_if == "[i_ae_occurred] <> '0'"
    assert groups["IG_SMOKING_COMPLAINTS"].show_if == "[smoking] <> '0'"
    # The FormRef condition of the smoking form holds for its section.
    smoking_form = definition.form("f_complaints_rel_smoking")
    assert smoking_form is not None
    assert smoking_form.sections[0].show_if == "[smoking] <> '0'"
    # 13 ItemRefs, 3 ItemGroupRefs and 1 FormRef carry conditions: all 17 translated.
    translated = [item for item in items(definition) if item.show_if]
    assert len(translated) == 13
    assert len([sub for sub in subsections(definition) if sub.show_if]) == 3
    untranslated = [f for f in result.findings if "not translated" in f.message]
    assert [finding.where for finding in untranslated] == ["MethodDef METH.001"]
    # The one MethodDef is in MyScriptingLanguage: reported, the item stays an input item.
    assert by_oid["I_DIABP"].type is ItemType.TEXT and by_oid["I_DIABP"].calculation is None
    assert "MethodDef METH.001: expression not translated" in messages(result)
    assert "ConditionDef: 1 not kept (not used by any reference): COND.SEX.MALE" in messages(result)


def test_cdisc_example_findings() -> None:
    result = imported(CDISC)
    text = messages(result)
    assert "Presentation: 4 not kept" in text
    assert "ItemDef: 2 not kept (not referenced by any item group): I_SUBJECTINITIALS" in text
    assert "ItemDef: attributes not kept: SASFieldName ×25, SDSVarName ×46" in text
    assert "DataType URI" in text and "DataType durationDatetime" in text
    assert "ItemDef I_SITE: used 6 times" in text
    assert result.ok
    assert levels(result) == {FindingLevel.INFO: 26, FindingLevel.WARNING: 18}


def test_cdash_counts_and_aliases() -> None:
    result = imported(CDASH)
    definition = result.definition
    assert definition.languages == ["en"]
    assert len(definition.schedule.visits) == 1
    assert len(definition.forms) == 4  # one, "Not Displayed", is in no visit
    assert len(subsections(definition)) == 8  # 7 ItemGroupDefs, ODM.IG.COMMON twice
    all_items = items(definition)
    assert len(all_items) == 48  # 52 ItemDefs, 44 referenced, 4 of them twice
    by_oid = {item.oid: item for item in all_items}
    assert by_oid["ODM.IT.Common.StudyID"].aliases == [
        Alias("CDASH", "STUDYID"),
        Alias("SDTM", "STUDYID"),
    ]
    tree = etree.parse(str(CDASH))
    for item in all_items:
        (item_def,) = tree.xpath(
            "//odm:ItemDef[@OID=$oid]", namespaces=NS, oid=item.oid.removesuffix(".2")
        )
        written = [(a.get("Context"), a.get("Name")) for a in item_def.findall("odm:Alias", NS)]
        assert [(alias.context, alias.name) for alias in item.aliases] == written
    assert sum(len(item.aliases) for item in all_items) == 92
    assert by_oid["ODM.IT.AE.AESTDTC"].validation is Validation.PARTIAL_DATE
    assert by_oid["ODM.IT.VS.VSDAT"].validation is Validation.PARTIAL_DATE
    severity = by_oid["ODM.IT.AE.AESEV"]
    assert [choice.code for choice in severity.choices] == ["MILD", "MODERATE", "SEVERE"]
    # The file's CodeListRefs to CL.SEX, CL.RACE … name code lists it does not have.
    assert by_oid["ODM.IT.DM.SEX"].choices == []
    assert "CodeListRef to missing CodeList CL.SEX" in messages(result)
    assert levels(result) == {FindingLevel.INFO: 6, FindingLevel.WARNING: 7}


def test_openedc_conditions_and_calculations() -> None:
    result = imported(OPENEDC)
    definition = result.definition
    assert definition.languages == ["en", "de"]
    assert [visit.name for visit in definition.schedule.visits] == [
        "baseline_t0",
        "follow_up_t1",
        "follow_up_t2",
    ]
    assert len(definition.forms) == 5 and len(subsections(definition)) == 9
    by_oid = {item.oid: item for item in items(definition)}
    assert len(by_oid) == 28
    # !(Gender == "Female") says when not to collect: shown when the gender is female.
    assert by_oid["Pregnant"].show_if == "[gender] = 'Female'"
    assert by_oid["I.6"].show_if == "[countryofbirth] = 'Other'"
    assert len([item for item in by_oid.values() if item.show_if]) == 9
    bmi = by_oid["BMI"]
    assert bmi.type is ItemType.CALCULATED
    assert bmi.calculation == "[weight] / [height] ^ 2"
    assert bmi.units == "Calculated"
    who = by_oid["I.2"]
    assert who.calculation == "([who_1] + [who_2] + [who_3] + [who_4] + [who_5]) * 4"
    assert by_oid["Age"].hard_range == Range(min="18", max="119")
    assert by_oid["Height"].hard_range == Range(min="1", max="3")  # GT/LT on decimals: widened
    assert "RangeCheck GT 1: the bound is kept" in messages(result)
    assert by_oid["Gender"].choices[0].label == {"en": "Female", "de": "Weiblich"}
    assert levels(result) == {FindingLevel.INFO: 2}


def test_a_redcap_project_xml_is_read_from_its_redcap_attributes() -> None:
    """REDCap's namespace holds the dictionary: no "extension ignored", a checkbox is one item
    (tests/unit/design/test_redcap_project.py compares it with the dictionary)."""
    result = imported(REDCAP)
    definition = result.definition
    assert len(definition.forms) == 1 and len(items(definition)) == 48
    assert definition.languages == ["en"]  # REDCap's TranslatedTexts have no xml:lang
    assert items(definition)[0].label == {"en": "Record ID"}
    assert not [finding for finding in result.findings if "projectredcap.org" in finding.where]
    assert "the records' data are not read" in messages(result)


@pytest.mark.parametrize("path", PLAIN_FILES, ids=lambda path: path.stem)
def test_counts_match_the_file(path: Path) -> None:
    """Visits, forms, sub-sections, items and choices, counted in the file with XPath: every
    reference that resolves is one object of the design (a shared definition once per use)."""
    version = etree.parse(str(path)).find("odm:Study/odm:MetaDataVersion", NS)
    assert version is not None

    def count(query: str, **variables: str) -> int:
        return int(version.xpath(f"count({query})", namespaces=NS, **variables))

    definition = imported(path).definition
    assert len(definition.schedule.visits) == count("odm:StudyEventDef[@Type!='Unscheduled']")
    assert len(definition.forms) == count("odm:FormDef")
    expected_groups = expected_items = expected_choices = 0
    for group_ref in version.xpath("odm:FormDef/odm:ItemGroupRef", namespaces=NS):
        group_oid = group_ref.get("ItemGroupOID")
        expected_groups += count("odm:ItemGroupDef[@OID=$oid]", oid=group_oid)
        for item_ref in version.xpath(
            "odm:ItemGroupDef[@OID=$oid]/odm:ItemRef", namespaces=NS, oid=group_oid
        ):
            item = "odm:ItemDef[@OID=$oid]"
            expected_items += count(item, oid=item_ref.get("ItemOID"))
            expected_choices += count(
                f"odm:CodeList[@OID=../{item}/odm:CodeListRef/@CodeListOID]/odm:CodeListItem",
                oid=item_ref.get("ItemOID"),
            )
    assert len(subsections(definition)) == expected_groups
    assert len(items(definition)) == expected_items
    assert sum(len(item.choices) for item in items(definition)) == expected_choices


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=lambda path: path.stem)
def test_reference_file_expressions_parse(path: Path) -> None:
    for expression in expressions(imported(path).definition):
        parse(expression)


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=lambda path: path.stem)
def test_reference_file_round_trip(path: Path) -> None:
    definition = imported(path).definition
    document = export(definition)
    assert_valid(document)
    again = read_metadata(document)
    assert again.definition == definition
    assert again.findings == []


# --- Datacapt's own designs -------------------------------------------------------------------


def full_definition() -> Definition:
    """A design using every feature of the model."""
    both = lambda en, fr: {"en": en, "fr": fr}  # noqa: E731
    sex = Item(
        oid="I.SEX",
        name="sex",
        type=ItemType.SINGLE_CHOICE,
        label=both("Sex", "Sexe"),
        help=both("As <registered> & declared", "Tel que déclaré"),
        required=True,
        choices=[Choice("1", both("Male", "Homme")), Choice("2", both("Female", "Femme"))],
        widget="radio",
        aliases=[Alias("SDTM", "SEX"), Alias("CDASH", "SEX"), Alias("SDTM", "DM.SEX")],
    )
    weight = Item(
        oid="I.WEIGHT",
        name="weight",
        type=ItemType.TEXT,
        label=both("Weight", "Poids"),
        units="kg",
        validation=Validation.NUMBER,
        decimals=1,
        decimal_comma=True,
        hard_range=Range(min="20", max="300"),
        soft_range=Range(max="150"),
        edit_checks=[
            EditCheck("EC.1", "[weight] > 200", both("Heavy?", "Lourd ?")),
            EditCheck("EC.2", "[weight] < 25", {"en": "Too light"}, Severity.BLOCKING),
        ],
        annotation="VS.VSORRES where VSTESTCD = 'WEIGHT'",
    )
    height = Item(
        oid="I.HEIGHT",
        name="height",
        type=ItemType.TEXT,
        label={"en": "Height"},
        units="m",
        validation=Validation.NUMBER,
        hard_range=Range(min="0.5"),
    )
    bmi = Item(
        oid="I.BMI",
        name="bmi",
        type=ItemType.CALCULATED,
        label={"en": "BMI"},
        units="kg",
        decimals=2,
        calculation="round([weight] / [height] ^ 2, 2)",
    )
    text_items = [
        Item(
            oid=f"I.{validation.name}",
            name=f"v_{validation.value}",
            type=ItemType.TEXT,
            label={"en": validation.value},
            validation=validation,
        )
        for validation in Validation
    ]
    by_name = {item.name: item for item in text_items}
    by_name["v_date"].date_format = "dmy"
    by_name["v_datetime"].with_seconds = True
    by_name["v_regex"].pattern = r"^\d{5}$"
    by_name["v_regex"].pattern_name = "postal_code_fr"
    by_name["v_email"].identifier = True
    by_name["v_email"].max_length = 120
    by_name["v_integer"].missing_codes_allowed = True
    kinds = [
        Item(oid="I.NOTES", name="notes", type=ItemType.LONG_TEXT, label={"en": "Notes"}),
        Item(
            oid="I.SYMPTOMS",
            name="symptoms",
            type=ItemType.MULTIPLE_CHOICE,
            label={"en": "Symptoms"},
            choices=[Choice(code, {"en": code.title()}) for code in ("cough", "fever")],
        ),
        Item(
            oid="I.COUNTRY",
            name="country",
            type=ItemType.SINGLE_CHOICE,
            label={"en": "Country"},
            choices=[Choice(str(code), {"en": f"C{code}"}) for code in range(8)],
            widget="autocomplete",
        ),
        Item(oid="I.SMOKER", name="smoker", type=ItemType.YES_NO, label={"en": "Smoker"}),
        Item(
            oid="I.CIGARETTES",
            name="cigarettes",
            type=ItemType.TEXT,
            label={"en": "Cigarettes a day"},
            validation=Validation.INTEGER,
            show_if="[smoker] = '1'",
        ),
        Item(oid="I.TRUE", name="consent_true", type=ItemType.TRUE_FALSE, label={"en": "True?"}),
        Item(
            oid="I.PAIN",
            name="pain",
            type=ItemType.SLIDER,
            label=both("Pain", "Douleur"),
            slider=Slider(
                min=0,
                max=10,
                left=both("None", "Aucune"),
                middle={"en": "Some"},
                right=both("Worst", "Pire"),
                show_number=True,
            ),
        ),
        Item(
            oid="I.SCAN",
            name="scan",
            type=ItemType.FILE,
            label={"en": "Scan"},
            file_kind="file",
        ),
        Item(
            oid="I.SIGN",
            name="signature",
            type=ItemType.FILE,
            label={"en": "Signature"},
            file_kind="signature",
        ),
        Item(oid="I.ACK", name="ack", type=ItemType.ACKNOWLEDGEMENT, label={"en": "I agree"}),
        Item(
            oid="I.ODD",
            name="odd_",
            type=ItemType.SINGLE_CHOICE,
            label={"en": "No choices yet"},
            validation=Validation.INTEGER,
            widget=None,
            aliases=[Alias("datacapt:mine", "x"), Alias("", "empty context")],
        ),
    ]
    intro = Static(
        oid="B.INTRO",
        content=both("**Welcome**\n\n* one\n* two", "**Bienvenue**"),
        show_if="[sex] = '2'",
    )
    demographics = Form(
        oid="F.DM",
        name="demographics",
        title=both("Demographics", "Démographie"),
        sections=[
            Section(
                oid="S.DM",
                title=both("Identity", "Identité"),
                subsections=[
                    SubSection(oid="SS.INTRO", blocks=[intro]),
                    SubSection(oid="SS.DM", title={"en": "Subject"}, blocks=[sex, weight]),
                ],
            ),
            Section(oid="S.EMPTY", title={"en": "To do"}, show_if="[sex] = '1'"),
            Section(
                oid="S.VS",
                show_if="[sex] <> ''",
                subsections=[
                    SubSection(
                        oid="SS.VS",
                        title=both("Vital signs", "Signes vitaux"),
                        blocks=[height, bmi],
                        show_if="[weight] <> ''",
                    ),
                    SubSection(oid="SS.EMPTY"),
                ],
            ),
        ],
    )
    kinds_form = Form(
        oid="F.KINDS",
        name="kinds",
        title={"en": "Every kind"},
        repeating=True,
        sections=[
            Section(
                oid="S.KINDS",
                subsections=[
                    SubSection(oid="SS.TEXT", blocks=list(text_items)),
                    SubSection(
                        oid="SS.KINDS",
                        blocks=list(kinds),
                        repeating=True,
                        matrix="grid_1",
                    ),
                ],
            )
        ],
    )
    empty_form = Form(oid="F.EMPTY", name="empty", title={"en": "Empty"})
    return Definition(
        default_language="en",
        languages=["en", "fr", "de"],
        forms=[demographics, kinds_form, empty_form],
        schedule=Schedule(
            visits=[
                Visit(
                    oid="V.SCREENING",
                    name="screening",
                    title=both("Screening", "Sélection"),
                    day=-14,
                    window_before=3,
                    forms=["demographics", "kinds"],
                ),
                Visit(
                    oid="V.BASELINE",
                    name="baseline",
                    title={"en": "Baseline"},
                    day=0,
                    forms=["kinds"],
                ),
                Visit(
                    oid="V.FOLLOWUP",
                    name="follow_up",
                    title={"en": "Follow-up"},
                    repeating=True,
                    window_after=7,
                    forms=["kinds", "empty"],
                ),
            ],
            unscheduled_allowed=True,
            unscheduled_forms=["kinds"],
        ),
    )


def test_full_definition_round_trip() -> None:
    definition = full_definition()
    document = export(definition)
    assert_valid(document)
    result = read_metadata(document)
    assert result.definition == definition
    assert result.findings == []


def test_a_pattern_re2_cannot_run_is_reported_and_left_out() -> None:
    definition = full_definition()
    item = definition.item("v_regex")
    assert item is not None
    item.pattern = r"^(?!00)([0-9])\1{4}$"
    result = read_metadata(export(definition))
    imported_item = result.definition.item("v_regex")
    assert imported_item is not None and imported_item.pattern is None
    [finding] = result.findings
    assert finding.where == "ItemDef I.REGEX" and finding.level is FindingLevel.WARNING
    assert "cannot be matched safely (invalid perl operator: (?!)" in finding.message


def test_full_definition_is_plain_odm_too() -> None:
    """A reader that knows only ODM sees the visits, forms, questions, choices and ranges."""
    tree = etree.fromstring(export(full_definition()))
    version = tree.find("odm:Study/odm:MetaDataVersion", NS)
    assert version is not None
    events = version.findall("odm:StudyEventDef", NS)
    assert [event.get("Type") for event in events] == [
        "Scheduled",
        "Scheduled",
        "Common",
        "Unscheduled",
    ]
    weight = version.find("odm:ItemDef[@OID='I.WEIGHT']", NS)
    assert weight is not None and weight.get("DataType") == "float"
    checks = [
        (c.get("Comparator"), c.get("SoftHard")) for c in weight.findall("odm:RangeCheck", NS)
    ]
    assert checks == [("GE", "Hard"), ("LE", "Hard"), ("LE", "Soft")]
    assert weight.xpath(
        "odm:Question/odm:TranslatedText[@xml:lang='fr']/text()", namespaces=NS
    ) == ["Poids"]
    bmi_ref = version.find(".//odm:ItemRef[@ItemOID='I.BMI']", NS)
    method = version.find(f"odm:MethodDef[@OID='{bmi_ref.get('MethodOID')}']", NS)
    assert method.get("Type") == "Computation"
    cigarettes = version.find(".//odm:ItemRef[@ItemOID='I.CIGARETTES']", NS)
    condition = version.find(
        f"odm:ConditionDef[@OID='{cigarettes.get('CollectionExceptionConditionOID')}']", NS
    )
    expression = condition.find("odm:FormalExpression", NS)
    assert expression.get("Context") == "datacapt"
    assert expression.text == "not ([smoker] = '1')"
    sex = version.find("odm:ItemDef[@OID='I.SEX']", NS)
    assert [alias.get("Context") for alias in sex.findall("odm:Alias", NS)] == [
        "SDTM",
        "CDASH",
        "datacapt:alias:3",
    ]
    assert tree.get("ODMVersion") == "1.3.2" and tree.get("FileType") == "Snapshot"
    assert tree.get("CreationDateTime").endswith("+00:00")


def test_invalid_export_is_refused() -> None:
    """A definition the schema cannot hold (a code twice in one list) is never written."""
    definition = full_definition()
    sex = definition.item("sex")
    assert sex is not None
    sex.choices.append(Choice("1", {"en": "Again"}))
    with pytest.raises(OdmSchemaError, match=r"CodedValue|UC-CL-1|unique"):
        export(definition)


def test_unknown_form_in_a_visit_is_refused() -> None:
    definition = full_definition()
    definition.schedule.visits[0].forms.append("nowhere")
    with pytest.raises(ValueError, match="nowhere"):
        export(definition)


def test_negate_is_undone_by_negate() -> None:
    for expression in ["[a] = '1'", "not ([a] = 1) or ([b] = 2)", "[a] = ')' and [b] = '('"]:
        assert negate(negate(expression)) == expression
    assert negate("not (a) or not (b)") == "not (not (a) or not (b))"


# --- ODM features and quirks ------------------------------------------------------------------


def test_xpath_combinations_and_cross_visit_references() -> None:
    items_xml = """
      <ItemDef OID="I.A" Name="a" DataType="integer"/>
      <ItemDef OID="I.B" Name="b" DataType="text"/>
      <ItemDef OID="I.C" Name="c" DataType="text"/>"""
    refs = """<ItemRef ItemOID="I.A" Mandatory="No"/><ItemRef ItemOID="I.B" Mandatory="No"/>
      <ItemRef ItemOID="I.C" Mandatory="No" CollectionExceptionConditionOID="C.1"/>"""
    condition = """<ConditionDef OID="C.1" Name="c"><Description><TranslatedText>x
      </TranslatedText></Description><FormalExpression Context="XPath">
      ../ItemData[@ItemOID='I.A'][@Value &gt;= 3] and (../ItemData[@ItemOID="I.B"][@Value="x"]
      or not(/StudyEventData[@StudyEventOID='SE.1']/FormData[@FormOID='F.1']/ItemGroupData[
      @ItemGroupOID='IG.1']/ItemData[@ItemOID='I.B'][@Value!='y']))</FormalExpression>
      </ConditionDef>
      <StudyEventDef OID="SE.1" Name="Visit 1" Repeating="No" Type="Scheduled">
        <FormRef FormOID="F.1" Mandatory="Yes"/></StudyEventDef>"""
    result = read_metadata(one_form(items_xml, refs, extra_defs=condition))
    (item,) = [item for item in items(result.definition) if item.name == "c"]
    assert item.show_if == ("not ([a] >= 3 and ([b] = 'x' or not ([visit_1][b] <> 'y')))")
    parse(item.show_if)


def test_untranslatable_condition_is_quoted() -> None:
    items_xml = '<ItemDef OID="I.A" Name="a" DataType="text"/>'
    refs = '<ItemRef ItemOID="I.A" Mandatory="No" CollectionExceptionConditionOID="C.1"/>'
    condition = """<ConditionDef OID="C.1" Name="c"><Description><TranslatedText>x
      </TranslatedText></Description>
      <FormalExpression Context="XPath">count(../ItemData) &gt; 2</FormalExpression>
      <FormalExpression Context="SAS">A = 1</FormalExpression></ConditionDef>"""
    result = read_metadata(one_form(items_xml, refs, extra_defs=condition))
    assert items(result.definition)[0].show_if is None
    (finding,) = [f for f in result.findings if f.where == "ConditionDef C.1"]
    assert finding.level is FindingLevel.WARNING
    assert "ItemRef I.A" in finding.message
    assert "XPath: 'count(../ItemData) > 2'" in finding.message
    assert "SAS: 'A = 1'" in finding.message


def test_value_range_checks_become_edit_checks() -> None:
    items_xml = """
      <ItemDef OID="I.A" Name="a" DataType="integer">
        <RangeCheck Comparator="IN" SoftHard="Soft"><CheckValue>1</CheckValue>
          <CheckValue>2</CheckValue>
          <ErrorMessage><TranslatedText xml:lang="en">One or two</TranslatedText></ErrorMessage>
        </RangeCheck>
        <RangeCheck Comparator="NE" SoftHard="Hard"><CheckValue>7</CheckValue></RangeCheck>
        <RangeCheck Comparator="GT" SoftHard="Hard"><CheckValue>0</CheckValue></RangeCheck>
      </ItemDef>"""
    result = read_metadata(one_form(items_xml, '<ItemRef ItemOID="I.A" Mandatory="No"/>'))
    (item,) = items(result.definition)
    assert item.hard_range == Range(min="1")
    soft, hard = item.edit_checks
    assert soft.condition == "[a] <> '' and [a] <> 1 and [a] <> 2"
    assert soft.message == {"en": "One or two"} and soft.severity is Severity.WARNING
    assert hard.condition == "[a] = 7" and hard.severity is Severity.BLOCKING
    for check in item.edit_checks:
        parse(check.condition)
    assert len({check.oid for check in item.edit_checks}) == 2


def test_unscheduled_event_and_item_group_reuse() -> None:
    metadata = """
      <Protocol><StudyEventRef StudyEventOID="SE.U" Mandatory="No" OrderNumber="2"/>
        <StudyEventRef StudyEventOID="SE.1" Mandatory="Yes" OrderNumber="1"/></Protocol>
      <StudyEventDef OID="SE.1" Name="Day 1" Repeating="No" Type="Scheduled">
        <FormRef FormOID="F.1" Mandatory="Yes"/></StudyEventDef>
      <StudyEventDef OID="SE.U" Name="Extra" Repeating="Yes" Type="Unscheduled">
        <FormRef FormOID="F.2" Mandatory="Yes"/></StudyEventDef>
      <FormDef OID="F.1" Name="one" Repeating="No"><ItemGroupRef ItemGroupOID="IG" Mandatory="No"/>
      </FormDef>
      <FormDef OID="F.2" Name="two" Repeating="Yes"><ItemGroupRef ItemGroupOID="IG" Mandatory="No"/>
      </FormDef>
      <ItemGroupDef OID="IG" Name="G" Repeating="Yes"><ItemRef ItemOID="I" Mandatory="Yes"/>
      </ItemGroupDef>
      <ItemDef OID="I" Name="Weight (kg)" DataType="float" SignificantDigits="1"/>"""
    result = read_metadata(odm(metadata))
    definition = result.definition
    assert [visit.name for visit in definition.schedule.visits] == ["day_1"]
    assert definition.schedule.unscheduled_allowed
    assert definition.schedule.unscheduled_forms == ["two"]
    assert [(item.oid, item.name, item.required) for item in items(definition)] == [
        ("I", "i", True),
        ("I.2", "i_2", True),
    ]
    assert [sub.oid for sub in subsections(definition)] == ["IG", "IG.2"]
    assert "unscheduled" in messages(result)
    again = read_metadata(export(definition))
    assert again.definition == definition


def test_missing_references_are_findings() -> None:
    items_xml = """<ItemDef OID="I.A" Name="a" DataType="text">
      <CodeListRef CodeListOID="CL.NOWHERE"/></ItemDef>"""
    refs = """<ItemRef ItemOID="I.A" Mandatory="No" MethodOID="M.NOWHERE"/>
      <ItemRef ItemOID="I.GONE" Mandatory="No"/>"""
    result = read_metadata(one_form(items_xml, refs))
    (item,) = items(result.definition)
    assert item.type is ItemType.TEXT and item.choices == []
    text = messages(result)
    assert "ItemRef to missing ItemDef I.GONE" in text
    assert "CodeListRef to missing CodeList CL.NOWHERE" in text
    assert "MethodDef M.NOWHERE is missing" in text
    assert result.ok


def test_vendor_namespaces_one_finding_each() -> None:
    metadata = """<FormDef OID="F.1" Name="f" Repeating="No" oc:Version="2">
        <oc:FormDetails><oc:Layout/></oc:FormDetails></FormDef>
      <xx:Thing/>"""
    extra = ' xmlns:oc="http://www.openclinica.org/ns/odm_ext_v130/v3.1" xmlns:xx="urn:x"'
    result = read_metadata(odm(metadata, extra=extra))
    spaces = [finding for finding in result.findings if finding.where.startswith("namespace")]
    assert len(spaces) == 2
    openclinica = next(finding for finding in spaces if "openclinica" in finding.where)
    assert "elements FormDetails, Layout" in openclinica.message
    assert "attributes Version" in openclinica.message


def test_version_choice() -> None:
    document = REDCAP.read_bytes()
    with pytest.raises(InterchangeError, match="no MetaDataVersion 'nope'"):
        read_metadata(document, "nope")
    version = etree.fromstring(document).find("odm:Study/odm:MetaDataVersion", NS).get("OID")
    assert read_metadata(document, version).definition == imported(REDCAP).definition


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not well-formed XML"),
        (b"this is not XML", "not well-formed XML"),
        (b"<ODM><Study>", "not well-formed XML"),
        (b"<html><body/></html>", "not an ODM document"),
        (b'<ODM xmlns="urn:other"/>', "not an ODM document"),
        (b'<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"/>', "no MetaDataVersion"),
    ],
)
def test_not_odm_metadata(data: bytes, message: str) -> None:
    with pytest.raises(InterchangeError, match=message):
        read_metadata(data)


def test_clinical_data_only() -> None:
    with pytest.raises(InterchangeError, match=r"no MetaDataVersion.*ClinicalData only"):
        read_metadata(OPENEDC_DATA.read_bytes())


def test_external_entities_are_never_read() -> None:
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE ODM [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><Study OID="S"><MetaDataVersion OID="V" Name="V">
<FormDef OID="F" Name="&secret;" Repeating="No"/></MetaDataVersion></Study></ODM>"""
    external = b"""<?xml version="1.0"?>
<!DOCTYPE ODM SYSTEM "file:///etc/passwd">
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"/>"""
    for document in (xxe, external):
        with pytest.raises(InterchangeError) as raised:
            read_metadata(document)
        assert "root:" not in str(raised.value)


def test_billion_laughs_does_not_hang() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">'
        for n in range(1, 10)
    )
    document = (
        f'<?xml version="1.0"?><!DOCTYPE ODM [{entities}]>'
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" Description="&lol9;">&lol9;</ODM>'
    ).encode()
    started = time.monotonic()
    with pytest.raises(InterchangeError):
        read_metadata(document)
    assert time.monotonic() - started < 2


def test_reads_bytes_only() -> None:
    with pytest.raises(InterchangeError, match="bytes"):
        read_metadata(CDASH.read_text())  # type: ignore[arg-type]


# --- random designs ---------------------------------------------------------------------------

LANGUAGES = ["en", "fr", "de", "pl", "pt-BR"]
# XML 1.0 forbids most control characters and U+FFFE/U+FFFF; the rest of Unicode is fair game,
# with XML's own special characters and white space inside texts on purpose.
CHARACTERS = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"
) | st.sampled_from(list("<>&\"'\n\t\r ]]>"))
TEXT = st.text(CHARACTERS, min_size=1, max_size=12).map(str.strip).filter(bool)
NAME = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)


def runs_in_re2(pattern: str) -> bool:
    return pattern_problem(pattern) is None


@st.composite
def texts(draw: st.DrawFn, languages: list[str], required: bool = True) -> Text:
    """Texts by language; a required one has the default (first) language."""
    chosen = draw(st.lists(st.sampled_from(languages), unique=True, max_size=len(languages)))
    if required and languages[0] not in chosen:
        chosen.insert(0, languages[0])
    return {language: draw(TEXT) for language in chosen}


@st.composite
def definitions(draw: st.DrawFn) -> Definition:
    languages = draw(st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=3, unique=True))
    names = iter(draw(st.lists(NAME, min_size=60, max_size=60, unique=True)))
    counter = iter(range(10_000))

    def oid(prefix: str) -> str:
        return f"{prefix}.{next(counter)}{draw(st.sampled_from(['', '_X', '-é']))}"

    def optional(strategy: st.SearchStrategy) -> object:
        return draw(st.none() | strategy)

    field_names: list[str] = []

    def expression() -> str:
        reference = f"[{draw(st.sampled_from(field_names or ['x']))}]"
        return draw(
            st.sampled_from(
                [
                    f"{reference} = '1'",
                    f"{reference} > 3 and {reference} <> ''",
                    f'not ({reference} = "a(b")',
                    f"!({reference} = '1') || contains({reference}, 'a')",
                    f"{reference}[2] > 1 and [user-name] <> ''",
                    f"datediff({reference}, 'today', 'd', true) > 1 && {reference} > today",
                    f"if({reference} = 1, 2, 3) + 1",
                ]
            )
        )

    def bounds() -> Range | None:
        number = st.integers(-1000, 1000).map(str)
        low, high = draw(st.tuples(st.none() | number, st.none() | number))
        return None if low is None and high is None else Range(min=low, max=high)

    def item() -> Item:
        name = next(names)
        codes = draw(
            st.lists(st.from_regex(r"[A-Za-z0-9_]{1,4}", fullmatch=True), unique=True, max_size=7)
        )
        result = Item(
            oid=oid("I"),
            name=name,
            type=draw(st.sampled_from(ItemType)),
            label=draw(texts(languages)),
            help=draw(texts(languages, required=False)),
            units=optional(TEXT),
            required=draw(st.booleans()),
            identifier=draw(st.booleans()),
            missing_codes_allowed=draw(st.booleans()),
            validation=optional(st.sampled_from(Validation)),
            decimals=optional(st.integers(0, 6)),
            date_format=optional(st.sampled_from(["dmy", "mdy", "ymd"])),
            with_seconds=draw(st.booleans()),
            decimal_comma=draw(st.booleans()),
            pattern=optional(st.text(CHARACTERS, max_size=8).filter(runs_in_re2)),
            pattern_name=optional(NAME),
            max_length=optional(st.integers(1, 5000)),
            choices=[Choice(code, draw(texts(languages))) for code in codes],
            widget=optional(st.sampled_from(["radio", "dropdown", "autocomplete"])),
            file_kind=optional(st.sampled_from(["file", "signature"])),
            calculation=expression() if draw(st.booleans()) else None,
            show_if=expression() if draw(st.booleans()) else None,
            hard_range=bounds(),
            soft_range=bounds(),
            edit_checks=[
                EditCheck(
                    oid=oid("EC"),
                    condition=expression(),
                    message=draw(texts(languages, required=False)),
                    severity=draw(st.sampled_from(Severity)),
                )
                for _ in range(draw(st.integers(0, 2)))
            ],
            aliases=[
                Alias(draw(st.sampled_from(["SDTM", "CDASH", "", "datacapt:x"])), draw(TEXT))
                for _ in range(draw(st.integers(0, 3)))
            ],
            annotation=optional(st.text(CHARACTERS, max_size=8)),
        )
        if draw(st.booleans()):
            result.slider = Slider(
                min=draw(st.integers(-5, 5)),
                max=draw(st.integers(6, 100)),
                left=draw(texts(languages, required=False)),
                middle=draw(texts(languages, required=False)),
                right=draw(texts(languages, required=False)),
                show_number=draw(st.booleans()),
            )
        field_names.append(name)
        return result

    def block() -> Item | Static:
        if draw(st.integers(0, 4)) == 0:
            return Static(
                oid=oid("B"),
                content=draw(texts(languages, required=False)),
                show_if=expression() if draw(st.booleans()) else None,
            )
        return item()

    def subsection() -> SubSection:
        return SubSection(
            oid=oid("SS"),
            title=draw(texts(languages, required=False)),
            blocks=[block() for _ in range(draw(st.integers(0, 3)))],
            show_if=expression() if draw(st.booleans()) else None,
            repeating=draw(st.booleans()),
            matrix=optional(NAME),
        )

    def section() -> Section:
        return Section(
            oid=oid("S"),
            title=draw(texts(languages, required=False)),
            subsections=[subsection() for _ in range(draw(st.integers(0, 2)))],
            show_if=expression() if draw(st.booleans()) else None,
        )

    forms = [
        Form(
            oid=oid("F"),
            name=next(names),
            title=draw(texts(languages)),
            sections=[section() for _ in range(draw(st.integers(0, 2)))],
            repeating=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    form_names = [form.name for form in forms]
    some_forms = st.lists(st.sampled_from(form_names), unique=True) if forms else st.just([])
    visits = [
        Visit(
            oid=oid("V"),
            name=next(names),
            title=draw(texts(languages)),
            day=optional(st.integers(-30, 365)),
            window_before=draw(st.integers(0, 10)),
            window_after=draw(st.integers(0, 10)),
            repeating=draw(st.booleans()),
            forms=draw(some_forms),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    return Definition(
        default_language=languages[0],
        languages=draw(st.permutations(languages)),
        forms=forms,
        schedule=Schedule(
            visits=visits,
            unscheduled_allowed=draw(st.booleans()),
            unscheduled_forms=draw(some_forms),
        ),
    )


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions())
def test_random_definitions_round_trip(definition: Definition) -> None:
    document = export(definition)
    assert_valid(document)
    result = read_metadata(document)
    assert result.definition == definition
    assert result.findings == []


def test_accented_names_are_transliterated_not_mangled() -> None:
    document = f"""<ODM xmlns="{NS["odm"]}" FileOID="F" FileType="Snapshot"
    CreationDateTime="2026-01-01T00:00:00"><Study OID="S"><MetaDataVersion OID="M" Name="M">
    <Protocol><StudyEventRef StudyEventOID="E1" Mandatory="Yes"/></Protocol>
    <StudyEventDef OID="E1" Name="Visite à J7" Repeating="No" Type="Scheduled">
    <FormRef FormOID="F1" Mandatory="Yes"/></StudyEventDef>
    <FormDef OID="F1" Name="Résumé" Repeating="No">
    <ItemGroupRef ItemGroupOID="G1" Mandatory="Yes"/></FormDef>
    <ItemGroupDef OID="G1" Name="G" Repeating="No"><ItemRef ItemOID="I1" Mandatory="No"/>
    </ItemGroupDef><ItemDef OID="I1" Name="Größe" DataType="integer"/>
    </MetaDataVersion></Study></ODM>""".encode()
    definition = read_metadata(document).definition
    assert definition.forms[0].name == "resume"
    assert definition.schedule.visits[0].name == "visite_a_j7"
    assert items(definition)[0].name == "grosse"


def test_texts_without_a_language_take_the_files_or_the_studys() -> None:
    document = f"""<ODM xmlns="{NS["odm"]}" xmlns:xml="http://www.w3.org/XML/1998/namespace"
    FileOID="F" FileType="Snapshot" CreationDateTime="2026-01-01T00:00:00"><Study OID="S">
    <MetaDataVersion OID="M" Name="M"><FormDef OID="F1" Name="F" Repeating="No">
    <Description><TranslatedText>{{}}</TranslatedText></Description>
    <ItemGroupRef ItemGroupOID="G1" Mandatory="Yes"/></FormDef>
    <ItemGroupDef OID="G1" Name="G" Repeating="No"><ItemRef ItemOID="I1" Mandatory="No"/>
    </ItemGroupDef><ItemDef OID="I1" Name="poids" DataType="integer"><Question>
    <TranslatedText xml:lang="de">Gewicht</TranslatedText></Question></ItemDef>
    </MetaDataVersion></Study></ODM>"""
    unlabelled = document.replace('xml:lang="de"', "")
    assert read_metadata(unlabelled.format("Poids").encode(), language="fr").definition.forms[
        0
    ].title == {"fr": "Poids"}
    assert read_metadata(document.format("Größe").encode(), language="fr").definition.forms[
        0
    ].title == {"de": "Größe"}


def test_a_title_of_spaces_survives_a_round_trip() -> None:
    definition = Definition(
        forms=[
            Form(
                oid="F.1",
                name="f",
                title={"en": "  "},
                sections=[
                    Section(
                        oid="S.1",
                        title={"en": " "},
                        subsections=[
                            SubSection(
                                oid="G.1",
                                blocks=[
                                    Item(oid="I.1", name="a", type=ItemType.TEXT, label={"en": "A"})
                                ],
                            )
                        ],
                    )
                ],
            )
        ]
    )
    assert read_metadata(export(definition)).definition == definition


def test_code_lists_read_while_parsing_lose_nothing_for_the_report() -> None:
    """Plain code lists are read as they are parsed (their elements dropped); a list holding
    anything more stays a tree, so its extra attributes and elements are reported as before."""
    document = f"""<ODM xmlns="{NS["odm"]}" xmlns:x="urn:vendor" FileOID="F" FileType="Snapshot"
    CreationDateTime="2026-01-01T00:00:00"><Study OID="S"><MetaDataVersion OID="M" Name="M">
    <FormDef OID="F1" Name="f" Repeating="No"><ItemGroupRef ItemGroupOID="G1" Mandatory="Yes"/>
    </FormDef><ItemGroupDef OID="G1" Name="G" Repeating="No">
    <ItemRef ItemOID="I1" Mandatory="No"/><ItemRef ItemOID="I2" Mandatory="No"/></ItemGroupDef>
    <ItemDef OID="I1" Name="plain" DataType="text"><CodeListRef CodeListOID="C1"/></ItemDef>
    <ItemDef OID="I2" Name="rich" DataType="text"><CodeListRef CodeListOID="C2"/></ItemDef>
    <CodeList OID="C1" Name="C1" DataType="text">
      <CodeListItem CodedValue="b" OrderNumber="2"><Decode>
        <TranslatedText xml:lang="fr">Bé</TranslatedText></Decode></CodeListItem>
      <CodeListItem CodedValue="a" OrderNumber="1"/></CodeList>
    <CodeList OID="C2" Name="C2" DataType="text">
      <CodeListItem CodedValue="y" Rank="1" x:colour="red"><Decode>
        <TranslatedText>Oui</TranslatedText></Decode></CodeListItem></CodeList>
    </MetaDataVersion></Study></ODM>""".encode()
    result = read_metadata(document)
    plain, rich = items(result.definition)
    assert plain.choices == [
        Choice(code="a", label={"fr": "a"}),
        Choice(code="b", label={"fr": "Bé"}),
    ]
    assert rich.choices == [Choice(code="y", label={"fr": "Oui"})]
    assert result.definition.default_language == "fr"  # the only xml:lang, in a dropped text
    assert "CodeListItem: attributes not kept: Rank ×1" in messages(result)
    assert "attributes colour" in messages(result)


@pytest.mark.parametrize(
    "path",
    [
        REFERENCE_DATA / "odm" / "cdash-odm-1.3.2.xml",
        REFERENCE_DATA / "odm" / "cdisc-metadata-1.3.2-multilanguage.xml",
        REFERENCE_DATA / "odm" / "openedc-metadata.xml",
        REFERENCE_DATA / "redcap" / "validation-types-1" / "project.xml",
    ],
    ids=lambda path: path.name,
)
def test_a_read_leaves_no_reference_cycle(path: Path) -> None:
    """The reader, its tree and its code lists go as the read returns, not when the garbage
    collector runs: an import's memory must not carry them while the design is stored."""
    data = path.read_bytes()
    gc.collect()
    gc.disable()
    try:
        read_metadata(data)
        assert gc.collect() == 0
    finally:
        gc.enable()
