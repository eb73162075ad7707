"""Imports as a data manager or an operator runs them: a dry run that writes nothing and says
what it would do, a bad row refusing the whole file with its line, a confirmed import written
through the save (each value's history shows "import FILE"), a form changed after the dry run
refusing the file, and the Imports page for data managers only.

Files are exported by the product (the long CSV), written by hand after REDCap's and CDISC's
formats (REDCap's flat CSV for a real dictionary of tests/data, ODM ClinicalData validated
against the official XSD of tests/data)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
import webtest
from lxml import etree
from sqlalchemy import func, select, text

from datacapt.actor import Actor
from datacapt.design import services as design
from datacapt.design.interchange.redcap_reader import read_dictionary
from datacapt.ecrf.definition import Visit
from datacapt.ecrf.versions import published_design
from datacapt.entry import services as entry
from datacapt.exports.options import ExportFormat, ExportOptions
from datacapt.exports.services import export
from datacapt.imports import services
from datacapt.imports.cells import Unreadable
from datacapt.models import (
    AuditEvent,
    DataImport,
    EntryWarning,
    FormInstance,
    ImportFormat,
    ImportState,
    ItemValue,
    LockState,
    Study,
    Subject,
    VisitInstance,
)
from datacapt.reactions import reactions_of
from datacapt.studies.services import create_site, create_study
from tests.factories import SETUP, build_world, login, make_design

DATA = Path(__file__).resolve().parents[1] / "data"
IMPORTS = "/acme/demo/imports/"
TERM = '=HYPERLINK("http://evil.example";"Céphalée łagodna")'
LONG_HEADER = "subject,site,visit,visit_repeat,form,form_repeat,item,value,missing_code\r\n"


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def save(dbsession, registry, study, label, visit, form_name, values, *, repeat=1, complete=False):
    """Values entered through the save, as a coordinator's form would send them."""
    subject = dbsession.scalar(select(Subject).where(Subject.label == label))
    definition = published_design(dbsession, study).definition
    form = next(f for f in definition.forms if f.name == form_name)
    scope = entry.EntryScope(study, subject, visit, repeat, form, 1, 1)
    reads = entry.read_for_save(dbsession, scope, definition)
    request = entry.EntryRequest(
        posted={name: [value] for name, value in values.items()},
        missing={},
        complete=complete,
        reason="",
        lock=reads.instance.lock_version if reads.instance else None,
        today=date(2026, 6, 15),
    )
    plan = entry.plan_save(scope, definition, request, reads, missing_codes=set())
    entry.apply_save(dbsession, plan, SETUP, reactions_of(registry))
    dbsession.flush()


@pytest.fixture
def entered(dbsession, registry, world):
    """par01-0001: demographics (complete), vital signs at screening, an adverse event whose
    term a spreadsheet would run, in the first unscheduled visit."""
    study = world.study
    demographics = {"birth_date": "1980-01-31", "sex": "1", "height_cm": "181", "weight_kg": "77.5"}
    save(
        dbsession,
        registry,
        study,
        "par01-0001",
        "screening",
        "demographics",
        demographics,
        complete=True,
    )
    vitals = {"systolic": "120", "diastolic": "80", "heart_rate": "64"}
    save(dbsession, registry, study, "par01-0001", "screening", "vital_signs", vitals)
    adverse = {"ae_term": TERM, "ae_start": "2026-03-02", "ae_serious": "0"}
    save(dbsession, registry, study, "par01-0001", "unscheduled", "adverse_events", adverse)
    return world


def values_of(dbsession, study: Study) -> dict[tuple, tuple]:
    """(subject, visit, repeat, form, repeat, item OID) → (value, missing code, form status)."""
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
            FormInstance.status,
        )
        .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(FormInstance.study_id == study.id)
    ).all()
    return {tuple(row[:6]): tuple(row[6:]) for row in rows}


def counts(dbsession) -> dict[str, int]:
    return {
        model.__name__: dbsession.scalar(select(func.count()).select_from(model))
        for model in (Subject, VisitInstance, FormInstance, ItemValue, EntryWarning, AuditEvent)
    }


