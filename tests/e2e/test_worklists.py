"""Worklists in a real browser: a coordinator leaves a form half done, finds it counted under
"Forms to complete" on the study's page (loaded by htmx), opens the list and goes back to the
form from it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_sign_in import sign_in


def forms_to_complete(page: Page) -> int:
    item = page.locator("#worklist-forms-to-complete")
    expect(item).to_be_visible()
    return int(item.locator(".count").inner_text())


def test_a_coordinator_finds_a_half_done_form_in_her_worklist(page: Page, live_url: str):
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(live_url + "/acme/demo/")
    before = forms_to_complete(page)
    expect(page.locator("#worklists")).not_to_contain_text("Forms awaiting SDV")

    page.goto(live_url + "/acme/demo/subjects/")
    page.get_by_role("link", name="Enrol a subject").click()
    page.get_by_role("button", name="Enrol").click()
    heading = page.get_by_role("heading", name=re.compile(r"Subject par01-\d{4}"))
    expect(heading).to_be_visible()
    label = heading.inner_text().split()[-1]
    page.get_by_role("link", name="Vital signs").first.click()
    page.get_by_label("Systolic blood pressure").fill("120")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Saved.")

    page.goto(live_url + "/acme/demo/")
    assert forms_to_complete(page) == before + 1
    page.locator("#worklist-forms-to-complete").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Forms to complete")).to_be_visible()
    expect(page.locator("#worklist-total")).to_contain_text(f"{before + 1} to do")
    row = page.locator("table.worklist tbody tr", has_text=label)
    expect(row).to_contain_text("In progress")
    row.get_by_role("link", name="Vital signs").click()
    expect(page.get_by_role("heading", name=re.compile("Vital signs"))).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/subjects/{label}/screening/vital_signs/$"))
    expect(page.get_by_label("Systolic blood pressure")).to_have_value("120")
