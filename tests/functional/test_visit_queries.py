"""Queries on a whole visit or on the subject (what no value shows: a visit date missing in the
source, a consent form copy not on file), and a visit locked as a whole: its forms, and a form
started after, take no entry."""

from __future__ import annotations

import csv
import io

import pytest
import webtest
from sqlalchemy import func, select

from datacapt.models import (
    AuditEvent,
    FormInstance,
    LockState,
    Query,
    QueryState,
    VisitInstance,
)
from tests.factories import build_world, login

SUBJECT = "/acme/demo/subjects/par01-0001/"
SCREENING = SUBJECT + "screening/"
DEMOGRAPHICS = SCREENING + "demographics/"
VITALS = SCREENING + "vital_signs/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def user_app(app, world, role):
    testapp = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(testapp, world.users[role].email).status_int == 303
    return testapp


@pytest.fixture
def coordinator(app, world):
    return user_app(app, world, "coordinator")


@pytest.fixture
def monitor(app, world):
    return user_app(app, world, "monitor")


@pytest.fixture
def manager(app, world):
    return user_app(app, world, "data_manager")


def enter_demographics(coordinator):
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["sex"], form["height_cm"], form["weight_kg"] = "1", "175", "70.0"
    assert form.submit().status_int == 303


def raise_on(client, url, message):
    form = client.get(url + "@@queries").forms["raise-query"]
    form["message"] = message
    return form.submit(status="*")


def step(client, url, number, action, message):
    form = client.get(url + "@@queries").forms[f"q{number}-{action}"]
    form["message"] = message
    return form.submit(status="*")


def all_queries(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Query).order_by(Query.number)).all()


def actions(dbsession, number):
    return [
        event.action
        for event in dbsession.scalars(
            select(AuditEvent)
            .join(Query, AuditEvent.entity_id == func.cast(Query.id, AuditEvent.entity_id.type))
            .where(AuditEvent.entity_type == "data_query", Query.number == number)
            .order_by(AuditEvent.id)
        )
    ]


def test_a_query_on_a_visit_and_one_on_the_subject_go_through_the_whole_loop(
    coordinator, monitor, dbsession, world
):
    enter_demographics(coordinator)
    assert raise_on(monitor, SCREENING, "Visit date missing in the source.").status_int == 303
    assert raise_on(monitor, SUBJECT, "Consent form copy missing.").status_int == 303
    on_visit, on_subject = all_queries(dbsession)
    visit = dbsession.scalar(select(VisitInstance).where(VisitInstance.visit == "screening"))
    assert (on_visit.visit_instance_id, on_visit.form_instance_id) == (visit.id, None)
    assert (on_subject.visit_instance_id, on_subject.form_instance_id) == (None, None)
    assert on_subject.subject_id == world.subjects["par01-0001"].id

    # The site sees them on the visit and casebook pages, and answers.
    visit_page = coordinator.get(SCREENING)
    panel = visit_page.html.select_one(".node-queries [hx-get]")
    assert panel["hx-get"] == SCREENING + "@@queries"
    fragment = coordinator.get(SCREENING + "@@queries", headers=HTMX)
    assert "Queries on the whole visit" in fragment.text
    assert "Visit date missing in the source." in fragment.text
    assert "Consent form copy missing." not in fragment.text
    assert "Queries on the subject" in coordinator.get(SUBJECT).text
    answered = step(coordinator, SUBJECT, on_subject.number, "answer", "Copy filed today.")
    assert answered.status_int == 303
    assert "raise-query" not in coordinator.get(SUBJECT + "@@queries").forms

    # The monitor closes one, re-opens and closes the other; each step audited.
    assert step(monitor, SUBJECT, on_subject.number, "close", "Seen in the ISF.").status_int == 303
    assert step(monitor, SCREENING, on_visit.number, "close", "Not needed.").status_int == 303
    assert step(monitor, SCREENING, on_visit.number, "reopen", "Still needed.").status_int == 303
    on_visit, on_subject = all_queries(dbsession)
    assert (on_visit.state, on_subject.state) == (QueryState.OPEN, QueryState.CLOSED)
    assert actions(dbsession, on_subject.number) == [
        "query.raised",
        "query.answered",
        "query.closed",
    ]
    assert actions(dbsession, on_visit.number) == ["query.raised", "query.closed", "query.reopened"]
    # No form's count of open queries moved.
    assert dbsession.scalar(select(func.sum(FormInstance.open_queries))) == 0

    # The query's own page shows the thread where it sits.
    page = monitor.get(f"/acme/demo/queries/{on_subject.number}/")
    assert "Queries on the subject" in page.text and "Copy filed today." in page.text


