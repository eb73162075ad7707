"""The audit trail viewer: what an auditor and a tenant administrator see, filter and export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import webtest
from sqlalchemy import select

from datacapt import audit
from datacapt.accounts.services import grant_study_role
from datacapt.actor import Actor
from datacapt.audit_trail.forms import parse_filters
from datacapt.audit_trail.services import MASKED, spreadsheet_safe
from datacapt.models import AuditEvent, Study
from datacapt.permissions import StudyRole
from datacapt.studies.services import create_study
from tests.factories import build_world, login, make_user

TRAIL = "/acme/demo/@@audit"
EXPORT = "/acme/demo/@@audit-export"
TENANT_TRAIL = "/acme/@@audit"
HTMX = {"HX-Request": "true"}
PARIS = ZoneInfo("Europe/Paris")

SYSTEM = Actor.system("tests")


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    world.users["study_admin"].name = "Sasha Designer"
    world.users["coordinator"].name = "Camille Coordinator"
    dbsession.flush()
    return world


def sign_in(app, world, role) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, world.users[role].email).status_int == 303
    return client


@pytest.fixture
def auditor(app, world):
    return sign_in(app, world, "auditor")


def subject_event(
    dbsession, world, value="120", reason="typo", label="par01-0001", actor_id=None, **extra
):
    subject = world.subjects[label]
    return audit.record(
        dbsession,
        Actor(actor_id or world.users["coordinator"].id),
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        site_id=subject.site_id,
        subject_id=subject.id,
        action="entry.value_changed",
        entity_type="form_instance",
        entity_id=subject.id,
        field="SBP",
        old="110",
        new=value,
        reason=reason,
        **extra,
    )


def rows(page):
    return [
        [cell.get_text(" ", strip=True) for cell in row.find_all("td")]
        for row in page.html.select("#audit-results tbody tr")
    ]


def seqs(page):
    return [int(row[0]) for row in rows(page)]


def change_settings(app, world, pattern="P-{site}-{seq:03}", codes="NK, Not known"):
    admin = sign_in(app, world, "study_admin")
    form = admin.get("/acme/demo/@@settings").forms["settings-form"]
    form["subject_id_pattern"] = pattern
    form["missing_codes"] = codes
    return form.submit()


# --- events of tenants, studies and sites ---------------------------------------------------


def test_creating_a_tenant_study_and_site_is_audited(dbsession, world):
    created = dbsession.execute(
        select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.new_value, AuditEvent.actor_id)
        .where(AuditEvent.tenant_id == world.tenant.id, AuditEvent.action.like("%.created"))
        .order_by(AuditEvent.id)
    ).all()
    assert [(action, entity) for action, entity, _new, _actor in created] == [
        ("tenant.created", str(world.tenant.id)),
        ("study.created", str(world.study.id)),
        ("site.created", str(world.sites["par01"].id)),
        ("site.created", str(world.sites["ber01"].id)),
    ]
    assert json.loads(created[1][2]) == {  # what the study is set up with, defaults included
        "code": "demo",
        "title": "Demo study",
        "languages": ["en"],
        "timezone": "UTC",
        "subject_id_pattern": "{site}-{seq:04}",
    }
    assert {actor for *_rest, actor in created} == {None}  # created by a command: the system
    assert all(r.intact for r in audit.verify_all(dbsession, world.tenant.id))


def test_study_settings_changes_are_audited_field_by_field(app, dbsession, world):
    change_settings(app, world, pattern="P-{site}-{seq:03}", codes="NK, Not known")
    changes = dbsession.execute(
        select(AuditEvent.field, AuditEvent.old_value, AuditEvent.new_value, AuditEvent.actor_id)
        .where(AuditEvent.action == "study.settings_changed")
        .order_by(AuditEvent.id)
    ).all()
    old_pattern = changes[0][1]
    assert [(field, new) for field, _old, new, _actor in changes] == [
        ("subject_id_pattern", "P-{site}-{seq:03}"),
        ("missing_codes", '[["NK", "Not known"]]'),
    ]
    assert old_pattern != "P-{site}-{seq:03}"
    assert {actor for *_rest, actor in changes} == {world.users["study_admin"].id}
    # saving again with one field changed records that field only
    change_settings(app, world, pattern="P-{site}-{seq:03}", codes="UNK, Unknown")
    again = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "study.settings_changed")
    ).all()
    assert len(again) == 3
    assert (again[-1].field, again[-1].old_value) == ("missing_codes", '[["NK", "Not known"]]')


# --- the study page ---------------------------------------------------------------------------


def test_an_auditor_sees_who_did_what_when_and_why(app, auditor, dbsession, world):
    change_settings(app, world)
    subject_event(dbsession, world, value="<b>140</b>", reason="transcription error")
    page = auditor.get(TRAIL)
    assert page.html.find("h1").get_text() == "Audit trail"
    newest = rows(page)[0]
    assert newest[2:] == [
        "Camille Coordinator",
        "entry.value_changed",
        f"form_instance {world.subjects['par01-0001'].id}",
        "SBP",
        "110",
        "<b>140</b>",  # shown as text, never as markup
        "transcription error",
    ]
    assert "<b>140</b>" not in page.text
    settings = [row for row in rows(page) if row[3] == "study.settings_changed"]
    assert {row[2] for row in settings} == {"Sasha Designer"}
    study_created = next(row for row in rows(page) if row[3] == "study.created")
    assert study_created[2] == "system"
    # the time is shown in the reader's zone (the testing default is Europe/Paris)
    event = dbsession.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    stamp = page.html.select_one("#audit-results tbody tr time")
    assert stamp["datetime"] == event.occurred_at.isoformat()
    assert str(event.occurred_at.astimezone(PARIS).year) in stamp.get_text()


def test_the_study_page_links_to_the_trail_for_its_holders_only(app, world):
    assert "@@audit" in sign_in(app, world, "auditor").get("/acme/demo/").text
    assert "@@audit" not in sign_in(app, world, "monitor").get("/acme/demo/").text
    assert "@@audit" in sign_in(app, world, "tenant_admin").get("/acme/").text
    assert "@@audit" not in sign_in(app, world, "study_admin").get("/acme/").text


def test_filters_narrow_the_events(auditor, dbsession, world):
    subject_event(dbsession, world)
    subject_event(dbsession, world, label="ber01-0001", actor_id=world.users["monitor"].id)
    page = auditor.get(TRAIL, {"action": "site."})
    assert {row[3] for row in rows(page)} == {"site.created"} and len(rows(page)) == 2
    page = auditor.get(TRAIL, {"actor": world.users["monitor"].id})
    assert [row[3] for row in rows(page)] == ["entry.value_changed"]
    page = auditor.get(TRAIL, {"entity": "form_instance", "subject": "par01-0001"})
    assert [row[2] for row in rows(page)] == ["Camille Coordinator"]
    today = datetime.now(UTC).astimezone(PARIS).date()
    assert rows(auditor.get(TRAIL, {"since": today.isoformat(), "until": today.isoformat()}))
    tomorrow = (today + timedelta(days=1)).isoformat()
    yesterday = (today - timedelta(days=1)).isoformat()
    assert rows(auditor.get(TRAIL, {"since": tomorrow})) == []
    assert rows(auditor.get(TRAIL, {"until": yesterday})) == []


def test_dates_are_typed_in_the_readers_zone_and_searched_in_utc():
    filters, errors = parse_filters(
        {"since": "2026-03-10", "until": "2026-07-01"}, ZoneInfo("Europe/Paris")
    )
    assert errors == {}
    assert filters.since == datetime(2026, 3, 9, 23, 0, tzinfo=UTC)  # winter: UTC+1
    assert filters.until == datetime(2026, 7, 1, 22, 0, tzinfo=UTC)  # the next day, summer: UTC+2


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"since": "2026-13-45"}, "since", "Enter a date (YYYY-MM-DD)"),
        ({"until": "0001-01-01"}, "until", "between 1900 and 2999"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "until", "must not be before"),
        ({"actor": "someone"}, "actor", "Choose a person from the list."),
        ({"action": "DROP TABLE"}, "action", "Use lower-case letters"),
        ({"entity": "x" * 41}, "entity", "Use lower-case letters"),
        ({"subject": "par01-9999"}, "subject", "No subject with this ID in this study."),
    ],
)
def test_bad_filters_get_a_message_next_to_the_field(auditor, params, field, message):
    for url in (TRAIL, EXPORT):
        page = auditor.get(url, params, status=422)
        error = page.html.find(id=f"field-{field}-error")
        assert error is not None and message in error.get_text()
        assert page.html.find(id=f"field-{field}")["aria-invalid"] == "true"


def test_nonsense_cursors_are_ignored(auditor):
    assert rows(auditor.get(TRAIL, {"before": "x", "after": "-3"}))


def test_the_filter_form_swaps_the_trail_and_pushes_the_url(auditor):
    page = auditor.get(TRAIL)
    form = page.html.find(id="audit-filters")
    section = page.html.find(id="audit-trail")
    assert form["hx-get"] == "/acme/demo/@@audit"
    assert (section["hx-target"], section["hx-select"], section["hx-push-url"]) == (
        "#audit-trail",
        "#audit-trail",
        "true",
    )
    fragment = auditor.get(TRAIL, {"action": "site."}, headers=HTMX)
    assert "<html" not in fragment.text and fragment.html.find(id="audit-trail")
    assert fragment.headers["Vary"] == "HX-Request"
    assert {row[3] for row in rows(fragment)} == {"site.created"}
    refused = auditor.get(TRAIL, {"since": "soon"}, headers=HTMX, status=422)
    assert refused.html.find(id="field-since-error")


def add_events(dbsession, world, count, **extra):
    for number in range(count):
        audit.record(
            dbsession,
            SYSTEM,
            tenant_id=world.tenant.id,
            study_id=world.study.id,
            action="test.numbered",
            entity_type="thing",
            entity_id=number,
            new=number,
            **extra,
        )
    dbsession.flush()


def test_pages_follow_the_sequence_without_gaps_or_repeats(auditor, dbsession, world):
    add_events(dbsession, world, 120)
    query = {"action": "test."}
    first = auditor.get(TRAIL, query)
    older = first.html.find("a", rel="next")
    assert first.html.find("a", rel="prev") is None
    second = auditor.get(older["href"], headers=HTMX)
    third = auditor.get(second.html.find("a", rel="next")["href"])
    assert third.html.find("a", rel="next") is None
    shown = seqs(first) + seqs(second) + seqs(third)
    assert len(seqs(first)) == len(seqs(second)) == 50
    assert shown == sorted(shown, reverse=True) and len(set(shown)) == 120
    assert "action=test." in older["href"]  # the filters travel with the cursor
    back = auditor.get(second.html.find("a", rel="prev")["href"])
    assert seqs(back) == seqs(first)


def test_a_page_costs_the_same_queries_for_many_events_and_people(
    auditor, dbsession, world, query_counter
):
    auditor.get(TRAIL)
    query_counter.clear()
    auditor.get(TRAIL, {"subject": "par01-0001"})
    few = len(query_counter)
    for number in range(30):
        user = make_user(dbsession, auditor.app.registry, f"person{number}@example.org")
        grant_study_role(dbsession, user, world.study, StudyRole.MONITOR)
        subject_event(dbsession, world, value=str(number), actor_id=user.id)
    add_events(dbsession, world, 100)
    query_counter.clear()
    page = auditor.get(TRAIL, {"subject": "par01-0001"})
    assert len(rows(page)) == 30
    assert len(query_counter) == few, "\n".join(query_counter)
    query_counter.clear()
    auditor.get(TRAIL, {"subject": "par01-0001", "before": rows(page)[10][0]})
    assert len(query_counter) == few


# --- the export --------------------------------------------------------------------------------


def read_csv(response):
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="acme-')
    return list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))


def test_the_export_streams_the_filtered_events_and_is_itself_audited(auditor, dbsession, world):
    subject_event(dbsession, world, value='=HYPERLINK("http://evil.example")', reason="@SUM(1)")
    subject_event(dbsession, world, value="-5", reason="+1")
    add_events(dbsession, world, 30)
    page = auditor.get(TRAIL, {"entity": "form_instance"})
    link = page.html.find("a", string="Export these events (CSV)")
    response = auditor.get(link["href"])
    exported = read_csv(response)
    assert [row["action"] for row in exported] == ["entry.value_changed"] * 2
    assert [row["new_value"] for row in exported] == ['\'=HYPERLINK("http://evil.example")', "'-5"]
    assert [row["reason"] for row in exported] == ["'@SUM(1)", "'+1"]
    assert exported[0]["actor"] == "Camille Coordinator"
    assert exported[0]["occurred_at_utc"].endswith("+00:00")
    assert exported[0]["occurred_at_local"].endswith(("+01:00", "+02:00"))
    export = dbsession.scalars(select(AuditEvent).where(AuditEvent.action == "audit.export")).one()
    assert (export.actor_id, export.study_id, export.entity_type) == (
        world.users["auditor"].id,
        world.study.id,
        "audit_trail",
    )
    assert export.new_value == '{"entity": "form_instance"}'
    assert int(exported[-1]["id"]) < export.id
    # the export is in the trail, and the next export holds the first one
    everything = read_csv(auditor.get(EXPORT))
    assert "audit.export" in [row["action"] for row in everything]
    assert [int(row["id"]) for row in everything] == sorted(int(row["id"]) for row in everything)


def test_the_export_reads_in_batches(auditor, dbsession, world, monkeypatch):
    monkeypatch.setattr("datacapt.audit_trail.services.EXPORT_BATCH", 7)
    add_events(dbsession, world, 30)
    exported = read_csv(auditor.get(EXPORT, {"action": "test."}))
    assert [row["new_value"] for row in exported] == [str(number) for number in range(30)]


def test_spreadsheet_formulas_are_neutralised():
    assert [spreadsheet_safe(v) for v in ("=1+1", "+33", "-x", "@A1", "\tx", "ok", 5, None)] == [
        "'=1+1",
        "'+33",
        "'-x",
        "'@A1",
        "'\tx",
        "ok",
        5,
        None,
    ]


# --- who sees what -------------------------------------------------------------------------------


def test_a_study_trail_holds_only_that_studys_events(auditor, dbsession, world):
    other = create_study(dbsession, world.tenant, "second", "Second study")
    audit.record(
        dbsession,
        SYSTEM,
        tenant_id=world.tenant.id,
        study_id=other.id,
        action="test.elsewhere",
        entity_type="thing",
        entity_id=1,
    )
    audit.record(
        dbsession,
        SYSTEM,
        tenant_id=world.foreign_tenant.id,
        action="test.foreign",
        entity_type="thing",
        entity_id=1,
    )
    dbsession.flush()
    everything = read_csv(auditor.get(EXPORT))
    actions = {row["action"] for row in everything}
    assert "test.elsewhere" not in actions and "test.foreign" not in actions
    assert "study.created" in actions
    assert {row["study_id"] for row in everything} == {str(world.study.id)}
    assert "test.elsewhere" not in auditor.get(TRAIL).text


def test_a_site_restricted_auditor_is_refused(app, dbsession, world, registry):
    user = make_user(dbsession, registry, "site-auditor@example.org")
    grant_study_role(dbsession, user, world.study, StudyRole.AUDITOR, [world.sites["par01"]])
    dbsession.flush()
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(client, "site-auditor@example.org")
    client.get(TRAIL, status=403)
    client.get(EXPORT, status=403)
    assert "@@audit" not in client.get("/acme/demo/").text


def test_tenant_administrators_see_every_study_but_no_clinical_values(app, dbsession, world):
    other = create_study(dbsession, world.tenant, "second", "Second study")
    subject_event(dbsession, world, value="151.5", reason="confirmed with source")
    audit.record(
        dbsession,
        SYSTEM,
        tenant_id=world.foreign_tenant.id,
        action="test.foreign",
        entity_type="t",
        entity_id=1,
    )
    dbsession.flush()
    admin = sign_in(app, world, "tenant_admin")
    page = admin.get(TENANT_TRAIL)
    shown = rows(page)
    assert "study.created" in {row[3] for row in shown}
    assert "test.foreign" not in page.text
    clinical = next(row for row in shown if row[3] == "entry.value_changed")
    assert clinical[6:] == ["clinical data", "clinical data", "clinical data"]
    assert "151.5" not in page.text and "confirmed with source" not in page.text
    only_second = admin.get(TENANT_TRAIL, {"study": other.id})
    assert [row[3] for row in rows(only_second)] == ["study.created"]
    exported = read_csv(admin.get("/acme/@@audit-export"))
    clinical = next(row for row in exported if row["action"] == "entry.value_changed")
    assert clinical["new_value"] == clinical["reason"] == MASKED
    assert "test.foreign" not in {row["action"] for row in exported}
    # a study of another tenant is not a choice
    foreign_study = dbsession.scalar(
        select(Study.id).where(Study.tenant_id == world.foreign_tenant.id)
    )
    refused = admin.get(TENANT_TRAIL, {"study": foreign_study}, status=422)
    assert "Choose a study from the list." in refused.html.find(id="field-study-error").get_text()
    export = dbsession.scalars(select(AuditEvent).where(AuditEvent.action == "audit.export")).one()
    assert (export.chain, export.study_id) == (f"tenant:{world.tenant.id}", None)


def test_what_the_system_did_for_someone_names_them_and_verifies(auditor, dbsession, world):
    """A job acting by itself for a person (a scheduled export for its owner): the trail says
    "system", for whom, in the page and the CSV, and that name is part of the hash."""
    owner = world.users["coordinator"]
    recorded = audit.record(
        dbsession,
        Actor.system("export", on_behalf_of=owner.id),
        tenant_id=world.tenant.id,
        action="data.exported",
        entity_type="study",
        entity_id=world.study.id,
        study_id=world.study.id,
    )
    assert (recorded.actor_id, recorded.on_behalf_of_id) == (None, owner.id)
    assert f'"on_behalf_of_id":{owner.id}' in audit.canonical(recorded)
    assert audit.verify(dbsession, recorded.chain).intact

    row = auditor.get(TRAIL).html.find("td", string=str(recorded.id)).parent
    assert " ".join(row.find_all("td")[2].stripped_strings) == "system for Camille Coordinator"
    exported = read_csv(auditor.get(EXPORT))
    mine = next(line for line in exported if line["id"] == str(recorded.id))
    assert (mine["actor"], mine["on_behalf_of"]) == ("", "Camille Coordinator")
