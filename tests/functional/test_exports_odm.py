"""The CDISC ODM 1.3.2 export, read back with lxml: valid against the official schema (snapshot
and transactional), every value and missing code as the database holds it, in the
MetaDataVersion it was saved under, every reference resolving, personal data left out, the
options honoured, and the command line writing it."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from datacapt.cli.demo_design import demo_definition
from datacapt.design import services as design
from datacapt.ecrf.definition import (
    Choice,
    Form,
    Item,
    ItemType,
    Section,
    Slider,
    SubSection,
    Validation,
)
from datacapt.exports.odm import odm_value
from datacapt.exports.options import ExportFormat
from datacapt.models import FormInstance, ItemValue, StudyVersion, Subject
from datacapt.models.design import VersionState
from datacapt.models.entry import FormStatus, LockState
from tests.conftest import REFERENCE_DATA
from tests.factories import PASSWORD, SETUP
from tests.functional import test_exports
from tests.functional.test_exports import EXPORTS, SUBJECT, TERM, run, signed_in

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
GERMAN_POLISH = "Übelkeit und Schwindel; zażółć gęślą jaźń"
REASON = "Übertragungsfehler: poids corrigé"
DIARY_NOTES = "Müde, schlecht geschlafen — zmęczony, źle spał"

world = test_exports.world
entered = test_exports.entered


@cache
def official_schema() -> etree.XMLSchema:
    """The official CDISC copy in tests/data, independent of the one the product ships."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(
        etree.parse(str(REFERENCE_DATA / "odm-1.3.2-xsd" / "ODM1-3-2.xsd"), parser)
    )


def read_valid(path: Path) -> etree._Element:
    document = etree.parse(str(path), etree.XMLParser(no_network=True, resolve_entities=False))
    schema = official_schema()
    assert schema.validate(document), schema.error_log.last_error
    return document.getroot()


def enter(testapp, url: str, reason: str = "", **values: str | bool) -> None:
    form = testapp.get(url).forms["entry-form"]
    for name, value in values.items():
        form[name] = value
    if reason:
        form["reason"] = reason
    form.submit()


DIARY = Form(
    oid="F.DIARY",
    name="diary",
    title={"en": "Diary", "fr": "Journal"},
    sections=[
        Section(
            oid="S.DIARY.1",
            subsections=[
                SubSection(
                    oid="G.DIARY.1",
                    blocks=[
                        Item(
                            oid="I.SYMPTOMS",
                            name="symptoms",
                            type=ItemType.MULTIPLE_CHOICE,
                            label={"en": "Symptoms", "fr": "Symptômes"},
                            choices=[
                                Choice("1", {"en": "Headache", "fr": "Céphalée"}),
                                Choice("2", {"en": "Nausea", "fr": "Nausée"}),
                                Choice("3", {"en": "Dizziness", "fr": "Vertige"}),
                            ],
                        ),
                        Item(
                            oid="I.PAIN",
                            name="pain",
                            type=ItemType.SLIDER,
                            label={"en": "Pain", "fr": "Douleur"},
                            slider=Slider(0, 10),
                        ),
                        Item(
                            oid="I.FASTING",
                            name="fasting",
                            type=ItemType.TRUE_FALSE,
                            label={"en": "Fasting", "fr": "À jeun"},
                        ),
                        Item(
                            oid="I.DOSE_AT",
                            name="dose_at",
                            type=ItemType.TEXT,
                            validation=Validation.DATETIME,
                            label={"en": "Dose taken at", "fr": "Dose prise à"},
                        ),
                        Item(
                            oid="I.WOKE_AT",
                            name="woke_at",
                            type=ItemType.TEXT,
                            validation=Validation.TIME,
                            label={"en": "Woke up at", "fr": "Réveil à"},
                        ),
                        Item(
                            oid="I.ONSET",
                            name="onset",
                            type=ItemType.TEXT,
                            validation=Validation.PARTIAL_DATE,
                            label={"en": "Onset", "fr": "Début"},
                        ),
                        Item(
                            oid="I.NOTES",
                            name="notes",
                            type=ItemType.LONG_TEXT,
                            label={"en": "Notes", "fr": "Notes"},
                        ),
                    ],
                )
            ],
        )
    ],
)


