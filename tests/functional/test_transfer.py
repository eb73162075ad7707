"""Importing and exporting designs through the designer's pages, with the reference files."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from datacapt.design.interchange import odm, redcap_reader, redcap_writer
from datacapt.ecrf import versions
from datacapt.ecrf.definition import ItemType
from datacapt.expressions import parse
from datacapt.models import AuditEvent
from tests.conftest import REFERENCE_DATA
from tests.factories import build_world, login

SHARED = REFERENCE_DATA
ISARIC = SHARED / "redcap" / "isaric-ccpuk-hantavirus-dictionary.csv"
CDISC = SHARED / "odm" / "cdisc-metadata-1.3.2-multilanguage.xml"
XSD = SHARED / "odm-1.3.2-xsd" / "ODM1-3-2.xsd"
DESIGN = "/acme/demo/design/"


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def admin(testapp, world):
    login(testapp, world.users["study_admin"].email)
    return testapp


def upload(admin, format_name: str, path: Path, status: int | str = 200):
    form = admin.get(DESIGN + "@@import").forms["import-form"]
    form["format"] = format_name
    form["file"] = (path.name, path.read_bytes())
    return form.submit(status=status)


def test_a_redcap_dictionary_is_imported_into_the_draft_with_its_report(admin, dbsession, world):
    page = upload(admin, "redcap", ISARIC)
    assert "Imported into draft version 2: 10 form(s)." in page.text
    findings = page.html.select(".report tbody tr")
    assert any("medi_route" in row.text for row in findings)  # the file's own mistake
    dbsession.expire_all()
    definition = versions.definition_of(versions.draft(dbsession, world.study))
    assert [form.name for form in definition.forms][:3] == [
        "inclusion_criteria",
        "consent",
        "presentation",
    ]
    assert sum(1 for _ in definition.items()) == 585
    event = dbsession.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "design.imported")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert '"format": "redcap"' in event.new_value and '"forms": 10' in event.new_value


def test_an_odm_file_is_imported(admin, dbsession, world):
    page = upload(admin, "odm", CDISC)
    assert "7 form(s)" in page.text
    dbsession.expire_all()
    definition = versions.definition_of(versions.draft(dbsession, world.study))
    assert len(definition.schedule.visits) == 5
    assert "fr" in definition.languages


def test_a_file_that_is_not_what_it_says_is_refused_and_nothing_changes(admin, dbsession, world):
    before = versions.draft(dbsession, world.study).definition
    page = upload(admin, "odm", ISARIC, status=422)
    assert "This file cannot be imported" in page.text
    assert page.html.find(id="field-file")["aria-invalid"] == "true"
    dbsession.expire_all()
    assert versions.draft(dbsession, world.study).definition == before


def test_import_without_a_file_says_so(admin):
    form = admin.get(DESIGN + "@@import").forms["import-form"]
    assert "Choose a file to import." in form.submit(status=422).text


def test_a_published_version_exports_as_xsd_valid_odm(admin):
    response = admin.get(DESIGN + "@@export", {"format": "odm", "version": "1"})
    assert response.content_type == "application/xml"
    assert 'filename="demo-v1-odm.xml"' in response.headers["Content-Disposition"]
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    document = etree.fromstring(response.body)
    assert schema.validate(document), schema.error_log
    labels = document.xpath("//*[local-name()='Question']/*[@xml:lang='fr']/text()")
    assert "Date de naissance" in labels


def test_an_odm_export_with_redcaps_logic_carries_it_in_redcaps_attributes(admin):
    response = admin.get(DESIGN + "@@export", {"format": "odm-redcap", "version": "1"})
    assert 'filename="demo-v1-odm-redcap.xml"' in response.headers["Content-Disposition"]
    document = etree.fromstring(response.body)
    assert odm.odm_schema(extended=True).validate(document)
    branching = document.xpath("//@redcap:BranchingLogic", namespaces={"redcap": odm.REDCAP_NS})
    assert branching and all(parse(text) for text in branching)
    plain = etree.fromstring(admin.get(DESIGN + "@@export", {"format": "odm", "version": "1"}).body)
    assert not plain.xpath("//@redcap:*", namespaces={"redcap": odm.REDCAP_NS})
    assert plain.xpath("//*[local-name()='FormalExpression'][@Context='XPath']")
    admin.get(DESIGN + "@@export", {"format": "odm-other", "version": "1"}, status=404)


def test_a_redcap_export_reads_back_with_what_redcap_can_hold(admin, dbsession, world):
    response = admin.get(DESIGN + "@@export", {"format": "redcap", "version": "1"})
    assert response.content_type == "text/csv"
    original = versions.definition_of(versions.version(dbsession, world.study, 1))
    _text, findings = redcap_writer.write_dictionary(original)
    assert any("consent_copy" in f.where or "I.CONSENT_COPY" in f.where for f in findings)
    read_back = {
        i.name: i.type for _f, i in redcap_reader.read_dictionary(response.body).definition.items()
    }
    expected = {item.name: item.type for _form, item in original.items()}
    expected["consent_copy"] = ItemType.MULTIPLE_CHOICE  # REDCap has no acknowledgement
    assert read_back == expected


def test_export_of_a_missing_version_is_not_found(admin):
    admin.get(DESIGN + "@@export", {"format": "odm", "version": "9"}, status=404)
    admin.get(DESIGN + "@@export", {"format": "pdf", "version": "1"}, status=404)


def test_a_file_whose_design_holds_nothing_is_refused_with_a_message(admin, dbsession, world):
    before = versions.draft(dbsession, world.study).definition
    form = admin.get(DESIGN + "@@import").forms["import-form"]
    form["format"] = "redcap"
    form["file"] = ("empty.csv", ",".join(redcap_reader.HEADER).encode() + b"\n")
    page = form.submit(status=422)
    assert "the file&#39;s design holds no field or text: nothing to import" in page.text
    dbsession.expire_all()
    assert versions.draft(dbsession, world.study).definition == before


def test_the_command_line_refuses_an_empty_design_with_exit_2(datacapt, tmp_path):
    assert datacapt("demo")[0] == 0
    empty = tmp_path / "empty.csv"
    empty.write_text(",".join(redcap_reader.HEADER) + "\nsql_only,f,,sql,Q,,,,,,,,,,,,,\n")
    code, _, err = datacapt("study", "import", "acme", "demo", "--format", "redcap", str(empty))
    assert code == 2
    assert "holds no field or text: nothing to import" in err
    assert "dynamic SQL field left out" in err


def test_a_redcap_project_xml_imports_as_its_dictionary(admin, dbsession, world):
    page = upload(admin, "odm", SHARED / "redcap" / "validation-types-1" / "project.xml")
    assert "1 form(s)" in page.text and "extension" not in page.text
    dbsession.expire_all()
    definition = versions.definition_of(versions.draft(dbsession, world.study))
    checkbox = definition.item("f_checkbox")
    assert checkbox is not None and checkbox.type is ItemType.MULTIPLE_CHOICE
    assert [choice.code for choice in checkbox.choices] == ["0", "1", "2"]
    assert definition.item("f_calculated").calculation == "3 + 4"
    assert definition.item("form_1_complete") is None


def test_texts_of_a_file_without_languages_are_in_the_studys_language(admin, dbsession, world):
    world.study.languages = ["fr", "en"]
    dbsession.flush()
    upload(admin, "redcap", SHARED / "redcap" / "validation-types-1" / "dictionary.csv")
    dbsession.expire_all()
    definition = versions.definition_of(versions.draft(dbsession, world.study))
    assert definition.default_language == "fr"
    assert definition.item("record_id").label == {"fr": "Record ID"}
