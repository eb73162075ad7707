"""Queries on a whole visit and on the subject in a real browser, raised and answered in the
panels of the visit and casebook pages; then the data manager locks the visit and a form not
started yet in it takes no entry."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in

SUBJECT = "/acme/demo/subjects/par01-0002/"
SCREENING = SUBJECT + "screening/"


def go_as(page: Page, live_url: str, email: str, path: str) -> None:
    page.context.clear_cookies()
    sign_in(page, live_url, email)
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(live_url + path)


def raise_here(page: Page, message: str) -> None:
    panel = page.locator(".node-queries")
    panel.get_by_label("New query").fill(message)
    panel.get_by_role("button", name="Raise the query").click()
    settled(page)
    expect(panel).to_contain_text(message)
    expect(page.locator("#status")).to_contain_text("The query was raised.")


def test_visit_and_subject_queries_then_a_locked_visit(page: Page, live_url: str):
    go_as(page, live_url, "coordinator@acme.example", SCREENING + "demographics/")
    page.get_by_role("group", name="Sex (required)").get_by_label("Female", exact=True).check()
    page.get_by_label("Height").fill("162")
    page.get_by_label("Weight").fill("58.0")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Saved.")

    go_as(page, live_url, "monitor@acme.example", SCREENING)
    expect(page.get_by_role("heading", name="Queries on the whole visit")).to_be_visible()
    raise_here(page, "Visit date missing in the source.")
    page.goto(live_url + SUBJECT)
    expect(page.get_by_role("heading", name="Queries on the subject")).to_be_visible()
    raise_here(page, "Consent form copy missing.")

    go_as(page, live_url, "coordinator@acme.example", SUBJECT)
    panel = page.locator(".node-queries")
    panel.get_by_label("Your answer").fill("Copy filed in the investigator site file.")
    panel.get_by_role("button", name="Answer").click()
    settled(page)
    expect(page.locator("#status")).to_contain_text("The query was answered.")
    expect(panel).to_contain_text("Copy filed in the investigator site file.")
    expect(panel.get_by_role("button", name="Answer")).to_have_count(0)

    go_as(page, live_url, "monitor@acme.example", "/acme/demo/queries/?subject=par01-0002")
    rows = page.locator("table.queries tbody tr")
    expect(rows.filter(has_text="the whole visit")).to_have_count(1)
    expect(rows.filter(has_text="the subject")).to_have_count(1)
    page.goto(live_url + SCREENING)
    panel = page.locator(".node-queries")
    panel.get_by_label("Reason for closing").fill("Date found in the nurse's notes.")
    panel.get_by_role("button", name="Close the query").click()
    settled(page)
    expect(page.locator("#status")).to_contain_text("The query was closed.")

    go_as(page, live_url, "data-manager@acme.example", SCREENING)
    page.get_by_role("button", name="Lock", exact=True).click()
    expect(page.locator(".visit-state")).to_contain_text("Locked")

    go_as(page, live_url, "coordinator@acme.example", SCREENING + "vital_signs/")
    expect(page.locator("#closed-by-state")).to_contain_text("is frozen, locked or signed")
    expect(page.get_by_role("button", name="Save", exact=True)).to_have_count(0)
