"""A coordinator's day, in a real browser and with the keyboard: enrol, fill, fix, change with a
reason, read the history."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in


def test_a_coordinator_enrols_and_fills_demographics(page: Page, live_url: str):
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/subjects/")
    page.get_by_role("link", name="Enrol a subject").click()
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("heading", name=re.compile(r"Subject par01-\d{4}"))).to_be_visible()
    subject_url = page.url

    page.get_by_role("link", name="Demographics").first.click()
    expect(page.get_by_role("heading", name=re.compile("Demographics"))).to_be_visible()

    # Keyboard only: type, one Tab to the next question, arrows for radio buttons.
    page.get_by_label("Initials").focus()
    page.keyboard.type("JM")
    page.keyboard.press("Tab")  # the date of birth (history is Alt+Shift+H, not a Tab stop)
    expect(page.get_by_label("Date of birth (required)")).to_be_focused()
    page.keyboard.type("31/02/1980")  # not a date
    sex = page.get_by_role("group", name="Sex (required)")
    sex.get_by_label("Male", exact=True).focus()
    page.keyboard.press("ArrowDown")  # Female: the pregnancy question appears
    settled(page)
    pregnancy = page.get_by_role("group", name="Is the participant pregnant? (required)")
    expect(pregnancy).to_be_visible()
    pregnancy.get_by_label("No", exact=True).check()
    page.get_by_label("Height").fill("165")
    page.get_by_label("Weight").fill("60.0")
    page.get_by_label("Weight").press("Tab")
    settled(page)
    expect(page.locator("#item-bmi")).to_have_text("22.0")  # calculated on the server

    page.get_by_label("The form is complete").check()
    page.get_by_role("button", name="Save", exact=True).press("Enter")
    settled(page)
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("This date does not exist.")
    expect(page.get_by_label("Date of birth (required)")).to_be_focused()  # the first error
    expect(page.get_by_label("Weight")).to_have_value("60.0")  # nothing typed was lost
    page.get_by_label("Date of birth (required)").fill("28/02/1980")
    with page.expect_navigation():  # saved: HX-Redirect reloads the form (wait, or act on the old)
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Saved.")
    expect(page.locator(".form-meta")).to_contain_text("Complete")

    # A completed form needs a reason to change.
    page.get_by_label("Weight").fill("62.0")
    page.get_by_role("button", name="Save", exact=True).click()
    settled(page)
    expect(page.locator(".error-summary")).to_contain_text("give the reason")
    page.get_by_label("Reason for change").fill("Weighed again with shoes off")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Saved.")

    weight = page.locator("#block-I\\.WEIGHT_KG")
    page.wait_for_load_state()  # the saved page came by HX-Redirect: htmx must be running
    weight.locator("summary", has_text="History").click()
    history = weight.locator(".history")
    expect(history.locator("tbody tr")).to_have_count(2)
    expect(history.locator("tbody tr").last).to_contain_text("60.0")
    expect(history.locator("tbody tr").last).to_contain_text("62.0")
    expect(history.locator("tbody tr").last).to_contain_text("Weighed again with shoes off")
    expect(history.locator("tbody tr").last).to_contain_text("Camille Coordinator")

    page.goto(subject_url)
    expect(page.locator("table.casebook")).to_contain_text("Complete")
