"""Visit target dates: each scheduled visit's target date and window count from its anchor
(the inclusion date, or another visit's actual date); the casebook shows them, a visit whose
window closed without a date is overdue (on the casebook, the dashboard and the coordinator's
worklist), and a visit date outside its window is saved with a warning, or refused when the
study says so. "Today" is the day where the user is."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import webtest
from sqlalchemy import select

from datacapt import clock
from datacapt.accounts.services import grant_study_role
from datacapt.design.services import start_draft
from datacapt.ecrf import versions
from datacapt.models import AuditEvent, SubjectStatus, VisitInstance
from datacapt.permissions import StudyRole
from tests.factories import SETUP, build_world, login, make_subject, make_user, publish_definition

STUDY = "/acme/demo/"
SUBJECT = STUDY + "subjects/par01-0001/"
DASHBOARD = STUDY + "subjects/@@dashboard"
OVERDUE = STUDY + "@@worklist/overdue-visits"
#: Noon in Paris on 15 June 2026.
NOON = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
INCLUDED = "2026-05-01"
# The demo schedule: screening day -14 (window -7/+0), baseline day 0, week4 day 28 (±3),
# here counted from the baseline visit's actual date.


@pytest.fixture(autouse=True)
def now(monkeypatch):
    moment = {"now": NOON}
    monkeypatch.setattr(clock, "now", lambda: moment["now"])
    return moment


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    draft = versions.draft(dbsession, world.study)
    definition = versions.definition_of(draft)
    next(v for v in definition.schedule.visits if v.name == "week4").anchor = "baseline"
    publish_definition(dbsession, world.study, draft, definition, "Week 4 after baseline")
    dbsession.flush()
    return world


def as_user(app, email: str) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, email).status_int == 303
    return client


@pytest.fixture
def coordinator(app, world):
    return as_user(app, world.users["coordinator"].email)


def include(client: webtest.TestApp, subject: str = SUBJECT, on: str = INCLUDED) -> None:
    form = client.get(subject).forms["status-form"]
    form["status"] = "included"
    form["date"] = on
    form.submit().follow()


def casebook(client: webtest.TestApp) -> dict[str, str]:
    """Each visit row's header text, by visit title."""
    page = client.get(SUBJECT)
    return {
        row.th.a.text.strip(): " ".join(row.th.text.split())
        for row in page.html.select("table.casebook tbody tr")
    }


def date_visit(client: webtest.TestApp, visit: str, on: str, reason: str = "", status=303):
    form = client.get(SUBJECT + visit + "/").forms["visit-date-form"]
    form["visit_date"] = on
    if reason:
        form["reason"] = reason
    return form.submit(status=status)


def worklist_rows(client: webtest.TestApp) -> list[list[str]]:
    page = client.get(OVERDUE)
    return [
        [" ".join(cell.text.split()) for cell in row.select("td")]
        for row in page.html.select("table.worklist tbody tr")
    ]


def test_the_casebook_shows_targets_and_windows_and_flags_overdue_visits(coordinator, world):
    before = casebook(coordinator)
    assert "target" not in before["Screening"] and "Overdue" not in before["Screening"]
    include(coordinator)
    rows = casebook(coordinator)
    assert "day -14" in rows["Screening"]
    assert "target 2026-04-17 (2026-04-10 to 2026-04-17)" in rows["Screening"]
    assert "target 2026-05-01 (2026-05-01 to 2026-05-01)" in rows["Baseline"]
    assert "Overdue" in rows["Screening"] and "Overdue" in rows["Baseline"]
    # week 4 counts from the baseline visit, which has no date yet
    assert "target" not in rows["Week 4"] and "Overdue" not in rows["Week 4"]
    details = {
        div.dt.text: div.dd.text for div in coordinator.get(SUBJECT).html.select("dl.details div")
    }
    assert details["Included on"] == "2026-05-01"

    dashboard = coordinator.get(DASHBOARD).html
    marked = {row.th.a.text: "Overdue" in row.th.text for row in dashboard.select("tbody tr")}
    assert marked == {"par01-0001": True}
    assert worklist_rows(coordinator) == [
        ["par01", "par01-0001", "Screening ⏰ Overdue", "2026-04-17", "2026-04-10 to 2026-04-17"],
        ["par01", "par01-0001", "Baseline ⏰ Overdue", "2026-05-01", "2026-05-01 to 2026-05-01"],
    ]


