"""Dates in a real browser: a date item's calendar and "Today" button write the date in the
item's own order, the saved date comes back in it, and a timestamp names its zone on hover."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in

ZONE = "Europe/Paris"  # the testing installation's zone; the demo's users keep it


def open_new_demographics(page: Page, live_url: str) -> None:
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/subjects/")
    page.get_by_role("link", name="Enrol a subject").click()
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("heading", name=re.compile(r"Subject par01-\d{4}"))).to_be_visible()
    page.get_by_role("link", name="Demographics").first.click()
    expect(page.get_by_role("heading", name=re.compile("Demographics"))).to_be_visible()


def test_today_and_the_calendar_write_the_date_in_the_items_order(page: Page, live_url: str):
    open_new_demographics(page, live_url)
    birth = page.get_by_label("Date of birth (required)")
    expect(birth).to_have_attribute("placeholder", "DD/MM/YYYY")

    page.get_by_role("button", name="Today — Date of birth").click()
    today = datetime.now(ZoneInfo(ZONE)).date()
    expect(birth).to_have_value(f"{today:%d/%m/%Y}")

    page.get_by_label("Pick the date of: Date of birth").fill("1970-03-15")
    expect(birth).to_have_value("15/03/1970")
    settled(page)
    page.get_by_label("Male", exact=True).check()
    page.get_by_label("Height").fill("180")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Saved.")
    expect(page.get_by_label("Date of birth (required)")).to_have_value("15/03/1970")

    block = page.locator("#block-I\\.BIRTH_DATE")
    page.wait_for_load_state()
    block.locator("summary", has_text="History").click()
    row = block.locator(".history tbody tr").last
    expect(row).to_contain_text("15/03/1970")
    moment = row.locator("time")
    expect(moment).to_have_attribute("title", re.compile(r"^Europe/Paris \(UTC\+0[12]:00\)$"))
    expect(moment).to_have_text(re.compile(r"^\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d$"))


def test_a_designer_allows_partial_dates_and_the_preview_takes_uk_unk(page: Page, live_url: str):
    sign_in(page, live_url, "study-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/design/")
    start = page.get_by_role("button", name="Start a new draft")
    if start.count():  # another test of the session may have started it
        start.click()
    expect(page.get_by_text(re.compile(r"You are editing draft version \d+\."))).to_be_visible()
    page.goto(f"{live_url}/acme/demo/design/forms/demographics/")
    page.get_by_role("link", name="Edit birth_date").click()
    settled(page)
    page.get_by_label("Dates may be partial").check()
    page.get_by_role("button", name="Save the question").click()
    settled(page)
    expect(page.locator("#status")).to_contain_text("Saved.")

    page.get_by_role("link", name="Preview this form as sites will see it").click()
    birth = page.get_by_label("Date of birth (required)")
    expect(page.locator("#block-I\\.BIRTH_DATE")).to_contain_text("for example UK/03/1970")
    birth.fill("UK/03/1970")
    with page.expect_response(lambda response: "@@preview" in response.url):
        birth.press("Tab")
    settled(page)
    expect(birth).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#item-birth_date-message")).to_have_text("")
    birth.fill("15/UNK/1970")
    with page.expect_response(lambda response: "@@preview" in response.url):
        birth.press("Tab")
    settled(page)
    expect(page.locator("#item-birth_date-message")).to_contain_text("the day is unknown too")
    expect(birth).to_have_attribute("aria-invalid", "true")

    # Leave the study as the browser tests after this one expect it: no draft open.
    page.goto(f"{live_url}/acme/demo/design/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Discard the draft").click()
    expect(page.get_by_role("button", name="Start a new draft")).to_be_visible()
