"""Exports as a data manager or an operator takes them: the values as entered, read back by an
independent reader (the csv module, openpyxl), personal data left out, formulas neutralised,
filters honoured, refusals clear, and every export audited with its SHA-256."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pandas
import pyreadstat
import pytest
import webtest
from sqlalchemy import create_engine, select

from datacapt.ecrf import definition
from datacapt.exports.options import Coded, ExportFormat, ExportOptions
from datacapt.exports.services import ExportRefused, export
from datacapt.models import AuditEvent, DataExport, ExportState, FormInstance, ItemValue, Subject
from datacapt.models.entry import LockState
from tests.factories import SETUP, build_world, login

SUBJECT = "/acme/demo/subjects/par01-0001/"
TERM = '=HYPERLINK("http://evil.example";"Céphalée łagodna")'  # a spreadsheet would run it


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def entered(testapp, world):
    """Demographics and an adverse-event row of par01-0001, entered through the forms."""
    login(testapp, world.users["coordinator"].email)
    form = testapp.get(SUBJECT + "screening/demographics/").forms["entry-form"]
    for name, value in {
        "initials": "JM",
        "birth_date": "31/01/1980",
        "sex": "2",
        "pregnant": "0",
        "height_cm": "165",
        "weight_kg": "61.5",
    }.items():
        form[name] = value
    form.submit()
    add_adverse_event(testapp, TERM, serious="1", severity="2")
    return testapp


def add_adverse_event(testapp, term: str, serious: str, severity: str = "") -> None:
    """An unscheduled visit with an adverse-event row, through the casebook's forms."""
    visit = testapp.get(SUBJECT).forms["add-visit-form"]
    visit["visit"] = "unscheduled"
    page = visit.submit().follow()
    row = page.forms[next(k for k, f in page.forms.items() if "form" in f.fields)].submit()
    entry = row.follow().forms["entry-form"]
    entry["ae_term"], entry["ae_start"], entry["ae_serious"] = term, "02/03/2026", serious
    entry["ae_severity"] = severity
    entry.submit()


def stored(dbsession):
    """(form, item OID) → stored text, from the database itself."""
    rows = dbsession.execute(
        select(FormInstance.form, ItemValue.item_oid, ItemValue.value)
        .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(Subject.label == "par01-0001")
    ).all()
    return {(form, oid): value for form, oid, value in rows}


def read_zip(path: Path) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(path) as archive:
        return {
            name: list(csv.DictReader(io.TextIOWrapper(archive.open(name), "utf-8-sig")))
            for name in archive.namelist()
        }


def run(dbsession, world, tmp_path, name="export", **options):
    target = tmp_path / name
    result = export(dbsession, world.study, ExportOptions(**options), target, actor=SETUP)
    return target, result


def test_csv_holds_every_value_as_stored_without_personal_data(entered, dbsession, world, tmp_path):
    target, result = run(dbsession, world, tmp_path, format=ExportFormat.CSV, coded=Coded.BOTH)
    files = read_zip(target)
    assert set(files) == {
        "values.csv",
        "codebook.csv",
        *(
            f"forms/{name}.csv"
            for name in ("consent", "demographics", "vital_signs", "adverse_events")
        ),
    }
    values = files["values.csv"]
    database = stored(dbsession)
    exported = {(row["form"], row["item"]): row for row in values}
    assert ("demographics", "initials") not in exported  # personal data never leaves this way
    assert not any("JM" in str(row) for rows in files.values() for row in rows)
    assert exported[("demographics", "birth_date")]["value"] == "1980-01-31"
    assert exported[("demographics", "sex")]["value_label"] == "Female"
    assert exported[("adverse_events", "ae_severity")]["value_label"] == "Moderate"
    assert exported[("adverse_events", "ae_term")]["value"] == "'" + TERM
    kept = {(f, o): v for (f, o), v in database.items() if o != "I.INITIALS"}
    assert len(values) == len(kept) == result.values
    for row in values:
        if row["item"] != "ae_term":
            oid = "I." + row["item"].upper()
            assert kept[(row["form"], oid)] == row["value"]
        assert row["site"] == "par01"
        assert datetime.fromisoformat(row["updated_at"]).utcoffset().total_seconds() == 0
        assert row["updated_by"] == world.users["coordinator"].email
    table = files["forms/demographics.csv"]
    assert [row["weight_kg"] for row in table] == ["61.5"]
    assert "initials" not in table[0]
    codebook = {row["item"]: row for row in files["codebook.csv"]}
    assert codebook["ae_severity"]["codes"] == "1=Mild; 2=Moderate; 3=Severe"
    assert "initials" not in codebook


