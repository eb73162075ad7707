"""The JSON API as an integration uses it: a key issued for one study and role, read and write
through the same rules as the pages, problem details for every refusal."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from datacapt.api import SPEC, keys
from datacapt.api import views as api_views
from datacapt.api.limits import LIMIT
from datacapt.models import ApiKey, AuditEvent, DataExport, ItemValue, User
from datacapt.permissions import StudyRole
from tests.factories import EXPORT_ID, SETUP, add_export, add_queries, build_world, login

BASE = "/api/v1/studies/acme/demo"
DEMOGRAPHICS = BASE + "/subjects/par01-0001/screening/demographics"


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def issue(dbsession, world, role=StudyRole.COORDINATOR, sites=("par01",), writes=True, days=30):
    chosen = [world.sites[code] for code in sites]
    choice = keys.role_choice(role.value, list(sites), chosen)
    issued = keys.issue(
        dbsession,
        world.study,
        name="Lab import",
        choice=choice,
        writes=writes,
        days=days,
        granter=None,
        by=SETUP,
    )
    dbsession.flush()
    return issued


def headers(issued) -> dict[str, str]:
    return {"Api-Key": issued.text}


def test_an_unreadable_address_is_a_problem_not_a_page(testapp, dbsession, world):
    issued = issue(dbsession, world)
    answer = testapp.get(f"{BASE}/queries?x=%00", headers=headers(issued), status=400)
    assert (answer.status_int, answer.content_type) == (400, "application/problem+json")
    assert answer.json["title"] == "Bad Request" and "NUL" in answer.json["detail"]


def test_a_nul_in_a_json_body_is_a_problem_and_starts_nothing(testapp, dbsession, world):
    manager = issue(dbsession, world, role=StudyRole.DATA_MANAGER, sites=(), writes=True)
    answer = testapp.post_json(
        BASE + "/exports",
        {"format": "csv", "subjects": ["par01-0001\x00"]},
        headers=headers(manager),
        status=400,
    )
    assert answer.content_type == "application/problem+json" and "NUL" in answer.json["detail"]
    assert dbsession.scalars(select(DataExport)).all() == []
    # Text that only reads like an escape (a backslash, then "u0000") is ordinary text.
    testapp.post_json(
        BASE + "/exports",
        {"format": "csv", "subjects": ["par01-\\u0000"]},
        headers=headers(manager),
        status=422,
    )


def test_a_key_is_shown_once_and_kept_as_a_hash(dbsession, world):
    issued = issue(dbsession, world)
    prefix, secret = keys.parse(issued.text)
    row = dbsession.get(ApiKey, issued.row.id)
    assert row.prefix == prefix and len(secret) == 43  # 256 random bits
    assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(dbsession.scalars(select(AuditEvent.new_value)).all())
    account = dbsession.get(User, row.user_id)
    assert account.password_hash is None and account.email.endswith("@keys.invalid")


def test_without_a_usable_key_the_answer_is_401_and_the_same(testapp, dbsession, world):
    issued = issue(dbsession, world)
    prefix, _secret = keys.parse(issued.text)
    wrong = f"dc_{prefix}_{'A' * 43}"
    answers = [
        testapp.get(BASE, headers=h, status=401)
        for h in ({}, {"Api-Key": "nonsense"}, {"Api-Key": wrong})
    ]
    issued.row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    dbsession.flush()
    answers.append(testapp.get(BASE, headers=headers(issued), status=401))
    for answer in answers:
        assert answer.content_type == "application/problem+json"
        assert answer.json["title"] == "Unauthorized" and answer.headers["WWW-Authenticate"]
    assert len({answer.body for answer in answers}) == 1


def test_a_browser_session_counts_for_nothing_under_the_api(testapp, world):
    login(testapp, world.users["data_manager"].email)
    testapp.get(BASE, status=401)


def test_a_key_reads_the_study_its_sites_and_subjects(testapp, dbsession, world):
    issued = issue(dbsession, world, role=StudyRole.MONITOR, sites=(), writes=False)
    study = testapp.get(BASE, headers=headers(issued)).json
    assert study == {
        "tenant": "acme",
        "code": "demo",
        "title": "Demo study",
        "published_version": 1,
    }
    sites = testapp.get(BASE + "/sites", headers=headers(issued)).json
    assert [s["code"] for s in sites["items"]] == ["ber01", "par01"] and sites["total"] == 2
    page = testapp.get(BASE + "/subjects?limit=1&offset=1", headers=headers(issued)).json
    assert page["total"] == 2 and page["limit"] == 1 and page["offset"] == 1
    assert [s["label"] for s in page["items"]] == ["par01-0001"]
    casebook = testapp.get(BASE + "/subjects/par01-0001", headers=headers(issued)).json
    screening = next(v for v in casebook["visits"] if v["key"] == "screening")
    assert {f["key"] for f in screening["forms"]} == {"consent", "demographics", "vital_signs"}


def test_a_site_restricted_key_sees_its_site_only_and_other_tenants_not_at_all(
    testapp, dbsession, world
):
    issued = issue(dbsession, world, writes=False)
    page = testapp.get(BASE + "/subjects", headers=headers(issued)).json
    assert [s["label"] for s in page["items"]] == ["par01-0001"] and page["total"] == 1
    testapp.get(BASE + "/subjects/ber01-0001", headers=headers(issued), status=403)
    answer = testapp.get(
        "/api/v1/studies/globex/other/subjects", headers=headers(issued), status=403
    )
    assert answer.content_type == "application/problem+json"
    testapp.get(BASE + "/subjects/par01-9999", headers=headers(issued), status=404)


def test_a_write_saves_through_the_form_rules_and_is_audited_as_the_key(testapp, dbsession, world):
    issued = issue(dbsession, world)
    empty = testapp.get(DEMOGRAPHICS, headers=headers(issued)).json
    assert empty == {
        "form": "demographics",
        "status": "not_started",
        "version": None,
        "values": {},
        "missing": {},
    }
    body = {"version": None, "values": {"birth_date": "1980-01-31", "sex": "2", "height_cm": "170"}}
    saved = testapp.put_json(DEMOGRAPHICS, body, headers=headers(issued)).json
    assert saved["values"] == {"birth_date": "1980-01-31", "sex": "2", "height_cm": "170"}
    assert saved["version"] is not None
    more = {"version": saved["version"], "values": {"weight_kg": "62.5"}}
    again = testapp.put_json(DEMOGRAPHICS, more, headers=headers(issued)).json
    assert again["values"]["birth_date"] == "1980-01-31"  # left out, kept
    assert again["values"]["weight_kg"] == "62.5" and again["values"]["bmi"] == "21.6"
    account = issued.row.user_id
    events = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == account, AuditEvent.field == "I.WEIGHT_KG")
    ).all()
    assert [event.new_value for event in events] == ["62.5"]


def test_a_refused_or_stale_write_saves_nothing_and_says_why(testapp, dbsession, world):
    issued = issue(dbsession, world)
    bad = {"version": None, "values": {"birth_date": "31 Feb", "sex": "2"}}
    refused = testapp.put_json(DEMOGRAPHICS, bad, headers=headers(issued), status=422).json
    assert "birth_date" in refused["errors"] and refused["detail"] == "Nothing was saved."
    assert dbsession.scalars(select(ItemValue)).all() == []
    unknown = {"version": None, "values": {"initials": "JM", "bmi": "20"}}
    refused = testapp.put_json(DEMOGRAPHICS, unknown, headers=headers(issued), status=422).json
    assert set(refused["errors"]) == {"initials", "bmi"}  # personal data, a calculation
    first = {"version": None, "values": {"birth_date": "1980-01-31", "sex": "1"}}
    saved = testapp.put_json(DEMOGRAPHICS, first, headers=headers(issued)).json
    stale = {"version": None, "values": {"sex": "2"}}
    conflict = testapp.put_json(DEMOGRAPHICS, stale, headers=headers(issued), status=409).json
    assert conflict["version"] == saved["version"]
    assert testapp.get(DEMOGRAPHICS, headers=headers(issued)).json["values"]["sex"] == "1"
    invalid = testapp.put_json(DEMOGRAPHICS, {"values": {}}, headers=headers(issued), status=400)
    assert invalid.json["title"] == "Bad Request" and invalid.json["errors"]


def test_a_read_only_key_or_a_role_without_entry_may_not_write(testapp, dbsession, world):
    body = {"version": None, "values": {"sex": "1"}}
    reader = issue(dbsession, world, writes=False)
    answer = testapp.put_json(DEMOGRAPHICS, body, headers=headers(reader), status=403)
    assert answer.json["title"] == "Forbidden"
    monitor = issue(dbsession, world, role=StudyRole.MONITOR, sites=(), writes=True)
    testapp.put_json(DEMOGRAPHICS, body, headers=headers(monitor), status=403)


def test_a_revoked_key_stops_at_once_and_its_revocation_is_audited(testapp, dbsession, world):
    issued = issue(dbsession, world)
    testapp.get(BASE, headers=headers(issued), status=200)
    keys.revoke(dbsession, issued.row, reason="Contract ended", by=SETUP)
    dbsession.flush()
    testapp.get(BASE, headers=headers(issued), status=401)
    [event] = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "api_key.revoked")
    ).all()
    assert event.reason == "Contract ended"
    assert dbsession.scalar(select(ApiKey.last_used_at).where(ApiKey.id == issued.row.id))


def test_past_its_rate_the_key_waits(testapp, dbsession, world, registry, monkeypatch):
    issued = issue(dbsession, world, writes=False)
    monkeypatch.setattr(registry[LIMIT], "per_minute", 2)
    monkeypatch.setattr(registry[LIMIT], "local", type(registry[LIMIT].local)())
    for _ in range(2):
        testapp.get(BASE, headers=headers(issued), status=200)
    answer = testapp.get(BASE, headers=headers(issued), status=429)
    assert answer.content_type == "application/problem+json"
    assert 1 <= int(answer.headers["Retry-After"]) <= 60


def test_a_request_run_again_after_a_conflict_counts_once(
    testapp, dbsession, world, registry, monkeypatch
):
    """pyramid_retry runs a request again after a conflict at commit: the caller sent one."""
    issued = issue(dbsession, world, writes=False)
    monkeypatch.setattr(registry[LIMIT], "per_minute", 2)
    monkeypatch.setattr(registry[LIMIT], "local", type(registry[LIMIT].local)())
    listed = api_views.services.sites
    attempts: list[int] = []

    def conflicting_once(*args, **kwargs):
        attempts.append(1)
        if len(attempts) == 1:
            raise StaleDataError("saved by someone else meanwhile")
        return listed(*args, **kwargs)

    monkeypatch.setattr(api_views.services, "sites", conflicting_once)
    testapp.get(f"{BASE}/sites", headers=headers(issued), status=200)
    assert len(attempts) == 2
    testapp.get(BASE, headers=headers(issued), status=200)
    testapp.get(BASE, headers=headers(issued), status=429)


def test_the_description_is_served(testapp):
    answer = testapp.get("/api/v1/openapi.yaml", status=200)
    assert b"/studies/{tenant}/{study}/subjects" in answer.body


# --- any input the description allows: never a server error, always an answer it describes --

SCHEMA = schemathesis.openapi.from_path(SPEC)
WORLD_PATH = {
    "tenant": "acme",
    "study": "demo",
    "subject": "par01-0001",
    "visit": "screening",
    "form": "demographics",
    "export": EXPORT_ID,
}


@SCHEMA.parametrize()
@hypothesis.settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_the_description_allows_breaks_the_api(case, app, dbsession, registry, world):
    """Schemathesis writes the queries and bodies; the path is the world's, so the requests
    reach the views (a random path stops at a 404 before anything is read)."""
    if dbsession.get(DataExport, EXPORT_ID) is None:
        add_export(dbsession, registry, world)
    issued = issue(dbsession, world, role=StudyRole.DATA_MANAGER, sites=())
    for name in case.path_parameters or {}:
        case.path_parameters[name] = WORLD_PATH[name]
    case.call_and_validate(
        app=app,
        headers=headers(issued),
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
    )


def test_an_operator_issues_lists_and_revokes_keys_from_the_command_line(datacapt):
    assert datacapt("demo")[0] == 0
    code, out, _ = datacapt(
        "api-key", "issue", "acme", "demo", "--name", "Lab", "--role", "coordinator",
        "--site", "par01", "--write", "--days", "30",
    )  # fmt: skip
    assert code == 0 and "only time it is shown" in out
    prefix, _secret = keys.parse(out.split()[0])
    code, out, _ = datacapt("api-key", "list", "acme", "demo")
    assert code == 0 and prefix in out and "write" in out
    assert datacapt("api-key", "revoke", "acme", "demo", prefix, "--reason", "Done")[0] == 0
    assert "revoked" in datacapt("api-key", "list", "acme", "demo")[1]
    code, _, err = datacapt(
        "api-key", "issue", "acme", "demo", "--name", "Lab", "--role", "monitor", "--days", "0"
    )
    assert code == 2 and "366 days" in err
    code, _, err = datacapt("api-key", "revoke", "acme", "demo", "nosuchprefix", "--reason", "x")
    assert code == 2 and "no API key" in err


def test_a_data_manager_key_exports_and_takes_the_file(testapp, dbsession, world):
    manager = issue(dbsession, world, role=StudyRole.DATA_MANAGER, sites=(), writes=True)
    started = testapp.post_json(BASE + "/exports", {"format": "csv"}, headers=headers(manager))
    assert started.status_int == 202 and started.json["state"] == "queued"
    followed = testapp.get(started.headers["Location"], headers=headers(manager)).json
    assert followed["state"] == "done" and followed["file"]  # in-process: run after the commit
    taken = testapp.get(followed["file"], headers=headers(manager))
    assert taken.body[:2] == b"PK" and hashlib.sha256(taken.body).hexdigest() == followed["sha256"]
    assert dbsession.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "data.downloaded", AuditEvent.actor_id == manager.row.user_id
        )
    ).all()
    refused = testapp.post_json(
        BASE + "/exports", {"format": "csv", "sites": ["nowhere"]}, headers=headers(manager),
        status=422,
    )  # fmt: skip
    assert "nowhere" in refused.json["detail"]
    reader = issue(dbsession, world, role=StudyRole.DATA_MANAGER, sites=(), writes=False)
    testapp.post_json(BASE + "/exports", {"format": "csv"}, headers=headers(reader), status=403)


def test_a_key_lists_the_queries_of_its_sites(testapp, dbsession, world):
    add_queries(dbsession, world)
    issued = issue(dbsession, world, writes=False)
    page = testapp.get(BASE + "/queries?state=open", headers=headers(issued)).json
    assert page["total"] == 1
    [query] = page["items"]
    assert (query["subject"], query["visit"], query["form"]) == (
        "par01-0001",
        "screening",
        "consent",
    )
    assert query["state"] == "open" and query["item"] is None
    closed = testapp.get(BASE + "/queries?state=closed", headers=headers(issued)).json
    assert closed["total"] == 0
    testapp.get(BASE + "/queries?state=lost", headers=headers(issued), status=400)


# --- the study's API keys page --------------------------------------------------------------


def test_an_administrator_issues_a_key_once_and_revokes_it_with_a_reason(testapp, dbsession, world):
    """Only roles the administrator may grant are offered (an organisation's administrator
    may grant every one)."""
    login(testapp, world.users["tenant_admin"].email)
    page = testapp.get("/acme/demo/@@api-keys")
    form = page.forms["issue-form"]
    form["name"] = "Lab import"
    form["role"] = "coordinator"
    form["scope"] = "sites"
    form.get("site", index=[f._value for f in form.fields["site"]].index("par01")).checked = True
    form["writes"] = True
    form["days"] = "30"
    issued = form.submit(status=201)
    text = issued.html.find(id="issued-key").text
    prefix, _secret = keys.parse(text)
    assert testapp.get(BASE, headers={"Api-Key": text}).json["code"] == "demo"
    listed = testapp.get("/acme/demo/@@api-keys")
    assert text not in listed.text and f"dc_{prefix}_" in listed.text  # never shown again
    row = listed.html.find(id=f"key-{prefix}")
    assert "par01" in row.text and "Study coordinator" in row.text
    refused = listed.forms[f"revoke-{prefix}"].submit(status=422)  # no reason
    assert "Say why the key is revoked." in refused.text
    revoked = refused.forms[f"revoke-{prefix}"]
    revoked["reason"] = "Contract ended"
    assert "The key was revoked." in revoked.submit(status=303).follow().text
    testapp.get(BASE, headers={"Api-Key": text}, status=401)


def test_a_bad_key_form_is_refused_next_to_its_field(testapp, world):
    login(testapp, world.users["study_admin"].email)
    form = testapp.get("/acme/demo/@@api-keys").forms["issue-form"]
    form["name"] = "Lab"
    form["days"] = "400"
    refused = form.submit(status=422)
    error = refused.html.find(id="key-days-error")
    assert error is not None and "366 days" in error.text


def test_only_study_managers_reach_the_keys_page(testapp, world):
    login(testapp, world.users["coordinator"].email)
    testapp.get("/acme/demo/@@api-keys", status=403)
