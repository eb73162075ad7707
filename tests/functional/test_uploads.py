"""File items: a file is taken only for what its bytes are and up to its size, stored outside
the web root under a random name with its SHA-256, shown or downloaded to those who may see the
form (each download audited), kept in the value history when replaced, exported by name and
SHA-256; a refused save keeps no file."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
import webtest
from sqlalchemy import func, select

from datacapt.accounts.services import grant_study_role
from datacapt.design import services
from datacapt.ecrf import versions
from datacapt.ecrf.definition import Item, ItemType
from datacapt.exports.options import ExportFormat, ExportOptions
from datacapt.exports.services import export
from datacapt.models import AuditEvent, ItemValue, UploadedFile
from datacapt.permissions import StudyRole
from datacapt.uploads.services import upload_settings
from tests.factories import SETUP, build_world, login, make_user, publish_definition
from tests.functional.test_exports import read_zip

SUBJECT = "/acme/demo/subjects/par01-0001/"
DEMOGRAPHICS = SUBJECT + "screening/demographics/"
VITALS = SUBJECT + "screening/vital_signs/"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
SCAN = Item(oid="I.SCAN", name="scan", type=ItemType.FILE, label={"en": "Scan of the ECG"})
CONSENT = Item(
    oid="I.CONSENT_SCAN",
    name="consent_scan",
    type=ItemType.FILE,
    label={"en": "Signed consent"},
    identifier=True,
)
XRAY = Item(
    oid="I.XRAY",
    name="xray",
    type=ItemType.FILE,
    label={"en": "Chest X-ray (men)"},
    show_if="[sex] = '1'",
)


@pytest.fixture
def world(dbsession, registry):
    """The demo design with file items on demographics (one of personal data, one shown by
    branching), published as version 2."""
    world = build_world(dbsession, registry)
    draft = versions.draft(dbsession, world.study)
    definition = versions.definition_of(draft)
    definition.form("demographics").sections[0].subsections[0].blocks.extend([SCAN, CONSENT, XRAY])
    publish_definition(dbsession, world.study, draft, definition, "A file item")
    services.start_draft(dbsession, world.study, SETUP)
    dbsession.flush()
    return world


@pytest.fixture
def coordinator(testapp, world):
    assert login(testapp, world.users["coordinator"].email).status_int == 303
    return testapp


@pytest.fixture(autouse=True)
def folder(registry, tmp_path):
    """A folder of this test's own (created by the first file stored in it)."""
    kept = upload_settings(registry)
    registry["uploads.settings"] = dataclasses.replace(kept, folder=tmp_path / "uploads")
    yield tmp_path / "uploads"
    registry["uploads.settings"] = kept


def blobs(folder):
    return {path for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()


def upload(app, name, content, **values):
    form = app.get(DEMOGRAPHICS).forms["entry-form"]
    form["upload-scan"] = webtest.Upload(name, content)
    for field, value in values.items():
        form[field] = value
    return form.submit(status="*")


def files(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(UploadedFile).order_by(UploadedFile.id)).all()


def scan_value(dbsession):
    dbsession.expire_all()
    return dbsession.scalar(select(ItemValue.value).where(ItemValue.item_oid == "I.SCAN"))


def message(response):
    return " ".join(response.html.find(id="item-scan-message").text.split())


def test_a_file_is_stored_under_a_random_name_with_its_sha256_and_downloaded_audited(
    coordinator, dbsession, folder
):
    assert not folder.exists()  # created when first needed
    before = blobs(folder)
    assert upload(coordinator, "ecg report.pdf", PDF).status_int == 303
    [record] = files(dbsession)
    assert scan_value(dbsession) == str(record.id)
    assert (record.file_name, record.size, record.content_type) == (
        "ecg report.pdf",
        len(PDF),
        "application/pdf",
    )
    assert record.sha256 == hashlib.sha256(PDF).hexdigest()
    [stored] = blobs(folder) - before
    assert stored.read_bytes() == PDF and "ecg" not in stored.name and len(stored.name) == 64
    dbsession.expire_all()
    [received] = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "entry.file_received")
    ).all()
    assert (received.entity_id, received.field, received.new_value) == (
        str(record.id),
        "I.SCAN",
        record.sha256,
    )
    page = coordinator.get(DEMOGRAPHICS)
    assert page.html.find(id="item-scan")["accept"] == ".pdf,.png,.jpg,.jpeg,.txt,.csv"
    assert "at most 64 KB" in page.html.find(id="block-I.SCAN").text
    current = page.html.find(id="item-scan-current")
    assert "ecg report.pdf" in current.text and record.sha256 in current.text
    link = current.find("a")["href"]
    response = coordinator.get(link)
    assert response.body == PDF
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    dbsession.expire_all()
    [event] = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "entry.file_downloaded")
    ).all()
    assert (event.entity_type, event.entity_id, event.new_value) == (
        "uploaded_file",
        str(record.id),
        record.sha256,
    )