def publish_diary(dbsession, study) -> None:
    """Version 2: the demo design and a diary form with the remaining item types at screening."""
    draft = dbsession.scalar(
        select(StudyVersion).where(
            StudyVersion.study_id == study.id, StudyVersion.state == VersionState.DRAFT
        )
    )
    definition = demo_definition()
    definition.forms.append(DIARY)
    next(v for v in definition.schedule.visits if v.name == "screening").forms.append("diary")
    design.save_draft(
        dbsession,
        study,
        draft,
        definition,
        expected_lock=draft.lock_version,
        action="design.imported",
        element=None,
        old=None,
        new=None,
        actor=SETUP,
    )
    design.publish(
        dbsession, study, draft, actor=SETUP, reason="Diary", expected_lock=draft.lock_version
    )


@pytest.fixture
def casebook(entered, app, world, dbsession):
    """The exports' study with a second adverse-event row in its visit (de/pl text), a weight
    corrected with a reason, a heart rate not known, demographics signed, and under version 2
    a diary."""
    visit = entered.get(SUBJECT + "unscheduled-1/")
    row = visit.forms[next(k for k, f in visit.forms.items() if "form" in f.fields)].submit()
    entry = row.follow().forms["entry-form"]
    entry["ae_term"], entry["ae_start"], entry["ae_serious"] = GERMAN_POLISH, "03/03/2026", "0"
    entry.submit()
    demographics = SUBJECT + "screening/demographics/"
    enter(entered, demographics, complete=True)
    enter(entered, demographics, reason=REASON, weight_kg="62.5")
    enter(
        entered,
        SUBJECT + "screening/vital_signs/",
        systolic="130",
        diastolic="85",
        **{"missing-heart_rate": "NK"},
    )
    investigator = signed_in(app, world, "investigator")
    form = investigator.get(demographics + "@@sign").forms["sign-form"]
    form["password"] = PASSWORD
    form.submit(status=303)
    publish_diary(dbsession, world.study)
    diary = entered.get(SUBJECT + "screening/diary/").forms["entry-form"]
    for field in diary.fields["symptoms"]:
        field.checked = field._value in {"1", "3"}
    diary["pain"], diary["fasting"], diary["notes"] = "7", "1", DIARY_NOTES
    diary["dose_at"], diary["woke_at"], diary["onset"] = "2026-03-02T08:15", "06:45", "2026-02"
    diary.submit()
    return entered


def database_values(dbsession) -> dict[tuple, tuple[str | None, str | None, int]]:
    """(subject, visit, visit repeat, form, form repeat, item OID) → (value, missing code,
    version), for every value or missing code the database holds."""
    rows = dbsession.execute(
        select(
            Subject.label,
            FormInstance.visit,
            FormInstance.visit_repeat,
            FormInstance.form,
            FormInstance.repeat,
            ItemValue.item_oid,
            ItemValue.value,
            ItemValue.missing_code,
            ItemValue.sealed_value,
            FormInstance.version_number,
        )
        .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(FormInstance.status != FormStatus.REMOVED)
    ).all()
    return {
        tuple(row[:6]): (row.value, row.missing_code, row.version_number)
        for row in rows
        if row.value is not None or row.missing_code is not None or row.sealed_value is not None
    }


def definitions(root: etree._Element) -> dict[str, set[str]]:
    """The OIDs each kind of definition in the file has (per MetaDataVersion for clinical ones)."""
    found: dict[str, set[str]] = defaultdict(set)
    for tag in ("User", "Location", "SignatureDef", "MetaDataVersion"):
        found[tag] = {e.get("OID") for e in root.iterfind(f".//odm:{tag}", NS)}
    for version in root.iterfind(".//odm:MetaDataVersion", NS):
        for tag in ("StudyEventDef", "FormDef", "ItemGroupDef", "ItemDef", "CodeList"):
            found[f"{version.get('OID')}/{tag}"] = {
                e.get("OID") for e in version.iterfind(f"odm:{tag}", NS)
            }
    return found