def dry_run(
    dbsession,
    registry,
    world,
    content: bytes,
    kind: ImportFormat,
    name: str,
    study: Study | None = None,
) -> DataImport:
    row = services.receive(
        dbsession,
        registry,
        study or world.study,
        source=io.BytesIO(content),
        file_name=name,
        kind=kind,
        requested_by_id=world.users["data_manager"].id,
    )
    services.check(
        dbsession,
        registry,
        study or world.study,
        row,
        actor=manager(world),
        reactions=reactions_of(registry),
    )
    dbsession.flush()
    return row


def confirmed(dbsession, registry, world, row: DataImport) -> DataImport:
    services.mark_confirmed(row, world.users["data_manager"].id)
    study = dbsession.get(Study, row.study_id)
    services.write(
        dbsession, registry, study, row, actor=manager(world), reactions=reactions_of(registry)
    )
    dbsession.flush()
    return row


def manager(world) -> Actor:
    return Actor.system("import", user_id=world.users["data_manager"].id)


def long_csv(dbsession, world, tmp_path) -> bytes:
    target = tmp_path / "export.zip"
    export(dbsession, world.study, ExportOptions(format=ExportFormat.CSV), target, actor=SETUP)
    with zipfile.ZipFile(target) as archive:
        return archive.read("values.csv")


def second_study(dbsession, world, code="copy") -> Study:
    study = create_study(dbsession, world.tenant, code, "A copy")
    create_site(dbsession, study, "par01", "Paris")
    make_design(dbsession, study, draft=False)
    dbsession.flush()
    return study


# --- the long CSV -------------------------------------------------------------------------


def test_an_exported_long_csv_imports_into_another_study_as_it_was(
    entered, dbsession, registry, tmp_path
):
    world = entered
    content = long_csv(dbsession, world, tmp_path)
    copy = second_study(dbsession, world)
    before = counts(dbsession)
    row = dry_run(dbsession, registry, world, content, ImportFormat.CSV, "values.csv", copy)
    assert row.state is ImportState.READY, row.report["refusals"]
    assert counts(dbsession) == before  # the dry run wrote nothing
    assert row.report["subjects"] == ["par01-0001"]
    assert row.report["forms_created"] == 3
    term = next(c for c in row.report["changes"] if c["item"] == "ae_term")
    assert term["old"] is None and term["new"] == TERM  # the export's apostrophe taken off
    confirmed(dbsession, registry, world, row)
    assert row.state is ImportState.DONE
    original = {
        key: value
        for key, value in values_of(dbsession, world.study).items()
        if key[0] == "par01-0001" and key[5] != "I.INITIALS"  # personal data is never exported
    }
    assert values_of(dbsession, copy) == original
    assert row.values_changed == len(original)


def test_a_bad_row_refuses_the_whole_file_with_its_line(entered, dbsession, registry):
    world = entered
    content = (
        LONG_HEADER
        + "par01-0001,par01,screening,1,vital_signs,1,heart_rate,70,\r\n"
        + "par01-0001,par01,screening,1,vital_signs,1,diastolic,130,\r\n"  # ≥ systolic: blocking
        + "par01-0001,par01,screening,1,vital_signs,1,pulse,70,\r\n"  # no such item
        + "ber01-0001,ber01,week9,1,vital_signs,1,systolic,120,\r\n"  # no such visit
        + "par01-0002,,screening,1,vital_signs,1,systolic,120,\r\n"  # unknown, no site
        + "par01-0003,par01,screening,1,demographics,1,height_cm,400,\r\n"  # out of range
        + "PAR-3,par01,screening,1,demographics,1,height_cm,170,\r\n"  # not the study's IDs
    ).encode()
    before, stored = counts(dbsession), values_of(dbsession, world.study)
    row = dry_run(dbsession, registry, world, content, ImportFormat.CSV, "bad.csv")
    assert row.state is ImportState.REFUSED
    refused = {r["line"]: r for r in row.report["refusals"]}
    assert sorted(refused) == [3, 4, 5, 6, 7, 8]
    assert refused[8]["mapping"] == {"site": "par01", "example": "par01-0001"}
    assert "diastolic" in refused[3]["where"]
    assert refused[4]["mapping"] == {"item": "pulse", "form": "vital_signs"}
    assert refused[5]["mapping"] == {"visit": "week9"}
    assert refused[6]["mapping"] == {"subject": "par01-0002"}
    assert row.report["subjects"] == ["par01-0003"]  # would be enrolled, were the file clean
    with pytest.raises(services.NotConfirmable):
        services.mark_confirmed(row, None)
    assert counts(dbsession) == before and values_of(dbsession, world.study) == stored