def test_images_are_shown_in_the_browser_and_other_kinds_only_downloaded(coordinator, dbsession):
    upload(coordinator, "trace.png", PNG)
    [image] = files(dbsession)
    shown = coordinator.get(f"{DEMOGRAPHICS}@@file?id={image.id}&view=1")
    assert shown.content_type == "image/png"
    assert shown.headers["Content-Disposition"].startswith("inline;")
    assert shown.headers["Content-Security-Policy"].startswith("sandbox")
    upload(coordinator, "notes.txt", b"QT interval 420 ms\n")
    text = files(dbsession)[-1]
    served = coordinator.get(f"{DEMOGRAPHICS}@@file?id={text.id}&view=1")
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert served.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("report.pdf", b"just some text pretending\n", "is not what its name says (.pdf)"),
        ("report.pdf", PNG, "is not what its name says (.pdf)"),
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00", "Files of this type are not taken"),
        ("archive.zip", b"PK\x03\x04" + bytes(20), "Files of this type are not taken"),
        ("big.pdf", b"%PDF-1.4\n" + b"0" * 65536, "larger than 64 KB"),
        ("empty.txt", b"", "This file is empty."),
    ],
)
def test_a_refused_file_is_told_next_to_the_field_and_nothing_is_kept(
    coordinator, dbsession, folder, name, content, expected
):
    before = blobs(folder)
    response = upload(coordinator, name, content)
    assert response.status_int == 422
    assert expected in message(response)
    assert response.html.find(id="item-scan")["aria-invalid"] == "true"
    assert files(dbsession) == [] and scan_value(dbsession) is None
    assert blobs(folder) == before


def test_a_save_refused_for_another_field_keeps_no_file(coordinator, dbsession, folder):
    before = blobs(folder)
    response = upload(coordinator, "ecg.pdf", PDF, height_cm="tall")
    assert response.status_int == 422
    assert "choose it again" in message(response)
    assert files(dbsession) == [] and blobs(folder) == before


def test_a_replaced_file_stays_in_the_history_and_can_still_be_downloaded(coordinator, dbsession):
    upload(coordinator, "first.pdf", PDF)
    second = PDF.replace(b"Catalog", b"Catalog /Lang (en)")
    assert upload(coordinator, "second.pdf", second).status_int == 303
    first, latest = files(dbsession)
    assert scan_value(dbsession) == str(latest.id)
    history = coordinator.get(DEMOGRAPHICS + "@@history?item=I.SCAN").html
    rows = history.select("tbody tr")
    assert len(rows) == 2
    oldest, newest = (" ".join(row.text.split()) for row in rows)
    assert "blank" in oldest and "first.pdf" in oldest and first.sha256 in oldest
    assert "first.pdf" in newest and "second.pdf" in newest  # before → after
    assert latest.sha256 in newest and "Test User" in newest  # who
    assert coordinator.get(f"{DEMOGRAPHICS}@@file?id={first.id}").body == PDF
    assert coordinator.get(f"{DEMOGRAPHICS}@@file?id={latest.id}").body == second


def test_a_file_is_removed_with_its_box_and_stays_in_the_history(coordinator, dbsession):
    upload(coordinator, "first.pdf", PDF)
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["remove-scan"] = True
    assert form.submit().status_int == 303
    assert scan_value(dbsession) is None
    history = coordinator.get(DEMOGRAPHICS + "@@history?item=I.SCAN").text
    assert "first.pdf" in history


def test_a_posted_value_cannot_point_the_item_at_another_file(coordinator, dbsession):
    upload(coordinator, "mine.pdf", PDF)
    [mine] = files(dbsession)
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["scan"] = str(mine.id + 1000)
    form["height_cm"] = "181"
    assert form.submit().status_int == 303
    assert scan_value(dbsession) == str(mine.id)


