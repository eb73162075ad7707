"""The views sites and monitors use all day, at the cost the benchmarks measured (bench/):
a save reads the same whatever it changes and writes little per value, evaluating while typing
costs a fixed number of queries, and the dashboard's rendering shortcuts give the same page."""

from __future__ import annotations

import pytest

from tests.factories import build_world, login

SUBJECT = "/acme/demo/subjects/par01-0001/"
DEMOGRAPHICS = SUBJECT + "screening/demographics/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def coordinator(testapp, world):
    assert login(testapp, world.users["coordinator"].email).status_int == 303
    return testapp


def save(app, query_counter, **values):
    """Save the demographics form as the page shows it, with ``values`` typed in; the SQL
    statements of the save alone."""
    form = app.get(DEMOGRAPHICS).forms["entry-form"]
    for name, value in values.items():
        form[name] = value
    query_counter.clear()
    assert form.submit().status_int == 303
    return list(query_counter)


def reads(statements):
    """The statements that read data (not the database clock)."""
    return [
        s
        for s in statements
        if s.lstrip().startswith("SELECT") and "strftime" not in s and "clock_timestamp" not in s
    ]


def test_a_save_reads_the_same_whatever_it_changes_and_writes_in_batches(
    coordinator, dbsession, query_counter
):
    save(coordinator, query_counter, initials="AB", birth_date="01/02/1980", sex="1")
    one = save(coordinator, query_counter, initials="CD")
    three = save(coordinator, query_counter, initials="EF", birth_date="02/02/1980", sex="2")
    assert len(reads(three)) == len(reads(one)), "\n".join(three)
    # events and changed rows are written in batches, on every database
    assert len(three) == len(one), "\n".join(three)
    # identity 3, the path 6 (which reads the visit and form instances the save then uses),
    # stored values 1 (open warnings only when the status row counts some, the subject's other
    # values only when an expression of the form reads them), the chain's lock (PostgreSQL
    # only), head, clock, insert and read back 4, the values' update 1, the status row 1,
    # signatures covering the form 1 (a reaction: review)
    chain_lock = dbsession.get_bind().dialect.name == "postgresql"
    assert len(one) <= 17 + chain_lock, "\n".join(one)
    clock = [s for s in three if "clock_timestamp" in s or "strftime" in s]
    assert len(clock) == 1  # the save's events share one reading of the database clock


def test_evaluating_while_typing_costs_a_fixed_number_of_queries(coordinator, query_counter):
    save(coordinator, query_counter, height_cm="180", weight_kg="72.5")
    token = coordinator.get(DEMOGRAPHICS).forms["entry-form"]["csrf_token"].value
    query_counter.clear()
    coordinator.post(
        DEMOGRAPHICS + "@@evaluate",
        {"height_cm": "181", "weight_kg": "80", "sex": "2", "csrf_token": token},
        headers=HTMX,
    )
    # identity 3, the path 6; the subject's other values are not read: no expression of the
    # form reaches them
    assert len(query_counter) <= 9, "\n".join(query_counter)


def test_the_dashboard_links_each_cell_to_its_form_with_its_status(coordinator):
    save(coordinator, query_counter=[], height_cm="180")
    page = coordinator.get("/acme/demo/subjects/@@dashboard")
    row = page.html.select_one("tbody tr")
    links = [(a["href"], " ".join(a.text.split())) for a in row.select("td a")]
    assert links[:3] == [
        (SUBJECT + "screening/consent/", "○ Not started"),
        (SUBJECT + "screening/demographics/", "◐ In progress"),
        (SUBJECT + "screening/vital_signs/", "○ Not started"),
    ]
    assert row.th.a["href"] == SUBJECT
    for href, _text in links:
        coordinator.get(href)  # each one opens