def test_the_same_data_gives_the_same_bytes_and_each_export_is_audited(
    entered, dbsession, world, tmp_path
):
    first, result = run(dbsession, world, tmp_path, "a.zip", format=ExportFormat.CSV)
    second, again = run(dbsession, world, tmp_path, "b.zip", format=ExportFormat.CSV)
    assert first.read_bytes() == second.read_bytes()
    assert result.sha256 == again.sha256 == hashlib.sha256(first.read_bytes()).hexdigest()
    events = dbsession.scalars(select(AuditEvent).where(AuditEvent.action == "data.exported")).all()
    assert len(events) == 2
    assert result.sha256 in events[0].new_value and "61.5" not in events[0].new_value


def test_filters_choose_sites_forms_and_states(entered, dbsession, world, tmp_path):
    berlin, result = run(
        dbsession, world, tmp_path, "ber.zip", format=ExportFormat.CSV, sites=("ber01",)
    )
    assert result.values == 0 and read_zip(berlin)["values.csv"] == []
    only, _ = run(
        dbsession, world, tmp_path, "ae.zip", format=ExportFormat.CSV, forms=("adverse_events",)
    )
    files = read_zip(only)
    assert {row["form"] for row in files["values.csv"]} == {"adverse_events"}
    assert "forms/demographics.csv" not in files
    _locked, result = run(
        dbsession,
        world,
        tmp_path,
        "lk.zip",
        format=ExportFormat.CSV,
        lock_states=(LockState.LOCKED,),
    )
    assert result.values == 0
    labels, _ = run(
        dbsession, world, tmp_path, "lb.zip", format=ExportFormat.CSV, coded=Coded.LABELS
    )
    rows = read_zip(labels)["values.csv"]
    assert next(r for r in rows if r["item"] == "ae_serious")["value"] == "Yes"
    assert "value_label" not in rows[0]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sites": ("zzz01",)}, "no site zzz01 in study demo"),
        ({"forms": ("labs",)}, "no form labs in study demo"),
        ({"visits": ("week_99",)}, "no visit week_99 in study demo"),
    ],
)
def test_unknown_names_are_refused(world, dbsession, tmp_path, options, message):
    with pytest.raises(ExportRefused, match=message):
        run(dbsession, world, tmp_path, format=ExportFormat.CSV, **options)


def test_excel_has_typed_cells_a_sheet_per_form_and_a_codebook(entered, dbsession, world, tmp_path):
    target, _ = run(dbsession, world, tmp_path, "x.xlsx", format=ExportFormat.XLSX)
    workbook = openpyxl.load_workbook(target, read_only=True)
    assert workbook.sheetnames == [
        "consent",
        "demographics",
        "vital_signs",
        "adverse_events",
        "codebook",
    ]
    header, *rows = workbook["demographics"].iter_rows(values_only=True)
    row = dict(zip(header, rows[0], strict=True))
    assert row["weight_kg"] == 61.5 and row["height_cm"] == 165
    assert row["birth_date"].date().isoformat() == "1980-01-31"
    assert "initials" not in header
    header, *rows = workbook["adverse_events"].iter_rows(values_only=True)
    assert dict(zip(header, rows[0], strict=True))["ae_term"] == TERM  # a string cell, never run
    codebook = [r[1] for r in workbook["codebook"].iter_rows(min_row=2, values_only=True)]
    assert "ae_term" in codebook and "initials" not in codebook