def test_a_form_changed_after_the_dry_run_refuses_the_file(entered, dbsession, registry):
    world = entered
    content = (
        LONG_HEADER
        + "par01-0001,par01,screening,1,vital_signs,1,heart_rate,70,\r\n"
        + "ber01-0001,ber01,screening,1,vital_signs,1,systolic,118,\r\n"
        + "ber01-0001,ber01,screening,1,vital_signs,1,diastolic,76,\r\n"
    ).encode()
    row = dry_run(dbsession, registry, world, content, ImportFormat.CSV, "late.csv")
    assert row.state is ImportState.READY and row.report["values_changed"] == 3
    save(
        dbsession,
        registry,
        world.study,
        "par01-0001",
        "screening",
        "vital_signs",
        {"systolic": "120", "diastolic": "80", "heart_rate": "66"},
    )
    stored = values_of(dbsession, world.study)
    confirmed(dbsession, registry, world, row)
    assert row.state is ImportState.REFUSED
    (refusal,) = row.report["refusals"]
    assert refusal["line"] == 2 and "(409)" in refusal["text"]
    assert values_of(dbsession, world.study) == stored  # ber01-0001 was not written either


def test_a_locked_form_refuses_a_change_but_not_its_own_values(entered, dbsession, registry):
    world = entered
    instance = dbsession.scalar(select(FormInstance).where(FormInstance.form == "vital_signs"))
    instance.lock_state = LockState.LOCKED
    dbsession.flush()
    same = (LONG_HEADER + "par01-0001,par01,screening,1,vital_signs,1,heart_rate,64,\r\n").encode()
    row = dry_run(dbsession, registry, world, same, ImportFormat.CSV, "same.csv")
    assert row.state is ImportState.READY and row.report["values_changed"] == 0
    other = same.replace(b",64,", b",65,")
    row = dry_run(dbsession, registry, world, other, ImportFormat.CSV, "other.csv")
    (refusal,) = row.report["refusals"]
    assert row.state is ImportState.REFUSED and refusal["line"] == 2
    assert refusal["text"] == "The form is frozen, locked or signed."


def test_a_form_frozen_between_the_check_and_the_write_is_refused(
    entered, dbsession, registry, monkeypatch
):
    """A monitor freezes the form after the import checked it open and before it writes it
    (freezing does not raise the form's lock): the import refuses the form, writes nothing."""
    world = entered
    real = entry.apply_save

    def frozen_meanwhile(dbsession, plan, *args, **kwargs):
        dbsession.execute(  # behind the session, as another transaction's commit would be
            text("UPDATE form_instance SET lock_state = 'frozen' WHERE id = :id"),
            {"id": plan.reads.instance.id},
        )
        return real(dbsession, plan, *args, **kwargs)

    line = "par01-0001,par01,screening,1,vital_signs,1,heart_rate,65,\r\n"
    content = (LONG_HEADER + line).encode()
    row = dry_run(dbsession, registry, world, content, ImportFormat.CSV, "late.csv")
    assert row.state is ImportState.READY and row.report["values_changed"] == 1
    stored, before = values_of(dbsession, world.study), counts(dbsession)
    monkeypatch.setattr(entry, "apply_save", frozen_meanwhile)
    confirmed(dbsession, registry, world, row)
    (refusal,) = row.report["refusals"]
    assert row.state is ImportState.REFUSED and refusal["line"] == 2
    assert refusal["text"] == "The form is frozen, locked or signed."
    assert values_of(dbsession, world.study) == stored and counts(dbsession) == before


# --- the page -----------------------------------------------------------------------------


def signed_in(app, world, role):
    other = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(other, world.users[role].email)
    return other


def upload(client, content: bytes, kind="csv", name="change.csv", status=None):
    form = client.get(IMPORTS).forms["import-form"]
    form["format"] = kind
    form["file"] = webtest.Upload(name, content, "text/csv")
    return form.submit(status=status or "*")