def test_files_are_reached_only_through_their_own_form_and_site(
    coordinator, app, dbsession, registry, world
):
    upload(coordinator, "ecg.pdf", PDF)
    [record] = files(dbsession)
    address = f"{DEMOGRAPHICS}@@file?id={record.id}"
    coordinator.get(f"{VITALS}@@file?id={record.id}", status=404)  # another form's path
    coordinator.get(f"{DEMOGRAPHICS}@@file?id=x", status=404)
    berlin = make_user(dbsession, registry, "berlin@example.org")
    grant_study_role(dbsession, berlin, world.study, StudyRole.COORDINATOR, [world.sites["ber01"]])
    dbsession.flush()
    for user in ("berlin@example.org", world.users["foreign"].email):
        other = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
        login(other, user)
        assert other.get(address, status="*").status_int in (403, 404)
    monitor = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(monitor, world.users["monitor"].email)
    assert monitor.get(address).body == PDF
    dbsession.expire_all()
    downloads = dbsession.scalar(
        select(func.count()).where(AuditEvent.action == "entry.file_downloaded")
    )
    assert downloads == 1


def test_exports_name_each_file_and_its_sha256_never_its_bytes(
    coordinator, dbsession, world, tmp_path
):
    upload(coordinator, "ecg.pdf", PDF)
    [record] = files(dbsession)
    target = tmp_path / "export.zip"
    export(dbsession, world.study, ExportOptions(format=ExportFormat.CSV), target, actor=SETUP)
    exported = read_zip(target)
    [row] = [row for row in exported["values.csv"] if row["item"] == "scan"]
    assert row["value"] == f"ecg.pdf sha256:{record.sha256}"
    assert exported["forms/demographics.csv"][0]["scan"] == f"ecg.pdf sha256:{record.sha256}"
    assert b"%PDF" not in target.read_bytes()


@pytest.mark.parametrize("kind", [kind for kind in ExportFormat if kind is not ExportFormat.CSV])
def test_every_export_format_takes_a_file_item(coordinator, dbsession, world, tmp_path, kind):
    upload(coordinator, "ecg.pdf", PDF)
    target = tmp_path / "export"
    result = export(dbsession, world.study, ExportOptions(format=kind), target, actor=SETUP)
    assert result.values > 0 and target.stat().st_size > 0


def test_a_file_of_personal_data_is_sealed_and_hidden_from_roles_without_access(
    coordinator, app, dbsession, world
):
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["upload-consent_scan"] = webtest.Upload("consent.pdf", PDF)
    assert form.submit().status_int == 303
    [record] = files(dbsession)
    row = dbsession.scalar(select(ItemValue).where(ItemValue.item_oid == "I.CONSENT_SCAN"))
    assert row.value is None and row.sealed_value is not None
    assert (
        "consent.pdf"
        in coordinator.get(DEMOGRAPHICS).html.find(id="item-consent_scan-current").text
    )
    history = coordinator.get(DEMOGRAPHICS + "@@history?item=I.CONSENT_SCAN").text
    assert "consent.pdf" in history and record.sha256 in history
    address = f"{DEMOGRAPHICS}@@file?id={record.id}"
    assert coordinator.get(address).body == PDF
    monitor = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(monitor, world.users["monitor"].email)
    masked = monitor.get(DEMOGRAPHICS).html.find(id="block-I.CONSENT_SCAN")
    assert "not shown to your role" in masked.text and "consent.pdf" not in masked.text
    monitor.get(address, status=404)


def test_a_file_sent_for_a_question_hidden_by_branching_is_not_kept(coordinator, dbsession, folder):
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["sex"] = "2"
    form["upload-xray"] = webtest.Upload("xray.png", PNG)
    assert form.submit().status_int == 303
    assert files(dbsession) == [] and blobs(folder) == set()
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["sex"] = "1"
    form["upload-xray"] = webtest.Upload("xray.png", PNG)
    assert form.submit().status_int == 303
    [record] = files(dbsession)
    assert (record.item_oid, record.file_name) == ("I.XRAY", "xray.png")
    assert len(blobs(folder)) == 1


def test_a_file_name_is_kept_as_given_and_sent_back_safely(coordinator, dbsession):
    upload(coordinator, 'C:\\scans\\écho "final";x.pdf', PDF)
    [record] = files(dbsession)
    assert record.file_name == 'écho "final";x.pdf'  # the folders of the sender's disk dropped
    response = coordinator.get(f"{DEMOGRAPHICS}@@file?id={record.id}")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="_cho _final_;x.pdf"; ')
    assert disposition.endswith("filename*=UTF-8''%C3%A9cho%20%22final%22%3Bx.pdf")
