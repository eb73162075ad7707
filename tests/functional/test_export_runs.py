"""How exports run: the same bytes for the same snapshot in every format, a failed export
retried to those bytes, the requester mailed, saved definitions run by a click or on their
schedule (once per slot), all audited."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pyreadstat
import pytest
from lxml import etree
from sqlalchemy import select

from datacapt.db import transaction_scope
from datacapt.exports import definitions, services
from datacapt.exports.options import ExportFormat, ExportOptions
from datacapt.exports.retry import STUCK_AFTER
from datacapt.models import AuditEvent, DataExport, ExportDefinition, ExportState, Site, Study
from datacapt.models.exports import Every
from tests.factories import SETUP, build_world, login
from tests.functional.test_exports import EXPORTS, SUBJECT, TERM, add_adverse_event, signed_in


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def entered(testapp, world):
    """Demographics and an adverse event of par01-0001, entered through the forms."""
    login(testapp, world.users["coordinator"].email)
    form = testapp.get(SUBJECT + "screening/demographics/").forms["entry-form"]
    for name, value in {"initials": "JM", "birth_date": "31/01/1980", "sex": "2"}.items():
        form[name] = value
    form["pregnant"], form["height_cm"], form["weight_kg"] = "0", "165", "61.5"
    form.submit()
    add_adverse_event(testapp, TERM, serious="1", severity="2")
    return testapp


SNAPSHOT = datetime(2026, 3, 9, 8, 30, 15, tzinfo=UTC)
LATER = datetime(2027, 11, 28, 23, 5, 59, tzinfo=UTC)
READERS = {
    ".xpt": pyreadstat.read_xport,
    ".sav": pyreadstat.read_sav,
    ".dta": pyreadstat.read_dta,
}


def exported(dbsession, world, tmp_path, kind: ExportFormat, stamp: datetime, name: str) -> Path:
    target = tmp_path / (name + services.SUFFIXES[kind])
    options = ExportOptions(format=kind, stamp=stamp)
    services.export(dbsession, world.study, options, target, actor=SETUP)
    return target


def header_times(path: Path, folder: Path) -> set[datetime]:
    """The creation times an independent reader finds in the file's headers (naive, as
    written: UTC)."""
    if path.suffix == ".xlsx":
        return {openpyxl.load_workbook(path, read_only=True).properties.created}
    if path.suffix == ".xml":  # ODM: the root's CreationDateTime
        created = etree.parse(str(path)).getroot().get("CreationDateTime")
        return {datetime.fromisoformat(created).astimezone(UTC).replace(tzinfo=None)}
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    found = set()
    for data in (folder / "forms").iterdir():
        if data.suffix in (".json", ".ndjson"):  # the metadata: the whole file, or line one
            text = data.read_text(encoding="utf-8")
            header = json.loads(text if data.suffix == ".json" else text.splitlines()[0])
            created = datetime.fromisoformat(header["datasetJSONCreationDateTime"])
            found.add(created.astimezone(UTC).replace(tzinfo=None))
            continue
        _frame, meta = READERS[data.suffix](str(data), metadataonly=True)
        found.add(meta.creation_time)
    return found


def cover_times(path: Path, folder: Path) -> set[str]:
    """The export times the casebooks' covers show (pdftotext), in the study's zone."""
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    found = set()
    for casebook in folder.rglob("*.pdf"):
        text = subprocess.run(
            ["pdftotext", "-l", "1", str(casebook), "-"], capture_output=True, check=True
        ).stdout.decode()
        found.update(re.findall(r"\d\d \w{3} \d{4} \d\d:\d\d \w+", text))
    return found


#: Formats whose files hold no time but the data's own.
TIMELESS = {ExportFormat.CSV, ExportFormat.CSV_WIDE, ExportFormat.R}


@pytest.mark.parametrize("kind", list(ExportFormat))
def test_two_runs_of_an_export_give_the_same_bytes(entered, dbsession, world, tmp_path, kind):
    first = exported(dbsession, world, tmp_path, kind, SNAPSHOT, "first")
    second = exported(dbsession, world, tmp_path, kind, SNAPSHOT, "second")
    assert first.read_bytes() == second.read_bytes()
    later = exported(dbsession, world, tmp_path, kind, LATER, "later")
    if kind in TIMELESS:
        assert later.read_bytes() == first.read_bytes()
        return
    assert later.read_bytes() != first.read_bytes()
    if kind is ExportFormat.PDF:  # the snapshot time is the cover's "Exported on"
        assert cover_times(first, tmp_path / "a") == {"09 Mar 2026 09:30 CET"}
        return
    minute = SNAPSHOT.replace(tzinfo=None)
    if kind is ExportFormat.STATA:  # .dta keeps the minute
        minute = minute.replace(second=0)
    assert header_times(first, tmp_path / "a") == {minute}
    assert header_times(later, tmp_path / "b") == {
        LATER.replace(tzinfo=None, second=0 if kind is ExportFormat.STATA else 59)
    }


def _fail_once(monkeypatch, kind: ExportFormat) -> None:
    """The writer dies after writing its file, as a killed job would, once."""
    real = services.WRITERS[kind]

    def dying(target, data):
        real(target, data)
        monkeypatch.setitem(services.WRITERS, kind, real)
        raise RuntimeError("the worker died")

    monkeypatch.setitem(services.WRITERS, kind, dying)


def test_a_failed_export_is_retried_from_the_page_to_the_same_bytes(
    entered, app, world, dbsession, registry, tmp_path, monkeypatch, mailbox
):
    manager = signed_in(app, world, "data_manager")
    _fail_once(monkeypatch, ExportFormat.SAS)
    form = manager.get(EXPORTS).forms["export-form"]
    form["format"] = "sas"
    page = form.submit().follow()
    row = dbsession.scalar(select(DataExport))
    assert row.state is not ExportState.DONE and row.snapshot_at is not None
    assert services.downloadable(registry, row) is None
    assert not list(services.export_path(registry, row).parent.glob(f".export-{row.id}.*"))
    assert "Retry" not in page.html.find(id=f"export-{row.id}").text  # it may still be running
    row.created_at = datetime.now(UTC) - STUCK_AFTER - timedelta(seconds=1)
    dbsession.flush()
    page = manager.get(EXPORTS)
    retry = page.forms[next(k for k, f in page.forms.items() if f.action.endswith("@@retry"))]
    retry.submit().follow()
    dbsession.refresh(row)
    assert row.state is ExportState.DONE
    reference = tmp_path / "reference.zip"
    options = replace(services.options_of(row.options), stamp=row.snapshot_at)
    again = services.export(dbsession, world.study, options, reference, actor=SETUP)
    path = services.export_path(registry, row)
    assert row.sha256 == again.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.read_bytes() == reference.read_bytes()
    retried = dbsession.scalar(select(AuditEvent).where(AuditEvent.action == "data.export_retried"))
    assert retried.actor_id == world.users["data_manager"].id
    manager.post(
        f"{EXPORTS}{row.id}/@@retry", {"csrf_token": retry["csrf_token"].value}, status=409
    )
    (mail,) = mailbox.messages()  # the failed attempt sent none: its transaction rolled back
    assert mail["To"] == world.users["data_manager"].email
    assert f"Export {row.id} of demo is ready" in mail["Subject"]


def test_the_requester_is_mailed_a_link_in_their_language_never_the_data(
    entered, app, world, dbsession, mailbox
):
    manager_user = world.users["data_manager"]
    manager_user.locale = "fr"
    dbsession.flush()
    manager = signed_in(app, world, "data_manager")
    form = manager.get(EXPORTS).forms["export-form"]
    form["format"] = "csv"
    form.submit()
    row = dbsession.scalar(select(DataExport))
    (mail,) = mailbox.messages()
    assert mail["To"] == manager_user.email
    assert mail["Subject"] == f"L'export {row.id} de demo est prêt"
    body = mail.get_content()
    assert "http://localhost/acme/demo/exports/" in body
    assert "61.5" not in body and "JM" not in body and "@@download" not in body


def test_an_export_refused_by_its_job_fails_and_its_requester_is_told(
    world, dbsession, registry, mailbox
):
    requester = world.users["data_manager"]
    with transaction_scope(registry) as session:
        study = session.get(Study, world.study.id)
        row = services.request_export(
            session,
            study,
            ExportOptions(format=ExportFormat.CSV, sites=("ber01",)),
            requester.id,
            application_url="https://edc.example",
        )
        export_id = row.id
        session.get(Site, world.sites["ber01"].id).code = "ber09"  # renamed before the job ran
    failed = dbsession.get(DataExport, export_id)
    assert failed.state is ExportState.FAILED
    assert failed.error == "no site ber01 in study demo"
    (mail,) = mailbox.messages()
    assert mail["To"] == requester.email
    assert mail["Subject"] == f"Export {export_id} of demo failed"
    assert "https://edc.example/acme/demo/exports/" in mail.get_content()
    assert "ber01" not in mail.get_content()


# --- saved definitions ----------------------------------------------------------------------


def _save(manager, **fields):
    """The export form sent with its second button, whose ``formaction`` saves the options."""
    form = manager.get(EXPORTS).forms["export-form"]
    form["format"] = "xlsx"
    for name, value in fields.items():
        if isinstance(value, list):  # a group of checkboxes
            for box in form.fields[name]:
                box.checked = box._value in value
        else:
            form[name] = value
    form.action = EXPORTS + "@@save-definition"
    return form.submit(status="*")


def test_a_data_manager_saves_runs_edits_and_deletes_a_definition(entered, app, world, dbsession):
    manager = signed_in(app, world, "data_manager")
    saved = _save(
        manager,
        name="Locked forms, every Monday 07:00",
        every="week",
        weekday="0",
        hour="7",
        timezone="Europe/Paris",
        lock=["locked"],
    )
    assert saved.status_int == 303
    definition = dbsession.scalar(select(ExportDefinition))
    assert definition.owner_id == world.users["data_manager"].id
    assert definition.options["lock_states"] == ["locked"]
    local = definition.next_run_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.weekday(), local.hour, local.minute) == (0, 7, 0)
    assert timedelta(0) < definition.next_run_at - datetime.now(UTC) <= timedelta(days=7)

    page = manager.get(EXPORTS)
    listed = page.html.find(id=f"definition-{definition.id}")
    assert "Locked forms, every Monday 07:00" in listed.text and "Monday" in listed.text
    run = page.forms[next(k for k, f in page.forms.items() if "run-definition" in f.action)]
    run.submit().follow()
    export = dbsession.scalar(select(DataExport))
    assert export.definition_id == definition.id and export.state is ExportState.DONE
    assert export.options == definition.options

    edit = manager.get(f"{EXPORTS}@@definition?id={definition.id}").forms["export-form"]
    assert edit["name"].value == definition.name and edit["timezone"].value == "Europe/Paris"
    edit["name"], edit["every"], edit["hour"] = "Every day at noon", "day", "12"
    edit.submit().follow()
    dbsession.refresh(definition)
    assert (definition.name, definition.every, definition.hour) == (
        "Every day at noon",
        Every.DAY,
        12,
    )
    assert definition.options["lock_states"] == ["locked"]  # kept as it was ticked

    page = manager.get(EXPORTS)
    delete = page.forms[next(k for k, f in page.forms.items() if "delete-definition" in f.action)]
    delete.submit().follow()
    assert dbsession.scalar(select(ExportDefinition)) is None
    dbsession.refresh(export)
    assert export.definition_id is None  # the export it ran stays
    actions = dbsession.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.entity_type == "export_definition")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "export_definition.saved",
        "export_definition.run",
        "export_definition.changed",
        "export_definition.deleted",
    ]


def test_a_definition_form_says_what_is_wrong_next_to_the_field(world, app, dbsession):
    manager = signed_in(app, world, "data_manager")
    assert _save(manager, name="Weekly").status_int == 303
    taken = _save(manager, name="  Weekly ", every="week", weekday="0", hour="7")
    assert taken.status_int == 422
    assert "already has this name" in taken.html.find(id="field-name-error").text
    assert _save(manager, name="").status_int == 422
    token = manager.get(EXPORTS).forms["export-form"]["csrf_token"].value
    refused = manager.post(
        EXPORTS + "@@save-definition",
        {
            "csrf_token": token,
            "format": "csv",
            "name": "x",
            "every": "week",
            "hour": "24",
            "weekday": "9",
            "timezone": "Mars/Olympus",
        },
        status=422,
    )
    for field in ("hour", "weekday", "timezone"):
        assert refused.html.find(id=f"field-{field}-error") is not None, field
    assert dbsession.scalar(select(ExportDefinition.name)) == "Weekly"


@pytest.mark.parametrize(
    ("role", "status"), [("coordinator", 404), ("monitor", 403), ("foreign", 404)]
)
def test_only_the_study_data_managers_reach_its_definitions(world, app, dbsession, role, status):
    """A monitor sees the Exports page read-only (403 here); to others it does not exist."""
    manager = signed_in(app, world, "data_manager")
    _save(manager, name="Mine")
    definition = dbsession.scalar(select(ExportDefinition))
    other = signed_in(app, world, role)
    other.get(f"{EXPORTS}@@definition?id={definition.id}", status=status)
    manager.get(f"{EXPORTS}@@definition?id={definition.id + 1000}", status=404)
    manager.get(f"{EXPORTS}@@definition?id=abc", status=404)


def test_a_scheduled_definition_runs_once_per_slot_as_its_owner(
    entered, world, dbsession, registry, mailbox
):
    owner = world.users["data_manager"]
    now = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)  # a Monday, 07:30 in Paris
    with transaction_scope(registry) as session:
        study = session.get(Study, world.study.id)
        definition = definitions.save_definition(
            session,
            study,
            SETUP,
            owner_id=owner.id,
            name="Mondays",
            options=ExportOptions(format=ExportFormat.CSV),
            schedule=definitions.Schedule(Every.WEEK, 7, 0, "Europe/Paris"),
            application_url="https://edc.example",
            now=now - timedelta(days=1),
        )
        slot = definition.next_run_at
        definition_id = definition.id
    assert slot == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # 07:00 in Paris, this Monday
    with transaction_scope(registry) as session:
        started = [row.id for row in definitions.run_due(session, now)]
    with transaction_scope(registry) as session:
        assert definitions.run_due(session, now) == []  # the slot was taken
    (export_id,) = started
    export = dbsession.get(DataExport, export_id)
    assert export.requested_by_id == owner.id and export.definition_id == definition_id
    assert export.state is ExportState.DONE
    started_by = dbsession.execute(
        select(AuditEvent.actor_id, AuditEvent.on_behalf_of_id).where(
            AuditEvent.action == "export_definition.run"
        )
    ).one()
    assert tuple(started_by) == (None, owner.id)  # the system, for the owner
    dbsession.expire_all()
    assert dbsession.get(ExportDefinition, definition_id).next_run_at == slot + timedelta(days=7)
    (mail,) = mailbox.messages()
    assert (
        mail["To"] == owner.email and "https://edc.example/acme/demo/exports/" in mail.get_content()
    )


def test_a_definition_does_not_outlive_its_owner_s_permission(world, dbsession, registry):
    owner = world.users["monitor"]  # monitors may not export
    now = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
    definition = ExportDefinition(
        tenant_id=world.study.tenant_id,
        study_id=world.study.id,
        owner_id=owner.id,
        name="Not mine to run",
        options=ExportOptions(format=ExportFormat.CSV).describe(),
        every=Every.DAY,
        hour=7,
        timezone="UTC",
        next_run_at=now - timedelta(minutes=1),
        application_url="https://edc.example",
    )
    dbsession.add(definition)
    dbsession.flush()
    assert not definitions.may_export(dbsession, owner, world.study)
    assert definitions.may_export(dbsession, world.users["data_manager"], world.study)
    with transaction_scope(registry) as session:
        assert definitions.run_due(session, now) == []
    dbsession.expire_all()
    assert dbsession.scalar(select(DataExport)) is None
    assert dbsession.get(ExportDefinition, definition.id).next_run_at == datetime(
        2026, 12, 7, 7, 0, tzinfo=UTC
    )  # the slot passed without an export