def test_a_data_manager_checks_then_confirms_and_each_value_shows_the_import(
    entered, app, dbsession
):
    world = entered
    client = signed_in(app, world, "data_manager")
    assert f'href="{IMPORTS}"' in client.get("/acme/demo/").text
    content = (
        LONG_HEADER + "par01-0001,par01,screening,1,vital_signs,1,systolic,125,\r\n"
    ).encode()
    page = upload(client, content, status=303).follow()
    assert "Checked: waits for confirmation" in page.text
    (change,) = page.html.select("#import-changes tbody tr")
    assert [cell.text.strip() for cell in change.find_all("td")][-2:] == ["120", "125"]
    oid = ("par01-0001", "screening", 1, "vital_signs", 1, "I.SYSTOLIC")
    assert values_of(dbsession, world.study)[oid][0] == "120"
    fragment = client.get(page.request.path + "@@report", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith("<div") and "hx-get" not in fragment.text
    done = page.forms["confirm-form"].submit(status=303).follow()
    assert "Imported" in done.text and "confirm-form" not in done.forms
    assert values_of(dbsession, world.study)[oid][0] == "125"
    client.post(page.request.path + "@@confirm", {"csrf_token": token(client)}, status=409)
    coordinator = signed_in(app, world, "coordinator")
    history = coordinator.get(
        "/acme/demo/subjects/par01-0001/screening/vital_signs/@@history?item=I.SYSTOLIC"
    )
    last = history.html.select(".history-table tbody tr")[-1].text
    assert "120" in last and "125" in last and "import change.csv" in last


def test_the_report_polls_while_its_job_runs(world, app, dbsession, registry):
    row = services.receive(
        dbsession,
        registry,
        world.study,
        source=io.BytesIO(LONG_HEADER.encode()),
        file_name="slow.csv",
        kind=ImportFormat.CSV,
        requested_by_id=world.users["data_manager"].id,
    )
    row.state, row.progress = ImportState.CHECKING, 40
    dbsession.flush()
    client = signed_in(app, world, "data_manager")
    fragment = client.get(f"{IMPORTS}{row.id}/@@report", headers={"HX-Request": "true"})
    block = fragment.html.find(id="import-report")
    assert block["hx-get"] == f"{IMPORTS}{row.id}/@@report"
    assert block.find("progress")["value"] == "40" and "confirm-form" not in fragment.text


def token(client) -> str:
    return client.get(IMPORTS).forms["import-form"]["csrf_token"].value


def test_a_file_too_big_or_unreadable_is_refused_next_to_the_field(world, app, registry):
    client = signed_in(app, world, "data_manager")
    odm = b'<?xml version="1.0"?><ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"/>'
    refused = upload(client, odm, kind="csv", name="odm.xml", status=422)
    message = refused.html.find(id="field-file-error").text
    assert "not the long CSV of an export" in message and "No import yet." in refused.text
    refused = upload(client, b"subject,site\r\n", kind="odm", name="x.xml", status=422)
    assert "not well-formed XML" in refused.html.find(id="field-file-error").text
    limit = registry["imports.max_bytes"]
    registry["imports.max_bytes"] = 10
    try:
        refused = upload(client, LONG_HEADER.encode(), status=422)
    finally:
        registry["imports.max_bytes"] = limit
    assert "larger than" in refused.html.find(id="field-file-error").text
    refused = client.post(IMPORTS + "@@upload", {"csrf_token": token(client)}, status=422)
    text = refused.html.text
    assert "Choose the file's format." in text and "Choose a file to import." in text


@pytest.mark.parametrize(
    "role", ["coordinator", "monitor", "sponsor_viewer", "study_admin", "foreign"]
)
def test_only_data_managers_of_the_study_reach_imports(world, app, dbsession, role):
    client = signed_in(app, world, "data_manager")
    upload(
        client,
        (LONG_HEADER + "par01-0001,par01,screening,1,vital_signs,1,heart_rate,70,\r\n").encode(),
        status=303,
    )
    mine = f"{IMPORTS}{dbsession.scalar(select(DataImport.id))}/"
    client.get(mine, status=200)
    other = signed_in(app, world, role)
    other.get(IMPORTS, status=404)
    other.get(mine, status=404)
    other.get(mine + "@@report", status=404)


def test_another_tenants_import_is_not_found(world, app, dbsession, registry):
    foreign = dbsession.scalar(select(Study).where(Study.code == "other"))
    make_design(dbsession, foreign, draft=False)
    row = services.receive(
        dbsession,
        registry,
        foreign,
        source=io.BytesIO(LONG_HEADER.encode()),
        file_name="x.csv",
        kind=ImportFormat.CSV,
        requested_by_id=None,
    )
    dbsession.flush()
    client = signed_in(app, world, "data_manager")
    client.get(f"{IMPORTS}{row.id}/", status=404)
    client.get(f"/globex/other/imports/{row.id}/", status=404)


# --- REDCap and ODM -----------------------------------------------------------------------


def redcap_study(dbsession, world) -> Study:
    """A study designed from REDCap's dictionary of every field and validation type, its form
    at one visit."""
    study = create_study(dbsession, world.tenant, "redcap", "From REDCap")
    create_site(dbsession, study, "par01", "Paris")
    definition = read_dictionary((DATA / "redcap/validation-types-1/dictionary.csv").read_bytes())
    definition = definition.definition
    definition.schedule.visits.append(
        Visit(
            "V.ENROLMENT",
            "enrolment",
            {"en": "Enrolment"},
            forms=[f.name for f in definition.forms],
        )
    )
    version = design.start_draft(dbsession, study, SETUP)
    design.save_draft(
        dbsession,
        study,
        version,
        definition,
        expected_lock=version.lock_version,
        action="design.imported",
        element=None,
        old=None,
        new=None,
        actor=SETUP,
    )
    design.publish(
        dbsession, study, version, actor=SETUP, reason="REDCap", expected_lock=version.lock_version
    )
    dbsession.flush()
    return study


def test_a_redcap_flat_export_imports_against_its_dictionary(world, dbsession, registry):
    study = redcap_study(dbsession, world)
    header = (DATA / "redcap/validation-types-1/data.csv").read_text().splitlines()[0].split(",")
    header[1:1] = ["redcap_event_name", "redcap_data_access_group"]
    given = {
        "record_id": "par01-0007",
        "redcap_event_name": "enrolment_arm_1",
        "redcap_data_access_group": "par01",
        "f_checkbox___0": "1",
        "f_checkbox___1": "0",
        "f_checkbox___2": "1",
        "f_radio": "2",
        "f_text": "Zażółć gęślą jaźń",
        "f_yes_no": "1",
        "v_date_ymd": "2026-02-28",
        "v_integer": "42",
        "form_1_complete": "1",
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, header, restval="")
    writer.writeheader()
    writer.writerow(given)
    row = dry_run(
        dbsession,
        registry,
        world,
        out.getvalue().encode(),
        ImportFormat.REDCAP,
        "redcap.csv",
        study,
    )
    assert row.state is ImportState.READY, row.report["refusals"]
    confirmed(dbsession, registry, world, row)
    stored = {key[5]: value[0] for key, value in values_of(dbsession, study).items()}
    assert stored == {
        "I.F_CHECKBOX": "0|2",
        "I.F_RADIO": "2",
        "I.F_TEXT": "Zażółć gęślą jaźń",
        "I.F_YES_NO": "1",
        "I.V_DATE_YMD": "2026-02-28",
        "I.V_INTEGER": "42",
        "I.F_CALCULATED": "7",  # the calculation is the save's
    }
    subject = dbsession.scalar(select(Subject).where(Subject.study_id == study.id))
    assert subject.label == "par01-0007"


ODM_SUBJECT = """
  <SubjectData SubjectKey="{subject}">
   <SiteRef LocationOID="par01"/>
   <StudyEventData StudyEventOID="V.SCREENING">
    <FormData FormOID="F.VITAL_SIGNS">
     <ItemGroupData ItemGroupOID="G.VITAL_SIGNS.1">
      <ItemData ItemOID="I.SYSTOLIC" Value="{systolic}"/>
      <ItemData ItemOID="I.DIASTOLIC" Value="82"/>
     </ItemGroupData>
    </FormData>
   </StudyEventData>
   <StudyEventData StudyEventOID="UNSCHEDULED" StudyEventRepeatKey="1">
    <FormData FormOID="F.ADVERSE_EVENTS" FormRepeatKey="1">
     <ItemGroupData ItemGroupOID="G.ADVERSE_EVENTS.1">
      <ItemData ItemOID="I.AE_TERM" Value="Céphalée"/>
      <ItemData ItemOID="I.AE_START" Value="2026-03-02"/>
      <ItemData ItemOID="I.AE_SERIOUS" Value="1"/>
     </ItemGroupData>
    </FormData>
   </StudyEventData>
  </SubjectData>"""


def odm_file(*subjects: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="F.IMPORT.1" FileType="Snapshot"
     CreationDateTime="2026-12-04T00:00:00+00:00" ODMVersion="1.3.2">
 <ClinicalData StudyOID="ST.DEMO" MetaDataVersionOID="MDV.1">{"".join(subjects)}
 </ClinicalData>
</ODM>""".encode()


def test_odm_clinical_data_valid_against_the_xsd_imports(world, dbsession, registry):
    content = odm_file(
        ODM_SUBJECT.format(subject="par01-0001", systolic="131"),
        ODM_SUBJECT.format(subject="par01-0005", systolic="140"),
    )
    schema = etree.XMLSchema(etree.parse(str(DATA / "odm-1.3.2-xsd/ODM1-3-2.xsd")))
    schema.assertValid(etree.fromstring(content))
    row = dry_run(dbsession, registry, world, content, ImportFormat.ODM, "data.xml")
    assert row.state is ImportState.READY, row.report["refusals"]
    assert row.report["subjects"] == ["par01-0005"]
    confirmed(dbsession, registry, world, row)
    stored = values_of(dbsession, world.study)
    assert stored[("par01-0005", "screening", 1, "vital_signs", 1, "I.SYSTOLIC")][0] == "140"
    assert (
        stored[("par01-0001", "unscheduled", 1, "adverse_events", 1, "I.AE_TERM")][0] == "Céphalée"
    )
    assert row.values_changed == 10


def test_odm_with_an_unknown_oid_or_a_doctype_is_refused(world, dbsession, registry):
    bad = ODM_SUBJECT.format(subject="par01-0001", systolic="131").replace("I.DIASTOLIC", "I.DBP")
    row = dry_run(dbsession, registry, world, odm_file(bad), ImportFormat.ODM, "bad.xml")
    (refusal,) = row.report["refusals"]
    assert row.state is ImportState.REFUSED and refusal["line"] == 11
    assert refusal["mapping"] == {"attribute": "ItemOID", "oid": "I.DBP"}
    entity = b'<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY x "y">]><ODM xmlns="http://www.cdisc.org/ns/odm/v1.3">&x;</ODM>'
    with pytest.raises(Unreadable):
        dry_run(dbsession, registry, world, entity, ImportFormat.ODM, "xxe.xml")


# --- the command line ---------------------------------------------------------------------


def test_an_operator_imports_from_the_command_line(datacapt, tmp_path):
    assert datacapt("demo")[0] == 0
    exported = tmp_path / "demo.zip"
    assert datacapt("export", "acme", "demo", "--format", "csv", "-o", str(exported))[0] == 0
    with zipfile.ZipFile(exported) as archive:
        rows = list(csv.DictReader(io.TextIOWrapper(archive.open("values.csv"), "utf-8")))
    target = next(row for row in rows if row["item"] == "heart_rate")
    target["value"] = str(int(target["value"]) + 1)
    changed = tmp_path / "changed.csv"
    with changed.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    code, out, _ = datacapt("import", "acme", "demo", str(changed), "--format", "csv")
    assert code == 0 and "1 values set or changed, 0 rows refused" in out
    assert "nothing written" in out
    code, out, _ = datacapt("import", "acme", "demo", str(changed), "--format", "csv", "--confirm")
    assert code == 0 and "confirmed: done" in out
    code, out, _ = datacapt("import", "acme", "demo", str(changed), "--format", "csv")
    assert code == 0 and "0 values set or changed" in out  # written: nothing left to change
    code, _, err = datacapt("import", "acme", "demo", str(changed), "--format", "odm")
    assert code == 2 and "not well-formed XML" in err