def assert_references_resolve(root: etree._Element) -> None:
    defined = definitions(root)
    for tag, attribute, kind in (
        ("UserRef", "UserOID", "User"),
        ("LocationRef", "LocationOID", "Location"),
        ("SiteRef", "LocationOID", "Location"),
        ("SignatureRef", "SignatureOID", "SignatureDef"),
    ):
        used = {e.get(attribute) for e in root.iterfind(f".//odm:{tag}", NS)}
        assert used <= defined[kind], (tag, used - defined[kind])
    for location in root.iterfind(".//odm:Location", NS):
        for ref in location.iterfind("odm:MetaDataVersionRef", NS):
            assert ref.get("MetaDataVersionOID") in defined["MetaDataVersion"]
    for clinical in root.iterfind("odm:ClinicalData", NS):
        version = clinical.get("MetaDataVersionOID")
        assert version in defined["MetaDataVersion"]
        for tag, attribute, kind in (
            ("StudyEventData", "StudyEventOID", "StudyEventDef"),
            ("FormData", "FormOID", "FormDef"),
            ("ItemGroupData", "ItemGroupOID", "ItemGroupDef"),
            ("ItemData", "ItemOID", "ItemDef"),
            ("FlagValue", "CodeListOID", "CodeList"),
        ):
            used = {e.get(attribute) for e in clinical.iterfind(f".//odm:{tag}", NS)}
            assert used <= defined[f"{version}/{kind}"], (tag, used - defined[f"{version}/{kind}"])


def exported_values(root: etree._Element) -> dict[tuple, tuple[str | None, str | None, str]]:
    """The same keys → (Value, missing code, MetaDataVersionOID), from the file."""
    found = {}
    events = {e.get("OID"): e.get("Name") for e in root.iterfind(".//odm:StudyEventDef", NS)}
    forms = {e.get("OID"): e.get("Name") for e in root.iterfind(".//odm:FormDef", NS)}
    for clinical in root.iterfind("odm:ClinicalData", NS):
        for subject in clinical.iterfind("odm:SubjectData", NS):
            for event in subject.iterfind("odm:StudyEventData", NS):
                for form in event.iterfind("odm:FormData", NS):
                    for item in form.iterfind("odm:ItemGroupData/odm:ItemData", NS):
                        key = (
                            subject.get("SubjectKey"),
                            events[event.get("StudyEventOID")],
                            int(event.get("StudyEventRepeatKey", "1")),
                            forms[form.get("FormOID")],
                            int(form.get("FormRepeatKey", "1")),
                            item.get("ItemOID"),
                        )
                        assert key not in found
                        flag = item.find("odm:Annotation/odm:Flag/odm:FlagValue", NS)
                        found[key] = (
                            item.get("Value"),
                            None if flag is None else flag.text,
                            clinical.get("MetaDataVersionOID"),
                        )
                        assert (item.get("IsNull") == "Yes") is (flag is not None)
    return found


