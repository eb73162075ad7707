"""REDCap project XML: its ``redcap:`` attributes are read as the data dictionary's columns, so
a project's XML and its dictionary give the same design. The small files are written here."""

from __future__ import annotations

import re
from dataclasses import asdict, replace

from datacapt.design.interchange.findings import FindingLevel, ImportResult
from datacapt.design.interchange.odm_reader import read_metadata
from datacapt.design.interchange.redcap_reader import read_dictionary
from datacapt.ecrf.definition import (
    Choice,
    Item,
    ItemType,
    Range,
    Slider,
    Static,
    Validation,
    Visit,
    form_blocks,
)
from tests.conftest import REFERENCE_DATA

PROJECT = REFERENCE_DATA / "redcap" / "validation-types-1"


def project(
    items: str, *, forms: str = "", events: str = "", settings: str = "", lang: str = ""
) -> bytes:
    """A REDCap project XML: ``items`` are ItemDefs (and CodeLists) of one form ``visit_form``
    whose one group lists every ItemDef in order, unless ``forms`` gives FormDefs and groups."""
    oids = re.findall(r'<ItemDef OID="([^"]+)"', items)
    refs = "".join(f'<ItemRef ItemOID="{oid}" Mandatory="No"/>' for oid in oids)
    forms = forms or (
        '<FormDef OID="Form.visit_form" Name="Visit form" Repeating="No"'
        ' redcap:FormName="visit_form"><ItemGroupRef ItemGroupOID="visit_form.g" Mandatory="No"/>'
        f'</FormDef><ItemGroupDef OID="visit_form.g" Name="Visit form">{refs}</ItemGroupDef>'
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:redcap="https://projectredcap.org"
     ODMVersion="1.3.1" FileOID="F" FileType="Snapshot" CreationDateTime="2026-01-01T00:00:00">
<Study OID="Project.Test"><GlobalVariables><StudyName>T</StudyName><StudyDescription>T
</StudyDescription><ProtocolName>T</ProtocolName>{settings}</GlobalVariables>
<MetaDataVersion OID="Metadata.Test" Name="T" redcap:RecordIdField="record_id">
{events}{forms}{items}
</MetaDataVersion></Study></ODM>""".encode()


def item_def(
    name: str, kind: str = "text", label: str = "", body: str = "", **attributes: str
) -> str:
    """An ItemDef as REDCap writes it; a label with HTML goes in FormattedTranslatedText, and
    the plain TranslatedText has the tags stripped, as REDCap does."""
    extra = "".join(f' redcap:{key}="{value}"' for key, value in attributes.items())
    plain = re.sub(r"&lt;.*?&gt;", "", label or name)
    formatted = (
        f"<redcap:FormattedTranslatedText>{label}</redcap:FormattedTranslatedText>"
        if plain != (label or name)
        else ""
    )
    return (
        f'<ItemDef OID="{name}" Name="{name}" DataType="text" Length="999"'
        f' redcap:Variable="{name}" redcap:FieldType="{kind}"{extra}>'
        f"<Question><TranslatedText>{plain}</TranslatedText>{formatted}</Question>{body}</ItemDef>"
    )


def blocks(result: ImportResult) -> dict[str, Item | Static]:
    found: dict[str, Item | Static] = {}
    for form in result.definition.forms:
        for block in form_blocks(form):
            found[block.name if isinstance(block, Item) else block.oid] = block
    return found


def messages(result: ImportResult) -> str:
    return "\n".join(str(finding) for finding in result.findings)


# - the reference project: its dictionary and its XML -------------------------------------------


def test_a_projects_xml_and_its_dictionary_give_the_same_design() -> None:
    """Everything equal but the slider: REDCap writes its bounds (-1, 101) in the dictionary's
    min/max columns and nowhere in the XML, so the XML's slider has REDCap's default 0 to 100."""
    from_dictionary = read_dictionary((PROJECT / "dictionary.csv").read_bytes()).definition
    from_xml = read_metadata((PROJECT / "project.xml").read_bytes()).definition
    slider = from_dictionary.item("f_slider")
    assert (
        slider is not None
        and slider.slider is not None
        and (slider.slider.min, slider.slider.max) == (-1, 101)
    )
    slider.slider = replace(slider.slider, min=0, max=100)
    assert asdict(from_xml) == asdict(from_dictionary)


def test_the_reference_xml_reports_what_is_not_a_study_item() -> None:
    result = read_metadata((PROJECT / "project.xml").read_bytes())
    assert "not study items: form_1_complete" in messages(result)
    assert "f_checkbox___1" not in blocks(result)
    assert "dynamic SQL field left out" in messages(result)
    assert "extension" not in messages(result)
    assert "project settings are not part of a design: CustomRecordLabel" in messages(result)
    assert "the records' data are not read here" in messages(result)


# - each attribute, in the smallest file --------------------------------------------------------


def test_a_checkbox_is_one_multiple_choice_item_with_its_choices() -> None:
    codes = "".join(
        item_def(
            f"race___{code}", "checkbox", "Race", f'<CodeListRef CodeListOID="r{code}"/>'
        ).replace(f'redcap:Variable="race___{code}"', 'redcap:Variable="race"')
        for code in (1, 2)
    )
    lists = "".join(
        f'<CodeList OID="r{code}" Name="r" DataType="boolean" redcap:Variable="race"'
        ' redcap:CheckboxChoices="1, White | 2, Black, or African"><CodeListItem CodedValue="1">'
        "<Decode><TranslatedText>Checked</TranslatedText></Decode></CodeListItem></CodeList>"
        for code in (1, 2)
    )
    race = blocks(read_metadata(project(codes + lists)))["race"]
    assert isinstance(race, Item) and race.type is ItemType.MULTIPLE_CHOICE
    assert race.choices == [
        Choice(code="1", label={"en": "White"}),
        Choice(code="2", label={"en": "Black, or African"}),
    ]


def test_calculation_branching_note_header_identifier_required_annotation() -> None:
    items = item_def("weight", TextValidationType="float") + item_def(
        "bmi",
        "calc",
        "BMI",
        Calculation="[weight] / 2",
        BranchingLogic="[weight] &gt; 0",
        FieldNote="kg/m²",
        SectionHeader="Body",
        Identifier="y",
        RequiredField="y",
        FieldAnnotation="@HIDDEN",
    )
    result = read_metadata(project(items))
    bmi = blocks(result)["bmi"]
    assert isinstance(bmi, Item)
    assert (bmi.type, bmi.calculation, bmi.show_if) == (
        ItemType.CALCULATED,
        "[weight] / 2",
        "[weight] > 0",
    )
    assert (bmi.help, bmi.identifier, bmi.required, bmi.annotation) == (
        {"en": "kg/m²"},
        True,
        True,
        "@HIDDEN",
    )
    sections = result.definition.forms[0].sections
    assert [section.title for section in sections] == [{}, {"en": "Body"}]
    assert blocks(result)["weight"].validation is Validation.NUMBER  # REDCap's own "float"


def test_field_types_by_redcaps_own_names() -> None:
    items = (
        item_def("notes", "textarea")
        + item_def("scan", "file")
        + item_def("sign", "file", TextValidationType="signature")
        + item_def("pain", "slider", SliderLabels="None | Some | Worst")
        + item_def("intro", "descriptive", "&lt;b&gt;Read&lt;/b&gt;")
        + item_def("query", "sql")
        + item_def("film", "descriptive", VideoUrl="https://example.org/v", VideoDisplayInline="1")
        + item_def("drug", OntologySearch="BIOPORTAL:RXNORM")
        + item_def("pick", "select", body='<CodeListRef CodeListOID="p"/>')
        + '<CodeList OID="p" Name="p" DataType="text"><CodeListItem CodedValue="a">'
        "<Decode><TranslatedText>A | or b</TranslatedText></Decode></CodeListItem></CodeList>"
    )
    result = read_metadata(project(items))
    found = blocks(result)
    assert found["notes"].type is ItemType.LONG_TEXT
    assert (found["scan"].file_kind, found["sign"].file_kind) == ("file", "signature")
    assert found["pain"].slider == Slider(
        left={"en": "None"}, middle={"en": "Some"}, right={"en": "Worst"}
    )
    assert found["T.INTRO"].content == {"en": "**Read**"}
    assert "query" not in found and "dynamic SQL field left out" in messages(result)
    assert "REDCap attributes not read: VideoUrl ×1, VideoDisplayInline ×1" in messages(result)
    assert "'BIOPORTAL:RXNORM' ignored" in messages(result)
    assert found["pick"].widget == "dropdown"
    assert found["pick"].choices == [Choice(code="a", label={"en": "A | or b"})]


def test_a_matrix_group_and_its_ranking() -> None:
    items = "".join(
        item_def(
            name,
            "radio",
            MatrixGroupName="feel",
            MatrixRanking="y",
            body='<CodeListRef CodeListOID="m"/>',
        )
        for name in ("mood", "sleep")
    ) + (
        '<CodeList OID="m" Name="m" DataType="text"><CodeListItem CodedValue="1">'
        "<Decode><TranslatedText>Good</TranslatedText></Decode></CodeListItem></CodeList>"
    )
    result = read_metadata(project(items))
    (subsection,) = result.definition.forms[0].sections[0].subsections
    assert subsection.matrix == "feel" and len(subsection.blocks) == 2
    assert "matrix group feel asks for ranking" in messages(result)


def test_export_pseudo_fields_are_not_items() -> None:
    items = (
        item_def("record_id")
        + item_def("redcap_data_access_group")
        + item_def("visit_form_complete", "select")
    )
    result = read_metadata(project(items))
    assert list(blocks(result)) == ["record_id"]
    assert "2 fields: REDCap's form status and export fields are not study items" in (
        messages(result)
    )


def test_events_arms_and_repeating_forms_and_events() -> None:
    events = "".join(
        f'<StudyEventDef OID="Event.{name}" Name="{title}" Type="Common" Repeating="No"'
        f' redcap:EventName="{title}" redcap:CustomEventLabel="" redcap:UniqueEventName="{name}"'
        f' redcap:ArmNum="{arm}" redcap:ArmName="Arm {arm}" redcap:DayOffset="{day}"'
        f' redcap:OffsetMin="1" redcap:OffsetMax="2"><FormRef FormOID="Form.visit_form"'
        ' OrderNumber="1" Mandatory="No" redcap:FormName="visit_form"/></StudyEventDef>'
        for name, title, arm, day in (
            ("baseline_arm_1", "Baseline", 1, 0),
            ("week_1_arm_1", "Week 1", 1, 7),
            ("baseline_arm_2", "Baseline", 2, 0),
        )
    )
    settings = (
        "<redcap:RepeatingInstrumentsAndEvents><redcap:RepeatingInstruments>"
        '<redcap:RepeatingInstrument redcap:UniqueEventName="baseline_arm_1"'
        ' redcap:RepeatInstrument="visit_form" redcap:CustomLabel=""/>'
        "</redcap:RepeatingInstruments>"
        '<redcap:RepeatingEvent redcap:UniqueEventName="week_1_arm_1"/>'
        "</redcap:RepeatingInstrumentsAndEvents>"
    )
    items = item_def("weight", BranchingLogic="[week_1_arm_1][weight] &lt;&gt; ''")
    result = read_metadata(project(items, events=events, settings=settings))
    schedule = result.definition.schedule
    assert schedule.visits[1] == Visit(
        oid="V.WEEK_1_ARM_1",
        name="week_1_arm_1",
        title={"en": "Week 1"},
        day=7,
        window_before=1,
        window_after=2,
        repeating=True,
        forms=["visit_form"],
    )
    assert [visit.name for visit in schedule.visits] == [
        "baseline_arm_1",
        "week_1_arm_1",
        "baseline_arm_2",
    ]
    assert result.definition.forms[0].repeating
    assert "2 arms" in messages(result)
    assert "repeats at event baseline_arm_1 in REDCap" in messages(result)
    assert "project settings are not part of a design" not in messages(result)
    assert "which a dictionary cannot define" not in messages(result)


def test_range_checks_are_the_dictionarys_min_and_max() -> None:
    check = (
        '<RangeCheck Comparator="{0}" SoftHard="Soft"><CheckValue>{1}</CheckValue>'
        "<ErrorMessage><TranslatedText>out of range</TranslatedText></ErrorMessage></RangeCheck>"
    )
    body = check.format("GE", "1") + check.format("LE", "5")
    age = blocks(read_metadata(project(item_def("age", TextValidationType="int", body=body))))
    assert age["age"].validation is Validation.INTEGER
    assert age["age"].soft_range == Range(min="1", max="5")


def test_logic_that_does_not_parse_is_reported_with_its_element() -> None:
    result = read_metadata(project(item_def("a", BranchingLogic="[a] = = 1")))
    finding = next(f for f in result.findings if "does not parse" in f.message)
    assert finding.where == "ItemDef a, field a" and finding.level is FindingLevel.WARNING


# - smaller losses ------------------------------------------------------------------------------


def test_a_decimal_comma_validation_is_a_number_with_its_range() -> None:
    check = '<RangeCheck Comparator="{0}" SoftHard="Soft"><CheckValue>{1}</CheckValue></RangeCheck>'
    body = check.format("GE", "0,5") + check.format("LE", "12,75")
    items = item_def("dose", TextValidationType="number_2dp_comma_decimal", body=body)
    dose = blocks(read_metadata(project(items)))["dose"]
    assert (dose.type, dose.validation, dose.decimals, dose.decimal_comma) == (
        ItemType.TEXT,
        Validation.NUMBER,
        2,
        True,
    )
    assert dose.soft_range == Range(min="0.5", max="12.75")


def test_forms_keep_redcaps_names_and_titles() -> None:
    forms = (
        '<FormDef OID="Form.resume" Name="Résumé du séjour" redcap:FormName="resume">'
        '<ItemGroupRef ItemGroupOID="g" Mandatory="No"/></FormDef>'
        '<ItemGroupDef OID="g" Name="Résumé"><ItemRef ItemOID="a" Mandatory="No"/></ItemGroupDef>'
    )
    (form,) = read_metadata(project(item_def("a"), forms=forms)).definition.forms
    assert (form.name, form.title) == ("resume", {"en": "Résumé du séjour"})


def test_texts_take_the_studys_language_when_the_file_names_none() -> None:
    result = read_metadata(project(item_def("poids", label="Poids")), language="fr")
    assert result.definition.default_language == "fr"
    assert blocks(result)["poids"].label == {"fr": "Poids"}


def test_an_empty_label_is_reported_at_import() -> None:
    result = read_metadata(project(item_def("a", label=" ")))
    finding = next(f for f in result.findings if "no label" in f.message)
    assert finding.where == "ItemDef a, field a"


def test_redcaps_length_is_no_character_limit() -> None:
    item = blocks(read_metadata(project(item_def("a"))))["a"]  # Length="999", as REDCap writes
    assert item.max_length is None and item.annotation is None