def test_an_operator_exports_from_the_command_line(datacapt, cli_database, tmp_path):
    assert datacapt("demo")[0] == 0
    target = tmp_path / "demo.zip"
    code, out, _ = datacapt("export", "acme", "demo", "--format", "csv", "-o", str(target))
    assert code == 0
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    assert out.strip().endswith(f"sha256 {digest}")
    assert len(read_zip(target)["values.csv"]) == 11  # the demo's values
    engine = create_engine(cli_database)
    with engine.connect() as connection:
        audited = connection.scalar(
            select(AuditEvent.new_value).where(AuditEvent.action == "data.exported")
        )
    engine.dispose()
    assert digest in audited
    again = datacapt("export", "acme", "demo", "--format", "csv", "-o", str(target))
    assert again[0] == 2 and "exists (add --force to replace it)" in again[2]
    refused = datacapt(
        "export", "acme", "demo", "--format", "xlsx", "-o", str(tmp_path / "x"), "--site", "nowhere"
    )
    assert refused == (2, "", "datacapt: error: no site nowhere in study demo\n")


# --- the Exports page ---------------------------------------------------------------------

EXPORTS = "/acme/demo/exports/"


def signed_in(app, world, role):
    other = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(other, world.users[role].email)
    return other


def test_a_data_manager_exports_from_the_page_and_downloads_the_file(
    entered, app, world, dbsession
):
    manager = signed_in(app, world, "data_manager")
    assert 'href="/acme/demo/exports/"' in manager.get("/acme/demo/").text
    form = manager.get(EXPORTS).forms["export-form"]
    form["format"], form["coded"] = "csv", "both"
    page = form.submit().follow()
    (row,) = page.html.select("#export-list tbody tr")
    assert "Ready" in row.text and "hx-get" not in str(row)  # finished: no more polling
    link = row.find("a", string="Download")["href"]
    download = manager.get(link)
    assert download.headers["Content-Disposition"].startswith('attachment; filename="demo-export-')
    assert download.headers["Cache-Control"] == "no-store"
    archive = io.BytesIO(download.body)
    with zipfile.ZipFile(archive) as files:
        values = list(csv.DictReader(io.TextIOWrapper(files.open("values.csv"), "utf-8")))
    assert {row["item"] for row in values} >= {"weight_kg", "ae_term"}
    assert "initials" not in {row["item"] for row in values}
    actions = dbsession.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("data.%")).order_by(AuditEvent.id)
    ).all()
    assert actions == ["data.exported", "data.downloaded"]


def test_the_exports_page_reads_the_published_designs_parsed_once(world, app, monkeypatch):
    manager = signed_in(app, world, "data_manager")
    manager.get(EXPORTS)  # the designs parsed here, or by an earlier test of this process
    parsed, load = [], definition._load
    monkeypatch.setattr(definition, "_load", lambda *a: parsed.append(a) or load(*a))
    page = manager.get(EXPORTS)
    assert page.forms["export-form"]["format"] is not None
    assert parsed == []


def test_the_export_form_says_what_is_wrong_next_to_the_field(world, app):
    manager = signed_in(app, world, "data_manager")
    token = manager.get(EXPORTS).forms["export-form"]["csrf_token"].value
    refused = manager.post(
        EXPORTS + "@@start",
        {"csrf_token": token, "format": "sas9", "site": "zzz01"},
        status=422,
    )
    assert (
        refused.html.find(id="field-format")
        .find(class_="field-error")
        .text.strip()
        .endswith("Choose a format.")
    )
    assert "Choose among the options offered." in refused.html.find(id="field-site").text
    assert "No export yet." in refused.text
    htmx = manager.post(
        EXPORTS + "@@start",
        {"csrf_token": token, "format": "xlsx"},
        headers={"HX-Request": "true"},
        status=204,
    )
    assert htmx.headers["HX-Redirect"] == EXPORTS