def test_visit_and_subject_queries_are_listed_with_where_they_sit(coordinator, monitor, dbsession):
    enter_demographics(coordinator)
    raise_on(monitor, SCREENING, "Visit date missing in the source.")
    raise_on(monitor, SUBJECT, "Consent form copy missing.")
    listing = monitor.get("/acme/demo/queries/")
    rows = {
        row.find("a").text: [cell.text.strip() for cell in row.find_all("td")]
        for row in listing.html.select("table.queries tbody tr")
    }
    visit_row, subject_row = rows["Query 1"], rows["Query 2"]
    assert visit_row[-5:-2] == ["screening", "", "the whole visit"]
    assert subject_row[-5:-2] == ["", "", "the subject"]
    exported = list(csv.reader(io.StringIO(monitor.get("/acme/demo/queries/@@export").text)))
    assert [line[3:8] for line in exported[1:]] == [
        ["", "", "", "", ""],
        ["screening", "1", "", "", ""],
    ]
    # The site's staff see them in their list too.
    assert "the subject" in coordinator.get("/acme/demo/queries/").text


def test_bad_visit_or_subject_queries_are_refused(coordinator, monitor, dbsession):
    page = monitor.get(SUBJECT + "@@queries")
    form = page.forms["raise-query"]
    form["message"] = "   "
    refused = form.submit(headers=HTMX, status=422)
    assert "Write a message." in refused.text
    # A visit not entered yet has nothing to query on it, and site staff raise none.
    token = form["csrf_token"].value
    monitor.post(
        SUBJECT + "baseline/@@raise-query", {"csrf_token": token, "message": "x"}, status=404
    )
    token = coordinator.get(SUBJECT).forms["add-visit-form"]["csrf_token"].value
    coordinator.post(SUBJECT + "@@raise-query", {"csrf_token": token, "message": "x"}, status=403)
    assert all_queries(dbsession) == []


def state_form(testapp, url, action, reason=""):
    form = testapp.get(url).forms["data-state-form"]
    form["state-reason"] = reason
    return form.submit("action", value=action, status="*")


def test_a_locked_visit_refuses_a_form_started_after_with_a_clear_message(
    coordinator, monitor, manager, dbsession
):
    enter_demographics(coordinator)
    started_later = coordinator.get(VITALS).forms["entry-form"]
    started_later["systolic"], started_later["diastolic"] = "120", "80"

    # An open query on the visit holds the lock back, as a form's does.
    raise_on(monitor, SCREENING, "Visit date missing in the source.")
    refused = state_form(manager, SCREENING, "lock")
    assert refused.status_int == 422 and "Open queries on the visit: 1." in refused.text
    (query,) = all_queries(dbsession)
    step(monitor, SCREENING, query.number, "close", "Found in the notes.")

    assert state_form(manager, SCREENING, "lock", "Database lock").status_int == 303
    dbsession.expire_all()
    visit = dbsession.scalar(select(VisitInstance).where(VisitInstance.visit == "screening"))
    demographics = dbsession.scalar(select(FormInstance).where(FormInstance.form == "demographics"))
    assert (visit.lock_state, demographics.lock_state) == (LockState.LOCKED, LockState.LOCKED)
    locked = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "data.locked").order_by(AuditEvent.id)
    ).all()
    assert sorted(e.entity_type for e in locked) == ["form_instance", "visit_instance"]

    assert "Visit: Locked" in coordinator.get(SCREENING).text
    page = coordinator.get(VITALS)
    notice = page.html.select_one("#closed-by-state").text
    assert "frozen, locked or signed" in notice and "Screening" in notice
    assert page.html.find("button", string="Save") is None
    before = dbsession.scalar(select(func.count(FormInstance.id)))
    forced = started_later.submit(status=403)
    assert "frozen, locked or signed" in forced.html.select_one("#closed-by-state").text
    assert dbsession.scalar(select(func.count(FormInstance.id))) == before
    # The visit's queries are closed to new steps too.
    monitor.post(
        f"/acme/demo/queries/{query.number}/@@reopen",
        {"csrf_token": started_later["csrf_token"].value, "message": "again"},
        status=403,
    )
    assert all_queries(dbsession)[0].state is QueryState.CLOSED