def test_the_snapshot_holds_every_value_and_missing_code_as_the_database(
    casebook, dbsession, world, tmp_path
):
    target, result = run(dbsession, world, tmp_path, "export.xml", format=ExportFormat.ODM)
    root = read_valid(target)
    assert root.get("FileType") == "Snapshot" and root.get("ODMVersion") == "1.3.2"
    assert_references_resolve(root)
    database = database_values(dbsession)
    exported = exported_values(root)
    personal = {key for key in database if key[5] == "I.INITIALS"}
    assert personal and not personal & set(exported)  # personal data never leaves this way
    assert b"JM" not in target.read_bytes()
    assert GERMAN_POLISH.encode() in target.read_bytes()  # UTF-8, not character references
    assert set(exported) == set(database) - personal
    assert result.values == len(exported)
    items = {item.oid: item for _form, item in _all_items()}
    for key, (value, missing, version) in exported.items():
        stored, code, number = database[key]
        assert missing == code
        assert value == (None if stored is None else odm_value(items[key[5]], stored))
        assert version == f"MDV.{number}"
    assert {version for _v, _m, version in exported.values()} == {"MDV.1", "MDV.2"}
    by_item = {key[5]: value for key, (value, _m, _v) in exported.items() if key[4] == 1}
    assert by_item["I.WEIGHT_KG"] == "62.5"
    assert by_item["I.WOKE_AT"] == "06:45:00"  # ODM's time has seconds
    assert by_item["I.ONSET"] == "2026-02"  # a partialDate
    assert by_item["I.SYMPTOMS"] == "1|3"
    assert by_item["I.NOTES"] == DIARY_NOTES
    rows = root.iterfind(".//odm:FormData[@FormOID='F.ADVERSE_EVENTS']/odm:ItemGroupData", NS)
    assert {row.get("ItemGroupRepeatKey") for row in rows} == {"1"}  # one group in each row
    terms = {
        key[2:5:2]: value for key, (value, _m, _v) in exported.items() if key[5] == "I.AE_TERM"
    }
    assert terms == {(1, 1): TERM, (1, 2): GERMAN_POLISH}  # two rows, non-ASCII text intact
    heart_rate = next(v for k, v in exported.items() if k[5] == "I.HEART_RATE")
    assert heart_rate[:2] == (None, "NK")
    missing = root.find(".//odm:CodeList[@OID='CL.DATACAPT.MISSING']", NS)
    decodes = {
        e.get("CodedValue"): e.findtext("odm:Decode/odm:TranslatedText", namespaces=NS)
        for e in missing.iterfind("odm:CodeListItem", NS)
    }
    assert decodes["NK"] == "Not known"
    [signed] = root.iterfind(".//odm:FormData[odm:Signature]", NS)
    assert signed.get("FormOID") == "F.DEMOGRAPHICS"
    signature_oid = signed.find("odm:Signature/odm:SignatureRef", NS).get("SignatureOID")
    meaning = root.find(f".//odm:SignatureDef[@OID='{signature_oid}']/odm:Meaning", NS).text
    assert meaning == "I approve the data in this form."
    signer = signed.find("odm:Signature/odm:UserRef", NS).get("UserOID")
    login_name = root.find(f".//odm:User[@OID='{signer}']/odm:LoginName", NS).text
    assert login_name == world.users["investigator"].email
    sites = {e.get("LocationOID") for e in root.iterfind(".//odm:SiteRef", NS)}
    assert sites == {"LOC.par01"}
    created = datetime.fromisoformat(root.get("CreationDateTime"))
    again, _ = run(dbsession, world, tmp_path, "again.xml", format=ExportFormat.ODM, stamp=created)
    assert again.read_bytes() == target.read_bytes()  # a rerun of the snapshot: the same bytes


def _all_items():
    definition = demo_definition()
    definition.forms.append(DIARY)
    return definition.items()


def test_the_transactional_file_replays_the_audit_trail_to_the_database(
    casebook, dbsession, world, tmp_path
):
    target, result = run(
        dbsession, world, tmp_path, "trail.xml", format=ExportFormat.ODM, odm_transactional=True
    )
    root = read_valid(target)
    assert root.get("FileType") == "Transactional"
    assert_references_resolve(root)
    events = {e.get("OID"): e.get("Name") for e in root.iterfind(".//odm:StudyEventDef", NS)}
    forms = {e.get("OID"): e.get("Name") for e in root.iterfind(".//odm:FormDef", NS)}
    state: dict[tuple, tuple[str | None, str | None]] = {}
    reasons = {}
    count = 0
    for subject in root.iterfind(".//odm:SubjectData", NS):
        for event in subject.iterfind("odm:StudyEventData", NS):
            for form in event.iterfind("odm:FormData", NS):
                for item in form.iterfind("odm:ItemGroupData/odm:ItemData", NS):
                    count += 1
                    key = (
                        subject.get("SubjectKey"),
                        events[event.get("StudyEventOID")],
                        int(event.get("StudyEventRepeatKey", "1")),
                        forms[form.get("FormOID")],
                        int(form.get("FormRepeatKey", "1")),
                        item.get("ItemOID"),
                    )
                    kind = item.get("TransactionType")
                    assert kind == ("Insert" if key not in state else "Update")
                    flag = item.find("odm:Annotation/odm:Flag/odm:FlagValue", NS)
                    state[key] = (item.get("Value"), None if flag is None else flag.text)
                    record = item.find("odm:AuditRecord", NS)
                    assert record.find("odm:SourceID", NS).text.startswith("audit-event-")
                    reasons[key] = record.findtext("odm:ReasonForChange", namespaces=NS)
    assert result.values == count
    database = database_values(dbsession)
    items = {item.oid: item for _form, item in _all_items()}
    expected = {
        key: (None if value is None else odm_value(items[key[5]], value), code)
        for key, (value, code, _version) in database.items()
        if key[5] != "I.INITIALS"
    }
    assert state == expected
    weight = next(k for k in state if k[5] == "I.WEIGHT_KG")
    assert reasons[weight] == REASON
    assert b"JM" not in target.read_bytes()
    updates = root.findall(".//odm:ItemData[@TransactionType='Update']", NS)
    assert "I.WEIGHT_KG" in {update.get("ItemOID") for update in updates}
    users = {
        e.findtext("odm:LoginName", namespaces=NS)
        for e in root.iterfind(".//odm:AdminData/odm:User", NS)
    }
    assert world.users["coordinator"].email in users
    assert root.find(".//odm:FormData/odm:Signature", NS) is not None


