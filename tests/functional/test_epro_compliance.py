"""The ePRO compliance page: counts and a list by standing, filtered by site, questionnaire and
subject, narrowed to the reader's sites, in a fixed number of statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from datacapt.cli.demo_design import epro_definition
from datacapt.ecrf.versions import draft, published_design
from datacapt.epro import services
from datacapt.models import OccurrenceStatus, SubjectStatus
from tests.factories import SETUP, build_world, login, publish_definition

PAGE = "/acme/demo/reports/@@epro-compliance"


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    publish_definition(
        dbsession, world.study, draft(dbsession, world.study), epro_definition(), "ePRO"
    )
    return world


def occurrence(dbsession, world, label, opens, closes, status=None, completed=None):
    now = datetime.now(UTC)
    row = services.schedule_occurrence(
        dbsession,
        world.subjects[label],
        published_design(dbsession, world.study).definition,
        visit="baseline",
        form="wellbeing",
        opens_at=now + timedelta(days=opens),
        closes_at=now + timedelta(days=closes),
        actor=SETUP,
    )
    if status is not None:
        row.status = status
    if completed is not None:
        row.completed_at = now + timedelta(days=completed)
    dbsession.flush()
    return row


def counts(page):
    return {
        cell["data-count"]: int(cell.text) for cell in page.html.select("#compliance-counts td")
    }


def standings(page):
    return sorted(
        (row.find("td").text, row.find(attrs={"data-standing": True})["data-standing"])
        for row in page.html.select("#compliance-list tbody tr")
    )


def a_mix(dbsession, world):
    occurrence(dbsession, world, "par01-0001", -1, 6)  # due
    occurrence(dbsession, world, "par01-0001", -5, -2, OccurrenceStatus.COMPLETED, -3)  # on time
    occurrence(dbsession, world, "par01-0001", -9, -6, OccurrenceStatus.COMPLETED, -1)  # late
    occurrence(dbsession, world, "par01-0001", -9, -6, OccurrenceStatus.MISSED)  # missed
    occurrence(dbsession, world, "par01-0001", 3, 9)  # upcoming
    occurrence(dbsession, world, "ber01-0001", -1, 6)  # another site: due, or opted out
    world.subjects["ber01-0001"].status = SubjectStatus.WITHDRAWN
    dbsession.flush()


def test_counts_and_list_by_standing_for_every_site(testapp, dbsession, world):
    a_mix(dbsession, world)
    login(testapp, world.users["data_manager"].email)
    page = testapp.get(PAGE)
    assert counts(page) == {
        "due": 1,
        "completed": 2,
        "on_time": 1,
        "late": 1,
        "missed": 1,
        "opted_out": 1,
        "upcoming": 1,
    }
    assert ("ber01-0001", "opted_out") in standings(page)
    # filters: site, questionnaire, subject
    by_site = testapp.get(PAGE, {"site": "ber01"})
    assert standings(by_site) == [("ber01-0001", "opted_out")]
    by_subject = testapp.get(PAGE, {"subject": "par01-0001", "questionnaire": "wellbeing"})
    assert counts(by_subject)["opted_out"] == 0 and counts(by_subject)["due"] == 1
    refused = testapp.get(PAGE, {"questionnaire": "nonsense", "site": "zzz"}, status=422)
    assert refused.html.find(id="field-questionnaire-error")
    assert refused.html.find(id="field-site-error")
    # reached from the reports page
    assert testapp.get("/acme/demo/reports/").html.find(id="epro-compliance-link")


def test_site_staff_see_their_sites_only(testapp, dbsession, world):
    a_mix(dbsession, world)
    login(testapp, world.users["coordinator"].email)
    page = testapp.get(PAGE)
    assert {subject for subject, _s in standings(page)} == {"par01-0001"}
    assert counts(page)["opted_out"] == 0
    # another site's subject, asked for: nothing (the site is not offered either)
    assert standings(testapp.get(PAGE, {"subject": "ber01-0001"})) == []
    testapp.get(PAGE, {"site": "ber01"}, status=422)


def test_administrators_without_a_study_role_are_refused(testapp, dbsession, world):
    login(testapp, world.users["tenant_admin"].email)
    testapp.get(PAGE, status=403)
    testapp.reset()
    login(testapp, world.users["foreign"].email)
    testapp.get(PAGE, status=404)


def test_the_page_takes_a_fixed_number_of_statements(testapp, dbsession, world, query_counter):
    login(testapp, world.users["data_manager"].email)
    occurrence(dbsession, world, "par01-0001", -1, 6)
    query_counter.clear()
    testapp.get(PAGE)
    few = len(query_counter)
    for number in range(12):
        label = "par01-0001" if number % 2 else "ber01-0001"
        occurrence(dbsession, world, label, -number, 3, OccurrenceStatus.COMPLETED, -0.1)
    query_counter.clear()
    page = testapp.get(PAGE)
    assert counts(page)["on_time"] == 12
    assert len(query_counter) == few, "\n".join(query_counter)
