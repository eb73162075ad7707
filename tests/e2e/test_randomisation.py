"""Randomising from the casebook in a real browser: the demo's blinded minimisation waits for
the subject's sex on a complete Demographics form, then one click randomises, the number shows
without the arm, and the page shows the same randomisation again after a reload."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in


def test_a_coordinator_randomises_a_subject_from_the_casebook(page: Page, live_url: str):
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/subjects/enrol")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("heading", name=re.compile(r"Subject par01-\d{4}"))).to_be_visible()
    subject_url = page.url

    panel = page.locator("#randomisation-panel")
    expect(panel.get_by_role("heading", name="Randomisation")).to_be_visible()
    expect(panel).to_contain_text("Sex — Demographics")
    expect(panel.get_by_role("button", name="Randomise")).to_have_count(0)

    page.get_by_role("link", name="Demographics").first.click()
    page.get_by_label("Date of birth (required)").fill("28/02/1980")
    page.get_by_role("group", name="Sex (required)").get_by_label("Male", exact=True).check()
    page.get_by_label("Height").fill("178")
    page.get_by_label("Weight").fill("80.0")
    page.get_by_label("The form is complete").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".form-meta")).to_contain_text("Complete")

    page.goto(subject_url)
    button = panel.get_by_role("button", name="Randomise")
    expect(button).to_be_visible()
    button.dblclick()  # a double click randomises once
    settled(page)
    number = page.locator("#randomisation-number")
    expect(number).to_have_text(re.compile(r"^T-\d{4}$"))
    expect(page.locator("#randomisation-arm")).to_contain_text("Concealed")
    expect(panel).not_to_contain_text("Standard care")
    expect(panel).not_to_contain_text("New treatment")
    expect(panel.get_by_role("status")).to_contain_text("The subject was randomised.")
    shown = number.inner_text()

    page.reload()
    expect(page.locator("#randomisation-number")).to_have_text(shown)
    expect(panel.get_by_role("button", name="Randomise")).to_have_count(0)
