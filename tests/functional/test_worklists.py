"""Worklists on the study's page: each reader sees the worklists of what they may do (their
permissions, not their role's name), counted over the sites where they may do it, each count a
link to its list; lists are paginated and cost the same statements whatever their length."""

from __future__ import annotations

import pytest
import webtest
from sqlalchemy import select

from datacapt.accounts.services import grant_study_role
from datacapt.actor import Actor
from datacapt.entry.services import new_form_instance
from datacapt.models import (
    FormInstance,
    FormStatus,
    LockState,
    Query,
    QueryStep,
    SdvStatus,
    SignatureState,
    VisitInstance,
)
from datacapt.permissions import StudyRole
from datacapt.queries import services as queries
from datacapt.subjects.services import new_visit_instance
from tests.factories import SETUP, add_queries, build_world, login, make_subject, make_user

STUDY = "/acme/demo/"
HTMX = {"HX-Request": "true"}
C, P = FormStatus.COMPLETE, FormStatus.IN_PROGRESS
A, V, NR = SdvStatus.AWAITING, SdvStatus.VERIFIED, SdvStatus.NOT_REQUIRED
SG, U = SignatureState.SIGNED, SignatureState.UNSIGNED
#: (subject, visit, form, status, SDV, signature, lock) besides the two consent forms (in
#: progress, one query each: open at par01, answered at ber01) that add_queries makes.
FORMS = (
    ("par01-0001", "screening", "demographics", C, A, U, LockState.OPEN),
    ("par01-0001", "screening", "vital_signs", C, V, U, LockState.OPEN),
    ("par01-0001", "baseline", "vital_signs", C, NR, SG, LockState.OPEN),
    ("par01-0001", "week4", "vital_signs", C, V, SG, LockState.LOCKED),
    ("ber01-0001", "screening", "demographics", C, A, U, LockState.OPEN),
    ("ber01-0001", "baseline", "vital_signs", P, NR, U, LockState.FROZEN),
)


#: What site staff at par01 see: its consent in progress, its open query, no visit overdue.
SITE_WORK = {
    "Forms to complete": 1,
    "Overdue visits": 0,
    "Open queries to answer": 1,
    "Tasks for site staff": 0,
}


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    found = add_queries(dbsession, world)
    queries.move(
        dbsession,
        found["ber01-0001"],
        QueryStep.ANSWERED,
        "It is on file.",
        Actor(world.users["investigator"].id),
    )
    visits = {}
    for label, visit, form, status, sdv, signature, lock in FORMS:
        subject = world.subjects[label]
        if (label, visit) not in visits:
            visits[label, visit] = (
                new_visit_instance(dbsession, subject, visit, 1, SETUP)
                if visit != "screening"
                else None
            )
        visit_row = visits[label, visit] or _screening(dbsession, subject)
        instance = new_form_instance(
            dbsession, subject, visit_row, form, 1, status=status, version_number=1, actor=SETUP
        )
        instance.sdv_status, instance.signature_state, instance.lock_state = sdv, signature, lock
    dbsession.flush()
    return world


def _screening(dbsession, subject):
    """The subject's screening visit, which add_queries entered."""
    return dbsession.scalar(
        select(VisitInstance).where(
            VisitInstance.subject_id == subject.id, VisitInstance.visit == "screening"
        )
    )


def as_user(app, email: str) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, email).status_int == 303
    return client


def counts(client: webtest.TestApp) -> dict[str, int]:
    """The worklists the study page shows, by title, with their counts (as htmx loads them)."""
    home = client.get(STUDY)
    panel_url = home.html.select_one("#worklists-title").find_next("div")["hx-get"]
    panel = client.get(panel_url, headers=HTMX)
    return {
        item.a.text.strip(): int(item.select_one(".count").text)
        for item in panel.html.select("#worklists li")
    }


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("coordinator", {**SITE_WORK}),
        ("sub_investigator", {**SITE_WORK}),
        (
            "investigator",
            {**SITE_WORK, "Forms awaiting signature": 2},
        ),
        (
            "monitor",
            {"Forms awaiting SDV": 2, "Answered queries to close": 1, "Tasks for monitors": 0},
        ),
        (
            "data_manager",
            {
                "Answered queries to close": 1,
                "Forms ready to lock": 2,
                "Tasks for data managers": 0,
            },
        ),
        ("sponsor_viewer", {}),
        ("auditor", {}),
    ],
)
def test_each_role_sees_the_worklists_of_its_permissions(app, world, role, expected):
    client = as_user(app, world.users[role].email)
    assert counts(client) == expected
    if not expected:
        panel = client.get(STUDY + "@@worklists")
        assert "Nothing here is waiting for you." in panel.text


