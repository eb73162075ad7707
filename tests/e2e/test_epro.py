"""A subject answers the demo questionnaire on a 360 px phone over two sessions: the site hands
a link, the subject opens it, presses Start, answers page 1, sees the branching question of
page 2, leaves; a second link later, they finish and submit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_phone import SMALL_TARGETS, page_width
from tests.e2e.test_sign_in import sign_in

WIDTH = 360
SUBJECT = "/acme/demo/subjects/par01-0001/"


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": WIDTH, "height": 740}, locale="en-GB", timezone_id="Europe/Paris"
    )
    yield context.new_page()
    context.close()


def handed_link(page: Page, live_url: str) -> str:
    """A fresh link, as the coordinator hands it at the site."""
    page.goto(live_url + SUBJECT)
    page.get_by_role("link", name="Questionnaire link").click()
    page.get_by_role("button", name="Make a new link").click()
    expect(page.get_by_role("img", name="QR code of the link")).to_be_visible()
    return page.get_by_role("textbox", name="Link").input_value()


def fits(phone: Page) -> None:
    assert page_width(phone) <= WIDTH
    assert phone.evaluate(SMALL_TARGETS) == []


def test_a_subject_answers_a_branching_questionnaire_over_two_sessions(
    page: Page, phone: Page, live_url: str
):
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()

    phone.goto(handed_link(page, live_url))
    expect(phone.get_by_role("heading", name="Your questionnaire")).to_be_visible()
    fits(phone)
    phone.get_by_role("button", name="Start").click()
    expect(phone.get_by_role("heading", name="Your questionnaires")).to_be_visible()
    assert "@@start" not in phone.url
    phone.get_by_role("link", name="How are you today?").click()
    expect(phone.get_by_text("Page 1 of 2")).to_be_visible()
    fits(phone)
    phone.get_by_role("button", name="Next").click()  # unanswered: refused, said next to it
    expect(phone.get_by_role("alert")).to_contain_text("Please answer this question.")
    phone.get_by_role("radio", name="Yes").check()
    phone.get_by_role("button", name="Next").click()
    expect(phone.get_by_text("Page 2 of 2")).to_be_visible()
    expect(phone.get_by_role("group", name="How strong was the pain?")).to_be_visible()
    fits(phone)
    phone.get_by_role("radio", name="Moderate").check()
    phone.get_by_role("button", name="Save and continue later").click()
    expect(phone.get_by_role("status")).to_contain_text("Your answers are saved.")

    phone.context.clear_cookies()  # the phone is put away; the session is gone
    phone.goto(handed_link(page, live_url))
    phone.get_by_role("button", name="Start").click()
    phone.get_by_role("link", name="How are you today?").click()
    expect(phone.get_by_role("radio", name="Yes")).to_be_checked()
    phone.get_by_role(
        "radio", name="No", exact=True
    ).check()  # no pain after all: page 2 asks no more
    phone.get_by_role("button", name="Next").click()
    expect(phone.get_by_text("Page 2 of 2")).to_be_visible()
    expect(phone.get_by_role("group", name="How strong was the pain?")).to_be_hidden()
    phone.get_by_role("radio", name="Well").check()
    phone.get_by_role("button", name="Submit my answers").click()
    expect(phone.get_by_role("heading", name="Thank you")).to_be_visible()

    page.goto(live_url + SUBJECT + "baseline/wellbeing/")
    expect(page.get_by_role("radio", name="No", exact=True)).to_be_checked()
    expect(page.get_by_role("radio", name="Well")).to_be_checked()
