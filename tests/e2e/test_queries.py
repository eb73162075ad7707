"""The review loop in a real browser: the monitor raises a query on a field, the coordinator
answers by correcting the value (the answer is the reason), the monitor closes it and verifies
the form, the data manager locks it, the investigator signs it with the password; the history
tells the whole story."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in

FORM = "/acme/demo/subjects/par01-0003/screening/demographics/"


def sign_out(page: Page) -> None:
    page.context.clear_cookies()


def open_form_as(page: Page, live_url: str, email: str) -> None:
    sign_in(page, live_url, email)
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(live_url + FORM)


def test_query_answer_close_verify_lock_sign(page: Page, live_url: str):
    open_form_as(page, live_url, "coordinator@acme.example")
    page.get_by_role("group", name="Sex (required)").get_by_label("Male", exact=True).check()
    page.get_by_label("Height").fill("175")
    page.get_by_label("Weight").fill("70.0")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Saved.")
    sign_out(page)

    open_form_as(page, live_url, "monitor@acme.example")
    page.get_by_role("link", name=re.compile("Raise a query — Height")).click()
    settled(page)
    panel = page.locator("#query-panel")
    panel.get_by_label("New query").fill("The source says 165 cm. Please check.")
    panel.get_by_role("button", name="Raise the query").click()
    settled(page)
    expect(panel).to_contain_text("The source says 165 cm.")
    expect(page.locator("#query-badge-height_cm")).to_contain_text("1 open query")
    expect(page.locator("#status")).to_contain_text("The query was raised.")
    sign_out(page)

    open_form_as(page, live_url, "coordinator@acme.example")
    page.get_by_role("link", name=re.compile("1 open query — Height")).click()
    settled(page)
    panel = page.locator("#query-panel")
    panel.get_by_label("Your answer").fill("Transcription error, corrected from the chart.")
    panel.get_by_label("Corrected value (optional)").fill("165")
    panel.get_by_role("button", name="Answer").click()
    expect(page.locator("#status")).to_contain_text("The query was answered.")
    expect(page.get_by_label("Height")).to_have_value("165")
    expect(page.locator("#query-badge-height_cm")).to_contain_text("1 answered query")
    sign_out(page)

    open_form_as(page, live_url, "monitor@acme.example")
    page.get_by_role("link", name=re.compile("1 answered query — Height")).click()
    settled(page)
    panel = page.locator("#query-panel")
    panel.get_by_label("Reason for closing").fill("Confirmed against the source.")
    panel.get_by_role("button", name="Close the query").click()
    settled(page)
    expect(page.locator("#query-badge-height_cm")).to_contain_text("1 closed query")
    expect(panel).to_contain_text("Closed")

    # The history tells the whole story of the value.
    page.locator("#block-I\\.HEIGHT_CM details.history-toggle summary").click()
    settled(page)
    history = page.locator("#block-I\\.HEIGHT_CM .history")
    expect(history).to_contain_text("Transcription error, corrected from the chart.")
    expect(history).to_contain_text("Query: Closed")

    page.get_by_role("button", name="Verify everything awaiting here").click()
    expect(page.locator(".form-meta")).to_contain_text("Verified")
    sign_out(page)

    open_form_as(page, live_url, "data-manager@acme.example")
    page.get_by_role("button", name="Lock", exact=True).click()
    expect(page.locator(".form-meta")).to_contain_text("Locked")
    sign_out(page)

    open_form_as(page, live_url, "investigator@acme.example")
    expect(page.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    page.get_by_role("link", name="Sign this form").click()
    page.get_by_label("Your password").fill("Demo-password-2026")
    page.get_by_role("button", name="Sign").click()
    expect(page.locator("#status")).to_contain_text("1 signature recorded.")
    expect(page.locator(".form-meta")).to_contain_text("Signed")
    page.locator("#block-I\\.HEIGHT_CM details.history-toggle summary").click()
    settled(page)
    history = page.locator("#block-I\\.HEIGHT_CM .history")
    for step in ("Transcription error", "Query: Closed", "Source verified", "Locked", "Signed"):
        expect(history).to_contain_text(step)