def test_worklists_follow_permissions_and_sites_not_role_names(app, world, dbsession, registry):
    # a coordinator at par01 who also monitors ber01 only
    user = make_user(dbsession, registry, "both@example.org")
    grant_study_role(dbsession, user, world.study, StudyRole.COORDINATOR, [world.sites["par01"]])
    grant_study_role(dbsession, user, world.study, StudyRole.MONITOR, [world.sites["ber01"]])
    dbsession.flush()
    client = as_user(app, "both@example.org")
    assert counts(client) == {
        "Forms to complete": 1,  # par01's consent; ber01's is not theirs to enter
        "Overdue visits": 0,
        "Open queries to answer": 1,
        "Forms awaiting SDV": 1,  # ber01's demographics; par01's is not theirs to verify
        "Answered queries to close": 1,
        "Tasks for site staff": 0,
        "Tasks for monitors": 0,
    }
    rows = client.get(STUDY + "@@worklist/forms-awaiting-sdv").html.select(
        "table.worklist tbody tr"
    )
    assert [row.select("td")[1].text for row in rows] == ["ber01-0001"]


def test_a_count_links_to_its_list_whose_rows_link_to_the_forms(app, world):
    client = as_user(app, world.users["monitor"].email)
    panel = client.get(STUDY + "@@worklists")
    listing = panel.click(linkid=None, href="@@worklist/forms-awaiting-sdv")
    assert listing.html.h1.text == "Forms awaiting SDV"
    assert "2 to do" in listing.html.select_one("#worklist-total").text
    rows = [
        [cell.text.strip() for cell in row.select("td")[:4]]
        for row in listing.html.select("table.worklist tbody tr")
    ]
    assert rows == [
        ["par01", "par01-0001", "Screening", "Demographics"],
        ["ber01", "ber01-0001", "Screening", "Demographics"],
    ]
    form = listing.html.select_one("table.worklist tbody tr a")["href"]
    assert form == "/acme/demo/subjects/par01-0001/screening/demographics/"
    assert client.get(form).status_int == 200
    closing = client.get(STUDY + "@@worklist/queries-to-close")
    number = closing.html.select_one("table.worklist tbody tr a")
    assert number.text == "#2"
    assert client.get(number["href"]).status_int == 200


def test_a_worklist_not_ones_own_or_unknown_is_refused(app, world):
    coordinator = as_user(app, world.users["coordinator"].email)
    coordinator.get(STUDY + "@@worklist/forms-awaiting-sdv", status=403)
    coordinator.get(STUDY + "@@worklist/no-such-list", status=404)
    coordinator.get(STUDY + "@@worklist", status=404)
    admin = as_user(app, world.users["study_admin"].email)
    admin.get(STUDY + "@@worklists", status=403)
    assert "worklists-title" not in admin.get(STUDY).text


def _in_progress(dbsession, world, count: int) -> None:
    for number in range(2, count + 2):
        subject = make_subject(dbsession, world.sites["par01"], f"par01-{number:04d}")
        visit = new_visit_instance(dbsession, subject, "screening", 1, SETUP)
        new_form_instance(
            dbsession, subject, visit, "consent", 1, status=P, version_number=1, actor=SETUP
        )
    dbsession.flush()


def test_lists_are_paginated(app, world, dbsession):
    _in_progress(dbsession, world, 60)
    client = as_user(app, world.users["coordinator"].email)
    first = client.get(STUDY + "@@worklist/forms-to-complete")
    assert "61 to do" in first.text
    assert len(first.html.select("table.worklist tbody tr")) == 50
    second = first.click(linkid=None, href="page=2")
    labels = [row.select("td")[1].text for row in second.html.select("table.worklist tbody tr")]
    assert len(labels) == 11 and "Page 2 of 2" in second.text
    assert labels[-1] == "par01-0061"


