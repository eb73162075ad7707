"""The options every export format shares, and who may see exports: the data as of a moment
(rebuilt from the audit trail), dates shifted per subject, personal-data items for those who may
see them (never a sponsor viewer), and the Exports page read-only for monitors and sponsors."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import create_engine, func, select

from datacapt.accounts.services import grant_study_role
from datacapt.config import get_app_settings
from datacapt.ecrf.definition import Item, ItemType, Validation
from datacapt.exports import shifting
from datacapt.exports.options import Coded, ExportFormat, ExportOptions
from datacapt.exports.services import options_of
from datacapt.exports.source import Column
from datacapt.models import AuditEvent, DataExport, ExportState, FormInstance, Study
from datacapt.models.entry import FormStatus, LockState
from datacapt.permissions import StudyRole
from tests.factories import build_world, csrf_token, login, make_user
from tests.functional.test_exports import (
    EXPORTS,
    SUBJECT,
    TERM,
    add_adverse_event,
    read_zip,
    run,
    signed_in,
)

FIRST_AE = SUBJECT + "unscheduled-1/adverse_events-1/"
#: What a value row says, but for the time of its last change.
SAID = ("form", "form_repeat", "visit_repeat", "item", "value", "missing_code", "form_status")


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def entered(testapp, world):
    """Demographics (with the personal-data initials) and an adverse event of par01-0001, as
    ``test_exports`` enters them."""
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


def last_event_time(dbsession) -> datetime:
    return dbsession.scalar(select(func.max(AuditEvent.occurred_at)))


def said(rows):
    return sorted(tuple(row[key] for key in (*SAID, "lock_state", "updated_by")) for row in rows)


def change_demographics(testapp) -> None:
    """Weight changed, height replaced by a missing-data code, the form completed."""
    form = testapp.get(SUBJECT + "screening/demographics/").forms["entry-form"]
    form["weight_kg"], form["height_cm"], form["missing-height_cm"] = "70.5", "", "NK"
    form["complete"].checked = True
    assert form.submit().status_int in (200, 303)


def remove_first_adverse_event(testapp) -> None:
    page = testapp.get(FIRST_AE)
    form = page.forms["remove-form"]
    form["remove-reason"] = "Entered on the wrong subject"
    form.submit()


def test_as_of_gives_the_data_as_the_audit_trail_says_they_were(
    entered, app, dbsession, world, tmp_path
):
    first, _ = run(dbsession, world, tmp_path, "first.zip", format=ExportFormat.CSV)
    then = last_event_time(dbsession)
    change_demographics(entered)
    remove_first_adverse_event(entered)
    add_adverse_event(entered, "Nausea", serious="0")  # created after the moment asked
    manager = signed_in(app, world, "data_manager")
    manager.post(
        SUBJECT + "screening/demographics/@@data-state",
        {"csrf_token": csrf_token(manager), "action": "lock", "state-reason": "Cleaned"},
    )
    demographics = dbsession.execute(
        select(FormInstance.status, FormInstance.lock_state).where(
            FormInstance.form == "demographics"
        )
    ).one()
    assert tuple(demographics) == (FormStatus.COMPLETE, LockState.LOCKED)

    now, _ = run(dbsession, world, tmp_path, "now.zip", format=ExportFormat.CSV)
    current = read_zip(now)["values.csv"]
    assert {r["value"] for r in current if r["item"] == "ae_term"} == {"Nausea"}
    assert next(r for r in current if r["item"] == "height_cm")["missing_code"] == "NK"

    past, result = run(dbsession, world, tmp_path, "past.zip", format=ExportFormat.CSV, as_of=then)
    written, rebuilt = read_zip(first), read_zip(past)
    assert said(rebuilt["values.csv"]) == said(written["values.csv"])
    assert result.values == len(written["values.csv"])
    for old, new in zip(
        sorted(written["values.csv"], key=lambda r: r["item"]),
        sorted(rebuilt["values.csv"], key=lambda r: r["item"]),
        strict=True,
    ):  # the row's own time (app clock) or its event's (database clock): the same moment
        gap = datetime.fromisoformat(new["updated_at"]) - datetime.fromisoformat(old["updated_at"])
        assert abs(gap) <= timedelta(seconds=2)
    assert rebuilt["forms/demographics.csv"][0]["weight_kg"] == "61.5"
    assert rebuilt["forms/demographics.csv"][0]["form_status"] == "in_progress"
    assert [r["ae_term"] for r in rebuilt["forms/adverse_events.csv"]] == ["'" + TERM]

    filtered, _ = run(
        dbsession,
        world,
        tmp_path,
        "complete-then.zip",
        format=ExportFormat.CSV,
        as_of=then,
        statuses=(FormStatus.COMPLETE,),
    )
    assert read_zip(filtered)["values.csv"] == []  # nothing was complete then
    for moment, expected in ((then, set()), (None, {"demographics"})):
        locked, _ = run(
            dbsession,
            world,
            tmp_path,
            "locked.zip",
            format=ExportFormat.CSV,
            as_of=moment,
            lock_states=(LockState.LOCKED,),
        )
        assert {row["form"] for row in read_zip(locked)["values.csv"]} == expected

    later = datetime.now(UTC) + timedelta(days=30)
    future, _ = run(dbsession, world, tmp_path, "future.zip", format=ExportFormat.CSV, as_of=later)
    assert future.read_bytes() == now.read_bytes()
    long_ago = then - timedelta(days=365)
    empty, result = run(
        dbsession, world, tmp_path, "ago.zip", format=ExportFormat.CSV, as_of=long_ago
    )
    assert result.values == 0 and read_zip(empty)["values.csv"] == []
    audited = dbsession.scalars(
        select(AuditEvent.new_value).where(AuditEvent.action == "data.exported")
    ).all()
    assert any(then.isoformat() in text for text in audited)


def test_dates_shift_by_one_offset_per_subject(entered, dbsession, world, tmp_path, registry):
    plain, _ = run(dbsession, world, tmp_path, "plain.zip", format=ExportFormat.CSV)
    moved, _ = run(
        dbsession, world, tmp_path, "moved.zip", format=ExportFormat.CSV, shift_dates=True
    )
    again, _ = run(
        dbsession, world, tmp_path, "again.zip", format=ExportFormat.CSV, shift_dates=True
    )
    assert moved.read_bytes() == again.read_bytes()  # the same subject shifts the same way
    real = {r["item"]: r for r in read_zip(plain)["values.csv"]}
    files = read_zip(moved)
    shifted = {r["item"]: r for r in files["values.csv"]}
    offsets = {
        date.fromisoformat(shifted[item]["value"]) - date.fromisoformat(real[item]["value"])
        for item in ("birth_date", "ae_start")
    }
    (offset,) = offsets  # one offset for every date of the subject: intervals hold
    assert offset != timedelta(0) and abs(offset.days) <= shifting.MAX_DAYS
    for item in real:
        change = datetime.fromisoformat(shifted[item]["updated_at"]) - datetime.fromisoformat(
            real[item]["updated_at"]
        )
        assert change == offset
    assert shifted["weight_kg"]["value"] == real["weight_kg"]["value"]
    codebook = {row["item"]: row for row in files["codebook.csv"]}
    assert codebook["birth_date"]["dates_shifted"] == "yes"
    assert codebook["weight_kg"]["dates_shifted"] == "no"
    assert str(abs(offset.days)) not in {row["dates_shifted"] for row in codebook.values()}
    subjects = {shifting.offset(registry, world.study.id, subject) for subject in range(1, 200)}
    assert len(subjects) > 100 and 0 not in subjects
    assert max(abs(days) for days in subjects) <= shifting.MAX_DAYS
    workbook, _ = run(
        dbsession, world, tmp_path, "moved.xlsx", format=ExportFormat.XLSX, shift_dates=True
    )
    header, *rows = openpyxl.load_workbook(workbook, read_only=True)["demographics"].iter_rows(
        values_only=True
    )
    cell = dict(zip(header, rows[0], strict=True))["birth_date"]
    assert cell.date() == date(1980, 1, 31) + offset


def test_offsets_come_from_the_secret(registry, world):
    settings = get_app_settings(registry)
    mine = [shifting.offset(registry, world.study.id, subject) for subject in range(1, 30)]
    other_study = [
        shifting.offset(registry, world.study.id + 1, subject) for subject in range(1, 30)
    ]
    assert mine != other_study
    original = settings.secret
    try:
        object.__setattr__(settings, "secret", original + "-another")
        assert [shifting.offset(registry, world.study.id, s) for s in range(1, 30)] != mine
    finally:
        object.__setattr__(settings, "secret", original)


@pytest.mark.parametrize(
    ("validation", "text", "days", "expected"),
    [
        (Validation.DATETIME, "2026-03-01T23:30:00", 1, "2026-03-02T23:30:00"),
        (Validation.PARTIAL_DATE, "2026-03-31", -31, "2026-02-28"),
        (Validation.PARTIAL_DATE, "2026-03", 20, "2026-04"),  # the middle of the month moves
        (Validation.PARTIAL_DATE, "2026-03", -14, "2026-03"),
        (Validation.PARTIAL_DATE, "2026", shifting.MAX_DAYS, "2026"),  # a year stays a year
        (Validation.PARTIAL_DATE, "2026", -shifting.MAX_DAYS, "2026"),
        (Validation.DATE, "not a date", 5, "not a date"),
    ],
)
def test_every_kind_of_date_shifts_at_its_own_precision(validation, text, days, expected):
    item = Item(oid="I.X", name="x", type=ItemType.TEXT, label={"en": "X"}, validation=validation)
    column = Column("f", item, "en")
    assert column.dated
    assert shifting.shifted_text(column, text, timedelta(days=days)) == expected


def test_personal_data_items_when_asked_for(entered, dbsession, world, tmp_path):
    target, _ = run(
        dbsession,
        world,
        tmp_path,
        "pii.zip",
        format=ExportFormat.CSV,
        personal=True,
        coded=Coded.BOTH,
    )
    files = read_zip(target)
    values = {r["item"]: r["value"] for r in files["values.csv"]}
    assert values["initials"] == "JM"
    assert files["forms/demographics.csv"][0]["initials"] == "JM"
    codebook = {row["item"]: row for row in files["codebook.csv"]}
    assert codebook["initials"]["personal_data"] == "yes"
    assert codebook["weight_kg"]["personal_data"] == "no"
    past, _ = run(
        dbsession,
        world,
        tmp_path,
        "pii-then.zip",
        format=ExportFormat.CSV,
        personal=True,
        coded=Coded.BOTH,
        as_of=datetime.now(UTC) + timedelta(hours=1),
    )  # opened from the audit trail's sealed copy
    assert past.read_bytes() == target.read_bytes()
    event = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "data.exported").order_by(AuditEvent.id)
    ).first()
    assert '"personal": true' in event.new_value and "JM" not in event.new_value


def test_old_export_rows_stay_readable():
    old = {"format": "csv", "sites": [], "forms": [], "visits": [], "statuses": []}
    assert options_of(old) == ExportOptions(format=ExportFormat.CSV)
    moment = datetime(2026, 11, 30, 17, tzinfo=UTC)
    chosen = ExportOptions(ExportFormat.XLSX, as_of=moment, shift_dates=True, personal=True)
    assert options_of(chosen.describe()) == chosen


# --- the page -----------------------------------------------------------------------------


def start(app_user, status=204, **fields):
    token = app_user.get(EXPORTS).forms["export-form"]["csrf_token"].value
    return app_user.post(
        EXPORTS + "@@start",
        {"csrf_token": token, **fields},
        headers={"HX-Request": "true"},
        status=status,
    )


def test_every_option_on_the_page(entered, app, world, dbsession, registry):
    manager = signed_in(app, world, "data_manager")
    form = manager.get(EXPORTS).forms["export-form"]
    assert {"as_of", "shift_dates", "visit", "format", "coded"} <= set(form.fields)
    assert "personal" not in form.fields  # a data manager sees no personal data
    refused = start(manager, 422, format="csv", as_of="yesterday", visit="week_99", personal="1")
    assert "Enter a date and time" in refused.html.find(id="field-as_of-error").text
    assert "Choose among the options offered." in refused.html.find(id="field-visit").text
    assert "does not give access to personal data" in refused.html.find(id="field-personal").text
    start(manager, format="csv", as_of="2026-11-30T18:00", shift_dates="1", visit="screening")
    row = dbsession.scalars(select(DataExport).order_by(DataExport.id.desc())).first()
    zone = ZoneInfo(get_app_settings(registry).default_timezone)
    expected = datetime(2026, 11, 30, 18, tzinfo=zone)
    assert options_of(row.options).as_of == expected
    assert row.options["shift_dates"] is True and row.options["visits"] == ["screening"]
    assert row.options["personal"] is False and row.state is ExportState.DONE
    page = manager.get(EXPORTS)
    assert "Dates shifted" in page.text and "As of 30 Nov 2026 18:00" in page.html.text


def both_roles(dbsession, world, role: str) -> None:
    """The holder of ``role`` also a data manager and an investigator of every site."""
    user = world.users[role]
    for extra in (StudyRole.DATA_MANAGER, StudyRole.INVESTIGATOR):
        grant_study_role(dbsession, user, world.study, extra, None)
    dbsession.flush()


def test_personal_data_only_for_who_may_see_it_and_never_a_sponsor(entered, app, world, dbsession):
    both_roles(dbsession, world, "monitor")
    allowed = signed_in(app, world, "monitor")
    assert "personal" in allowed.get(EXPORTS).forms["export-form"].fields
    start(allowed, format="csv", personal="1")
    personal = dbsession.scalars(select(DataExport).order_by(DataExport.id.desc())).first()
    assert personal.options["personal"] is True and personal.state is ExportState.DONE
    start(allowed, format="csv")
    plain = dbsession.scalars(select(DataExport).order_by(DataExport.id.desc())).first()
    download = allowed.get(f"{EXPORTS}{personal.id}/@@download")
    with zipfile.ZipFile(io.BytesIO(download.body)) as archive:
        rows = list(csv.DictReader(io.TextIOWrapper(archive.open("values.csv"), "utf-8")))
    assert {"initials": "JM"}.items() <= {r["item"]: r["value"] for r in rows}.items()
    downloaded = dbsession.scalars(
        select(AuditEvent.new_value)
        .where(AuditEvent.action == "data.downloaded")
        .order_by(AuditEvent.id)
    ).all()
    assert '"personal": true' in downloaded[-1] and "JM" not in downloaded[-1]

    both_roles(dbsession, world, "sponsor_viewer")  # whatever else a sponsor viewer holds
    sponsor = signed_in(app, world, "sponsor_viewer")
    assert "personal" not in sponsor.get(EXPORTS).forms["export-form"].fields
    refused = start(sponsor, 422, format="csv", personal="1")
    assert "does not give access to personal data" in refused.html.find(id="field-personal").text
    sponsor.get(f"{EXPORTS}{personal.id}/@@download", status=404)
    sponsor.get(f"{EXPORTS}{plain.id}/@@download", status=200)
    row = sponsor.get(f"{EXPORTS}{personal.id}/@@row", headers={"HX-Request": "true"})
    assert "Personal data" in row.text and "Download" not in row.text
    data_manager = signed_in(app, world, "data_manager")  # no personal data for this role
    data_manager.get(f"{EXPORTS}{personal.id}/@@download", status=404)


@pytest.mark.parametrize("role", ["monitor", "sponsor_viewer"])
def test_monitors_and_sponsors_see_the_exports_read_only(world, app, dbsession, role):
    manager = signed_in(app, world, "data_manager")
    start(manager, format="csv")
    export = dbsession.scalar(select(DataExport))
    reader = signed_in(app, world, role)
    assert 'href="/acme/demo/exports/"' in reader.get("/acme/demo/").text
    page = reader.get(EXPORTS)
    assert "export-form" not in page.forms and "Start the export" not in page.text
    (row,) = page.html.select("#export-list tbody tr")
    download = reader.get(row.find("a", string="Download")["href"])
    assert hashlib.sha256(download.body).hexdigest() == export.sha256
    reader.post(
        EXPORTS + "@@start", {"csrf_token": csrf_token(reader), "format": "csv"}, status=403
    )


def test_another_tenants_download_is_not_found(world, app, dbsession, registry):
    manager = signed_in(app, world, "data_manager")
    start(manager, format="csv")
    export = dbsession.scalar(select(DataExport))
    other_study = dbsession.scalar(select(Study).where(Study.tenant_id == world.foreign_tenant.id))
    stranger = make_user(dbsession, registry, "globex-dm@example.org")
    grant_study_role(dbsession, stranger, other_study, StudyRole.DATA_MANAGER, None)
    dbsession.flush()
    world.users["globex_dm"] = stranger
    foreign = signed_in(app, world, "globex_dm")
    foreign.get("/globex/other/exports/", status=200)
    foreign.get(f"/globex/other/exports/{export.id}/@@download", status=404)
    foreign.get(f"{EXPORTS}{export.id}/@@download", status=404)


def test_the_command_line_takes_every_option(datacapt, cli_database, tmp_path, registry):
    def export_to(name: str, *options: str) -> tuple[int, str, str]:
        target = str(tmp_path / name)
        return datacapt("export", "acme", "demo", "--format", "csv", "-o", target, *options)

    assert datacapt("demo")[0] == 0
    assert export_to("plain.zip")[0] == 0
    assert export_to("future.zip", "--as-of", "2999-01-01T00:00+01:00")[0] == 0
    assert (tmp_path / "future.zip").read_bytes() == (tmp_path / "plain.zip").read_bytes()
    assert export_to("past.zip", "--as-of", "2000-01-01T00:00")[0] == 0
    assert read_zip(tmp_path / "past.zip")["values.csv"] == []
    refused = export_to("x.zip", "--as-of", "soon")
    assert refused[0] == 2 and "--as-of 'soon': give a date and time" in refused[2]
    assert export_to("shifted.zip", "--shift-dates", "--personal")[0] == 0
    codebook = read_zip(tmp_path / "shifted.zip")["codebook.csv"]
    assert {row["dates_shifted"] for row in codebook} == {"yes", "no"}
    assert any(row["personal_data"] == "yes" for row in codebook)
    engine = create_engine(cli_database)
    with engine.connect() as connection:
        audited = connection.scalars(
            select(AuditEvent.new_value)
            .where(AuditEvent.action == "data.exported")
            .order_by(AuditEvent.id)
        ).all()
    engine.dispose()
    assert '"as_of": "2998-12-31T23:00:00+00:00"' in audited[1]
    zone = ZoneInfo(get_app_settings(registry).default_timezone)
    local = datetime(2000, 1, 1, tzinfo=zone).astimezone(UTC).isoformat()
    assert f'"as_of": "{local}"' in audited[2]
    assert '"personal": true' in audited[3] and '"shift_dates": true' in audited[3]