@pytest.mark.parametrize("role", ["coordinator", "auditor", "study_admin", "foreign"])
def test_only_readers_of_the_studys_exports_reach_them(world, app, dbsession, role):
    manager = signed_in(app, world, "data_manager")
    form = manager.get(EXPORTS).forms["export-form"]
    form["format"] = "csv"
    form.submit()
    mine = f"{EXPORTS}{dbsession.scalar(select(DataExport.id))}/"
    manager.get(mine + "@@download", status=200)
    other = signed_in(app, world, role)
    other.get(EXPORTS, status=404)
    other.get(mine + "@@download", status=404)
    other.get(mine + "@@row", status=404)


def test_a_download_ends_when_the_export_expires(world, app, dbsession):
    manager = signed_in(app, world, "data_manager")
    form = manager.get(EXPORTS).forms["export-form"]
    form["format"] = "xlsx"
    form.submit()
    export = dbsession.scalar(select(DataExport))
    assert export.state is ExportState.DONE and export.progress == 100
    assert export.expires_at is not None
    fragment = manager.get(EXPORTS + f"{export.id}/@@row", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith("<tr") and "Download" in fragment.text
    export.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    dbsession.flush()
    manager.get(EXPORTS + f"{export.id}/@@download", status=404)
    manager.get(EXPORTS + f"{export.id + 1000}/@@download", status=404)


# --- SAS, SPSS, Stata ---------------------------------------------------------------------


def unzipped(path: Path, folder: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    return folder


def test_sas_spss_and_stata_hold_the_values_typed_and_labelled(entered, dbsession, world, tmp_path):
    database = stored(dbsession)
    read = {
        "sas": lambda p: pyreadstat.read_xport(p),
        "spss": lambda p: pyreadstat.read_sav(p),
        "stata": lambda p: (pandas.read_stata(p, convert_categoricals=False), None),
    }
    for kind, (suffix, demographics, weight, birth) in {
        "sas": (".xpt", "DEMOGRAP", "WEIGHT_K", "BIRTH_DA"),
        "spss": (".sav", "demographics", "weight_kg", "birth_date"),
        "stata": (".dta", "demographics", "weight_kg", "birth_date"),
    }.items():
        target, result = run(dbsession, world, tmp_path, f"{kind}.zip", format=ExportFormat(kind))
        folder = unzipped(target, tmp_path / kind)
        frame, meta = read[kind](str(folder / "forms" / (demographics + suffix)))
        row = frame.iloc[0]
        assert row[weight] == float(database[("demographics", "I.WEIGHT_KG")]) == 61.5
        assert str(row[birth])[:10] == database[("demographics", "I.BIRTH_DATE")] == "1980-01-31"
        assert "initials" not in " ".join(frame.columns).lower()
        variables = list(csv.DictReader((folder / "variables.csv").open(encoding="utf-8")))
        assert any(v["item"] == "weight_kg" and v["variable"] == weight for v in variables)
        assert result.values == len([k for k in database if k[1] != "I.INITIALS"])
        if meta is not None:
            assert meta.column_names_to_labels[weight] == "Weight"
    _, meta = pyreadstat.read_sav(str(tmp_path / "spss" / "forms" / "demographics.sav"))
    assert meta.variable_value_labels["sex"] == {1.0: "Male", 2.0: "Female"}


def test_sas_refuses_a_text_it_cannot_hold_whole(world, testapp, dbsession, tmp_path):
    login(testapp, world.users["coordinator"].email)
    add_adverse_event(testapp, "é" * 150, serious="0")
    with pytest.raises(ExportRefused, match="longer than 200 bytes"):
        run(dbsession, world, tmp_path, "long.zip", format=ExportFormat.SAS)
    run(dbsession, world, tmp_path, "long-spss.zip", format=ExportFormat.SPSS)


def test_progress_is_told_as_the_forms_are_written(entered, dbsession, world, tmp_path):
    told: list[int] = []
    options = ExportOptions(format=ExportFormat.CSV)
    export(dbsession, world.study, options, tmp_path / "p.zip", actor=SETUP, progress=told.append)
    assert told == [50, 99]  # two forms filled; 100 is the finished export's, not the writer's