def test_worklists_cost_the_same_statements_whatever_the_number_of_rows(
    app, world, dbsession, query_counter
):
    client = as_user(app, world.users["investigator"].email)

    def statements() -> dict[str, list[str]]:
        found = {}
        for url in (STUDY + "@@worklists", STUDY + "@@worklist/forms-to-complete"):
            client.get(url)
            query_counter.clear()
            client.get(url)
            found[url] = list(query_counter)
        return found

    one = statements()
    assert "1 to do" in client.get(STUDY + "@@worklist/forms-to-complete").text
    _in_progress(dbsession, world, 80)
    many = statements()
    assert "81 to do" in client.get(STUDY + "@@worklist/forms-to-complete").text
    for url in one:
        assert len(many[url]) == len(one[url]), "\n".join(many[url])
    assert counts(client)["Forms to complete"] == 81


def _query_rows(client: webtest.TestApp, worklist: str) -> list[list[str]]:
    listing = client.get(STUDY + "@@worklist/" + worklist)
    return [
        [cell.text.strip() for cell in row.select("td")[:5]]
        for row in listing.html.select("table.worklist tbody tr")
    ]


def test_a_query_leaves_the_lists_once_its_form_is_locked(app, world, dbsession):
    client = as_user(app, world.users["coordinator"].email)
    assert _query_rows(client, "queries-to-answer") == [
        ["#1", "par01", "par01-0001", "Screening", "Informed consent"]
    ]
    consent = dbsession.get(FormInstance, world_query(dbsession, 1).form_instance_id)
    consent.lock_state = LockState.LOCKED
    dbsession.flush()
    assert _query_rows(client, "queries-to-answer") == []
    assert counts(client)["Open queries to answer"] == 0


def test_queries_on_a_whole_visit_or_the_subject_are_listed(app, world, dbsession):
    subject = world.subjects["par01-0001"]
    actor = Actor(world.users["monitor"].id)
    on_visit = queries.raise_query_at(
        dbsession,
        queries.Place.of_visit(subject, _screening(dbsession, subject)),
        "Is the visit date right?",
        actor,
    )
    on_subject = queries.raise_query_at(
        dbsession, queries.Place.of_subject(subject), "Is the birth year right?", actor
    )
    dbsession.flush()
    client = as_user(app, world.users["coordinator"].email)
    assert counts(client)["Open queries to answer"] == 3
    assert _query_rows(client, "queries-to-answer") == [
        ["#1", "par01", "par01-0001", "Screening", "Informed consent"],
        [f"#{on_visit.number}", "par01", "par01-0001", "Screening", ""],
        [f"#{on_subject.number}", "par01", "par01-0001", "", ""],
    ]
    listing = client.get(STUDY + "@@worklist/queries-to-answer")
    for link in listing.html.select("table.worklist tbody tr td:first-child a"):
        assert client.get(link["href"]).status_int == 200


def world_query(dbsession, number: int) -> Query:
    """Query ``number`` of the study (the tests' one study)."""
    return dbsession.scalar(select(Query).where(Query.number == number))


def test_a_list_of_queries_is_paged_by_number(app, world, dbsession):
    subject = world.subjects["par01-0001"]
    place = queries.Place.of_subject(subject)
    actor = Actor(world.users["monitor"].id)
    for number in range(60):
        queries.raise_query_at(dbsession, place, f"Question {number}", actor)
    dbsession.flush()
    client = as_user(app, world.users["coordinator"].email)
    first = client.get(STUDY + "@@worklist/queries-to-answer")
    assert "61 to do" in first.text
    second = first.click(linkid=None, href="page=2")
    numbers = [row.select_one("td a").text for row in second.html.select("table.worklist tbody tr")]
    assert "Page 2 of 2" in second.text
    assert numbers == [f"#{number}" for number in range(52, 63)]
