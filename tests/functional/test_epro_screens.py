"""One question per screen: Next/Back over the shown questions only (branching), each step
saved, resumed at the first question left blank, with plain posts and with htmx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from datacapt.cli.demo_design import epro_definition
from datacapt.ecrf import versions
from datacapt.ecrf.versions import draft, published_design
from datacapt.epro import services
from datacapt.models import EproOccurrence, ItemValue, OccurrenceStatus
from tests.factories import SETUP, build_world, login, publish_definition


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    definition = epro_definition()
    definition.form("wellbeing").one_per_screen = True
    publish_definition(dbsession, world.study, draft(dbsession, world.study), definition, "ePRO")
    return world


@pytest.fixture
def occurrence(dbsession, world):
    now = datetime.now(UTC)
    return services.schedule_occurrence(
        dbsession,
        world.subjects["par01-0001"],
        published_design(dbsession, world.study).definition,
        visit="baseline",
        form="wellbeing",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=7),
        actor=SETUP,
    )


def enter(testapp, dbsession, world):
    handed = services.hand_link(dbsession, world.subjects["par01-0001"], SETUP)
    page = testapp.get(f"/p/@@start/{handed.token}")
    return page.forms["start-form"].submit(status=303).follow()


def shown_items(page):
    return [i["name"] for i in page.html.find(id="one-question").find_all("input") if i.get("name")]


def saved(dbsession):
    dbsession.expire_all()
    return {row.item_oid: row.value for row in dbsession.scalars(select(ItemValue))}


def test_one_question_at_a_time_with_branching_back_and_resume(
    testapp, dbsession, world, occurrence
):
    enter(testapp, dbsession, world)
    page = testapp.get(f"/p/s/{occurrence.id}/")
    assert set(shown_items(page)) == {"pain"}
    assert "Question 1 of 2" in page.text  # the pain score hidden while pain is unanswered
    assert page.html.find(id="one-question").has_attr("data-focus-on-load")
    assert page.html.find("label", attrs={"for": None}) is not None
    refused = page.forms["questionnaire-form"].submit("action", value="next", status=422)
    assert refused.html.find(id="item-pain")["aria-invalid"] == "true"
    form = refused.forms["questionnaire-form"]
    form["pain"] = "0"  # no pain: the score is skipped
    page = form.submit("action", value="next").follow()
    assert set(shown_items(page)) == {"sleep"}
    assert saved(dbsession) == {"I.PAIN": "0"}  # each step saved
    page = page.forms["questionnaire-form"].submit("action", value="back").follow()
    assert set(shown_items(page)) == {"pain"}
    form = page.forms["questionnaire-form"]
    form["pain"] = "1"  # now the score is asked
    page = form.submit("action", value="next").follow()
    assert set(shown_items(page)) == {"pain_score"} and "Question 2 of 3" in page.text
    form = page.forms["questionnaire-form"]
    form["pain_score"] = "3"
    form.submit("action", value="later").follow()
    assert saved(dbsession) == {"I.PAIN": "1", "I.PAIN_SCORE": "3"}

    # a new session resumes at the first question left blank
    testapp.reset()
    enter(testapp, dbsession, world)
    page = testapp.get(f"/p/s/{occurrence.id}/")
    assert set(shown_items(page)) == {"sleep"} and "Question 3 of 3" in page.text
    form = page.forms["questionnaire-form"]
    assert "submit" in [b.get("value") for b in page.html.find_all("button")]
    form["sleep"] = "2"
    done = form.submit("action", value="submit").follow()
    assert "Thank you" in done.text
    assert saved(dbsession) == {"I.PAIN": "1", "I.PAIN_SCORE": "3", "I.SLEEP": "2"}
    assert dbsession.get(EproOccurrence, occurrence.id).status is OccurrenceStatus.COMPLETED


def test_with_htmx_a_step_navigates_by_hx_redirect(testapp, dbsession, world, occurrence):
    enter(testapp, dbsession, world)
    page = testapp.get(f"/p/s/{occurrence.id}/")
    assert page.html.find(id="questionnaire-form")["hx-boost"] == "true"
    form = page.forms["questionnaire-form"]
    form["pain"] = "1"
    headers = {"HX-Request": "true", "HX-Boosted": "true"}
    moved = form.submit("action", value="next", headers=headers, status=204)
    assert moved.headers["HX-Redirect"].endswith(f"/p/s/{occurrence.id}/?page=1")
    refused = (
        testapp.get(moved.headers["HX-Redirect"])
        .forms["questionnaire-form"]
        .submit("action", value="next", headers=headers, status=422)
    )
    assert "Please answer this question." in refused.text


def test_submit_on_an_answer_that_shows_more_questions_goes_on(
    testapp, dbsession, world, occurrence
):
    """The screen said Submit (nothing more was shown) but this answer shows a question."""
    enter(testapp, dbsession, world)
    page = testapp.get(f"/p/s/{occurrence.id}/")
    form = page.forms["questionnaire-form"]
    form["pain"] = "1"
    response = form.submit("action", value="submit")
    assert response.location.endswith("?page=1")
    assert dbsession.get(EproOccurrence, occurrence.id).status is not OccurrenceStatus.COMPLETED


def test_the_designer_sets_one_question_per_screen(testapp, dbsession, registry):
    world = build_world(dbsession, registry)
    login(testapp, world.users["study_admin"].email)
    page = testapp.get("/acme/demo/design/forms/demographics/")
    form = page.forms["form-settings"]
    assert not form["one_per_screen"].checked
    form["epro"].checked = True
    form["one_per_screen"].checked = True
    form.submit().follow()
    saved = versions.definition_of(draft(dbsession, world.study))
    assert saved.form("demographics").one_per_screen
    assert not saved.form("vital_signs").one_per_screen