def test_the_dashboard_s_overdue_mark_is_of_each_day(coordinator, now):
    """The dashboard's statement is kept per day (its overdue test holds the day's cutoffs)."""

    def overdue() -> bool:
        return "Overdue" in coordinator.get(DASHBOARD).html.select_one("tbody th").text

    include(coordinator)
    assert overdue()
    now["now"] = datetime(2026, 4, 10, 10, 0, tzinfo=UTC)  # before screening's window closed
    assert not overdue()
    now["now"] = NOON
    assert overdue()


def test_a_visit_date_moves_the_visits_counted_from_it(coordinator, world, dbsession):
    include(coordinator)
    saved = date_visit(coordinator, "baseline", INCLUDED).follow()
    assert "The visit date was saved." in saved.text
    assert "2026-05-01" in saved.html.select_one("#visit-timing").text
    rows = casebook(coordinator)
    assert "done 2026-05-01" in rows["Baseline"] and "Overdue" not in rows["Baseline"]
    # 28 days after baseline: 29 May, ±3 days; closed on 1 June, so overdue on 15 June
    assert "target 2026-05-29 (2026-05-26 to 2026-06-01)" in rows["Week 4"]
    assert "Overdue" in rows["Week 4"]

    refused = date_visit(coordinator, "baseline", "2026-05-03", status=422)
    assert "Give the reason for the change." in refused.text
    date_visit(coordinator, "baseline", "2026-05-03", reason="Typing error")
    assert "target 2026-05-31 (2026-05-28 to 2026-06-03)" in casebook(coordinator)["Week 4"]
    changed = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "visit.dated").order_by(AuditEvent.id)
    ).all()
    assert [(e.old_value, e.new_value, e.reason) for e in changed] == [
        (None, "2026-05-01", None),
        ("2026-05-01", "2026-05-03", "Typing error"),
    ]
    assert [row[2] for row in worklist_rows(coordinator)] == [
        "Screening ⏰ Overdue",
        "Week 4 ⏰ Overdue",
    ]


def test_a_date_outside_the_window_warns_or_is_refused_when_the_study_says_so(
    app, coordinator, world, dbsession
):
    include(coordinator)
    saved = date_visit(coordinator, "screening", "2026-04-20").follow()
    assert (
        "The visit date was saved, but it is outside the visit's window, from 2026-04-10 to "
        "2026-04-17." in saved.html.select_one("#status").text
    )
    assert "Outside the window" in casebook(coordinator)["Screening"]

    admin = as_user(app, world.users["study_admin"].email)
    settings = admin.get(STUDY + "@@settings").forms["settings-form"]
    settings["visit_window_blocking"] = True
    settings.submit().follow()
    assert (
        dbsession.scalar(
            select(AuditEvent.new_value).where(
                AuditEvent.action == "study.settings_changed",
                AuditEvent.field == "visit_window_blocking",
            )
        )
        == "true"
    )

    date_visit(coordinator, "baseline", INCLUDED)
    refused = date_visit(coordinator, "week4", "2026-06-10", status=422)
    error = refused.html.select_one("#field-visit_date-error")
    assert "outside the visit's window, from 2026-05-26 to 2026-06-01" in error.text
    assert refused.forms["visit-date-form"]["visit_date"].value == "2026-06-10"
    week4 = dbsession.scalar(
        select(VisitInstance).where(VisitInstance.visit == "week4", VisitInstance.repeat == 1)
    )
    assert week4 is None  # nothing saved
    date_visit(coordinator, "week4", "2026-05-30")
    assert "Overdue" not in casebook(coordinator)["Week 4"]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2026-06-16", "The date cannot be in the future."),
        ("16/06/2026", "Enter a date, for example 2026-01-31."),
        ("", "Enter a date, for example 2026-01-31."),
    ],
)
def test_a_bad_visit_date_is_refused_next_to_the_field(coordinator, world, typed, message):
    include(coordinator)
    refused = date_visit(coordinator, "baseline", typed, status=422)
    assert message in refused.html.select_one("#field-visit_date-error").text


