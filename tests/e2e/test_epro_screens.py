"""On a 360 px phone, a subject of a long study answers a questionnaire shown one question per
screen over two sessions: the first through the link their site handed them, where they set a
password; the second signed in with their login and password. Branching skips a question,
Back returns, each step is saved and the second session resumes where the first stopped."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from datacapt.design import services as design
from datacapt.ecrf.versions import published_design
from datacapt.epro import services
from datacapt.models import Study, Subject
from datacapt.studies.services import SETUP
from tests.e2e.test_epro import fits
from tests.e2e.test_sign_in import sign_in
from tests.factories import publish_definition

WIDTH = 360
LABEL = "par01-0002"
PASSWORD = "herons fly over the marsh"


def _republish(database: str, *, one_per_screen: bool, occurrence: bool) -> None:
    """A new version of the demo design with the questionnaire shown one question per screen
    (or not), the study's subject accounts turned on (or off), and an occurrence open now."""
    engine = create_engine(database)
    with Session(engine) as dbsession:
        study = dbsession.scalar(select(Study).where(Study.code == "demo"))
        definition = copy.deepcopy(published_design(dbsession, study).definition)
        definition.form("wellbeing").one_per_screen = one_per_screen
        version = design.working_draft(dbsession, study, SETUP)  # an earlier test may leave one
        publish_definition(dbsession, study, version, definition, "e2e: one question per screen")
        study.epro_accounts = one_per_screen
        if occurrence:
            subject = dbsession.scalar(
                select(Subject).where(Subject.study_id == study.id, Subject.label == LABEL)
            )
            now = datetime.now(UTC)
            services.schedule_occurrence(
                dbsession,
                subject,
                definition,
                visit="baseline",
                form="wellbeing",
                opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=7),
                actor=SETUP,
            )
        dbsession.commit()
    engine.dispose()


@pytest.fixture
def long_study(live_url: str, live_database: str) -> Iterator[None]:
    _republish(live_database, one_per_screen=True, occurrence=True)
    yield
    _republish(live_database, one_per_screen=False, occurrence=False)


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": WIDTH, "height": 740}, locale="en-GB", timezone_id="Europe/Paris"
    )
    yield context.new_page()
    context.close()


def test_one_question_per_screen_over_two_sessions_with_an_account(
    long_study: None, page: Page, phone: Page, live_url: str
):
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/subjects/{LABEL}/@@epro-link")
    page.get_by_role("button", name="Make a new link").click()
    link = page.get_by_role("textbox", name="Link").input_value()

    # first session: by the link; a password set; two questions answered
    phone.goto(link)
    phone.get_by_role("button", name="Start").click()
    phone.get_by_role("link", name="Your account: sign in with a password next time").click()
    phone.get_by_label("New password").fill(PASSWORD)
    phone.get_by_label("The same password again").fill(PASSWORD)
    phone.get_by_role("button", name="Set my password").click()
    login = phone.locator("#subject-login").inner_text()
    assert len(login) == 11
    fits(phone)
    phone.get_by_role("link", name="Back to your questionnaires").click()
    phone.get_by_role("link", name="How are you today?").click()
    expect(phone.get_by_text("Question 1 of 2")).to_be_visible()
    fits(phone)
    expect(phone.locator("#one-question")).to_be_focused()
    phone.get_by_role("button", name="Next").click()  # unanswered: said, nothing lost
    expect(phone.get_by_role("alert")).to_contain_text("Please answer this question.")
    phone.get_by_role("radio", name="Yes").check()
    phone.get_by_role("button", name="Next").click()
    expect(phone.get_by_text("Question 2 of 3")).to_be_visible()  # the branching's question
    expect(phone.get_by_role("group", name="How strong was the pain?")).to_be_visible()
    expect(phone.get_by_role("group", name="Did you have pain today?")).to_have_count(0)
    fits(phone)
    phone.get_by_role("radio", name="Moderate").check()
    phone.get_by_role("button", name="Save and continue later").click()
    expect(phone.get_by_role("status")).to_contain_text("Your answers are saved.")

    # second session: signed in with the account; resumed at the first question left
    phone.context.clear_cookies()
    phone.goto(f"{live_url}/p/@@login")
    expect(phone.get_by_role("heading", name="Sign in to your questionnaires")).to_be_visible()
    fits(phone)
    phone.get_by_label("Your login").fill(login)
    phone.get_by_label("Password").fill("not my password")
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.get_by_role("alert")).to_contain_text("not right")
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    phone.get_by_role("link", name="How are you today?").click()
    expect(phone.get_by_text("Question 3 of 3")).to_be_visible()
    expect(phone.get_by_role("group", name="How did you sleep?")).to_be_visible()
    phone.get_by_role("button", name="Back").click()
    expect(phone.get_by_role("radio", name="Moderate")).to_be_checked()
    phone.get_by_role("button", name="Next").click()
    phone.get_by_role("radio", name="Well").check()
    phone.get_by_role("button", name="Submit my answers").click()
    expect(phone.get_by_role("heading", name="Thank you")).to_be_visible()

    page.goto(f"{live_url}/acme/demo/subjects/{LABEL}/baseline/wellbeing/")
    expect(page.get_by_role("radio", name="Moderate")).to_be_checked()
    expect(page.get_by_role("radio", name="Well")).to_be_checked()