def test_options_narrow_the_odm_file(casebook, dbsession, world, tmp_path):
    berlin, result = run(
        dbsession, world, tmp_path, "ber.xml", format=ExportFormat.ODM, sites=("ber01",)
    )
    root = read_valid(berlin)
    assert result.values == 0 and root.find(".//odm:SubjectData", NS) is None
    ae, _ = run(
        dbsession, world, tmp_path, "ae.xml", format=ExportFormat.ODM, forms=("adverse_events",)
    )
    root = read_valid(ae)
    assert {f.get("FormOID") for f in root.iterfind(".//odm:FormData", NS)} == {"F.ADVERSE_EVENTS"}
    assert [c.get("MetaDataVersionOID") for c in root.iterfind("odm:ClinicalData", NS)] == ["MDV.1"]
    assert [v.get("OID") for v in root.iterfind(".//odm:MetaDataVersion", NS)] == ["MDV.1"]
    visits, _ = run(
        dbsession,
        world,
        tmp_path,
        "sc.xml",
        format=ExportFormat.ODM,
        visits=("unscheduled",),
        statuses=(FormStatus.COMPLETE, FormStatus.IN_PROGRESS),
    )
    root = read_valid(visits)
    names = {e.get("OID"): e.get("Name") for e in root.iterfind(".//odm:StudyEventDef", NS)}
    assert {names[e.get("StudyEventOID")] for e in root.iterfind(".//odm:StudyEventData", NS)} == {
        "unscheduled"
    }
    locked, result = run(
        dbsession,
        world,
        tmp_path,
        "lk.xml",
        format=ExportFormat.ODM,
        lock_states=(LockState.LOCKED,),
    )
    assert result.values == 0 and read_valid(locked).find(".//odm:FormData", NS) is None


def test_an_operator_writes_odm_from_the_command_line(datacapt, tmp_path):
    assert datacapt("demo")[0] == 0
    for name, extra in (("demo.xml", ()), ("trail.xml", ("--odm-transactional",))):
        target = tmp_path / name
        code, out, _ = datacapt(
            "export", "acme", "demo", "--format", "odm", "-o", str(target), *extra
        )
        assert code == 0 and out.startswith(f"{target}: ")
        root = read_valid(target)
        assert root.find(".//odm:ItemData", NS) is not None
        assert_references_resolve(root)
    refused = datacapt(
        "export",
        "acme",
        "demo",
        "--format",
        "csv",
        "-o",
        str(tmp_path / "x"),
        "--odm-transactional",
    )
    assert refused[0] == 2 and "--odm-transactional goes with --format odm" in refused[2]


def test_a_data_manager_takes_a_transactional_odm_file_from_the_page(
    entered, app, world, dbsession
):
    manager = signed_in(app, world, "data_manager")
    form = manager.get(EXPORTS).forms["export-form"]
    form["format"], form["odm_transactional"] = "odm", True
    page = form.submit().follow()
    (row,) = page.html.select("#export-list tbody tr")
    download = manager.get(row.find("a", string="Download")["href"])
    assert download.headers["Content-Disposition"].endswith('.xml"')
    root = etree.fromstring(download.body)
    assert official_schema().validate(root)
    assert root.get("FileType") == "Transactional"


def test_times_gain_their_seconds_and_other_values_stay_as_stored():
    woke = Item(oid="I.T", name="t", type=ItemType.TEXT, validation=Validation.TIME, label={})
    seconds = Item(
        oid="I.S",
        name="s",
        type=ItemType.TEXT,
        validation=Validation.TIME,
        with_seconds=True,
        label={},
    )
    weight = Item(oid="I.W", name="w", type=ItemType.TEXT, validation=Validation.NUMBER, label={})
    assert odm_value(woke, "06:45") == "06:45:00"
    assert odm_value(seconds, "06:45:12") == "06:45:12"
    assert odm_value(weight, "61.5") == "61.5"