def test_overdue_follows_the_users_day(app, world, dbsession, now):
    """At 23:30 UTC on 1 June it is already 2 June in Paris: week 4 (window closing on 1 June)
    is overdue for a Paris coordinator, not yet for one whose zone is UTC."""
    coordinator = as_user(app, world.users["coordinator"].email)
    include(coordinator)
    date_visit(coordinator, "baseline", INCLUDED)
    now["now"] = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
    assert "Overdue" in casebook(coordinator)["Week 4"]
    world.users["coordinator"].timezone = "UTC"
    dbsession.flush()
    assert "Overdue" not in casebook(coordinator)["Week 4"]
    assert "Week 4 ⏰ Overdue" not in [row[2] for row in worklist_rows(coordinator)]


def test_only_included_subjects_of_ones_sites_fall_overdue(app, world, dbsession):
    coordinator = as_user(app, world.users["coordinator"].email)
    include(coordinator)
    berlin = make_user(dbsession, dbsession.info["registry"], "berlin@example.org")
    grant_study_role(dbsession, berlin, world.study, StudyRole.COORDINATOR, [world.sites["ber01"]])
    dbsession.flush()
    include(as_user(app, "berlin@example.org"), STUDY + "subjects/ber01-0001/")
    assert [row[1] for row in worklist_rows(coordinator)] == ["par01-0001", "par01-0001"]
    form = coordinator.get(SUBJECT).forms["status-form"]
    form["status"], form["date"], form["reason"] = "withdrawn", "2026-06-01", "Moved away"
    form.submit().follow()
    assert worklist_rows(coordinator) == []
    assert "Overdue" not in casebook(coordinator)["Screening"]


def test_the_overdue_list_costs_the_same_statements_whatever_the_number_of_rows(
    app, world, dbsession, query_counter
):
    coordinator = as_user(app, world.users["coordinator"].email)
    include(coordinator)

    def statements() -> int:
        coordinator.get(OVERDUE)
        query_counter.clear()
        coordinator.get(OVERDUE)
        return len(query_counter)

    one = statements()
    for number in range(2, 40):
        subject = make_subject(
            dbsession, world.sites["par01"], f"par01-{number:04d}", SubjectStatus.INCLUDED
        )
        subject.included_on = date(2026, 5, number % 28 + 1)
    dbsession.flush()
    assert statements() == one
    page = coordinator.get(OVERDUE)
    assert "78 to do" in page.text  # screening and baseline of 39 subjects
    assert len(page.html.select("table.worklist tbody tr")) == 50


def test_the_designer_anchors_a_visit_on_another(app, world, dbsession):
    admin = as_user(app, world.users["study_admin"].email)
    schedule = STUDY + "design/schedule/"
    start_draft(dbsession, world.study, SETUP)
    dbsession.flush()
    oid = next(
        v.oid
        for v in versions.definition_of(versions.draft(dbsession, world.study)).schedule.visits
        if v.name == "baseline"
    )
    form = admin.get(schedule, {"visit": oid}).forms["visit-form"]
    form["anchor"] = "week4"  # week 4 already counts from baseline
    refused = form.submit(status=422)
    assert "Visits cannot count from each other in a circle." in refused.text
    form = refused.forms["visit-form"]
    form["anchor"] = "screening"
    form.submit().follow()
    dbsession.expire_all()
    visits = versions.definition_of(versions.draft(dbsession, world.study)).schedule.visits
    assert {v.name: v.anchor for v in visits} == {
        "screening": None,
        "baseline": "screening",
        "week4": "baseline",
    }
    page = admin.get(schedule)
    rows = {
        row.td.text: [cell.text for cell in row.select("td")]
        for row in page.html.select("tbody tr")
    }
    assert rows["week4"][3] == "baseline" and rows["screening"][3] == "Inclusion (day 0)"
