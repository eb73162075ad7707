"""Visit dates in a real browser: a coordinator includes a subject two months back, sees the
targets and the overdue visits on the casebook, finds them in her "Overdue visits" worklist,
follows one to the visit and records its date."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.e2e.test_sign_in import sign_in


def test_a_coordinator_records_an_overdue_visit_from_her_worklist(page: Page, live_url: str):
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    included = today - timedelta(days=60)
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(live_url + "/acme/demo/subjects/")
    page.get_by_role("link", name="Enrol a subject").click()
    page.get_by_role("button", name="Enrol").click()
    heading = page.get_by_role("heading", name=re.compile(r"Subject par01-\d{4}"))
    expect(heading).to_be_visible()
    label = heading.inner_text().split()[-1]

    page.get_by_label("New status").select_option(label="Included")
    page.get_by_label("Date", exact=True).fill(included.isoformat())
    page.get_by_role("button", name="Change the status").click()
    expect(page.locator("#status")).to_contain_text("The status was changed.")
    baseline = page.locator(
        "table.casebook tbody tr", has=page.get_by_role("link", name="Baseline")
    )
    expect(baseline).to_contain_text(f"target {included.isoformat()}")
    expect(baseline).to_contain_text("Overdue")

    page.goto(live_url + "/acme/demo/")
    page.locator("#worklist-overdue-visits").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Overdue visits")).to_be_visible()
    row = page.locator("table.worklist tbody tr", has_text=label).filter(has_text="Baseline")
    expect(row).to_contain_text(included.isoformat())
    row.get_by_role("link", name="Baseline").click()
    expect(page).to_have_url(re.compile(rf"/subjects/{label}/baseline/$"))
    expect(page.locator("#visit-timing")).to_contain_text("Overdue")

    page.get_by_label("Visit date").fill((included + timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Save the visit date").click()
    expect(page.locator("#status")).to_contain_text("outside the visit's window")
    expect(page.locator("#visit-timing")).to_contain_text("Outside the window")
    expect(page.locator("#visit-timing")).not_to_contain_text("Overdue")

    page.get_by_role("link", name=label).first.click()
    baseline = page.locator(
        "table.casebook tbody tr", has=page.get_by_role("link", name="Baseline")
    )
    expect(baseline).to_contain_text(f"done {(included + timedelta(days=2)).isoformat()}")
    expect(baseline).not_to_contain_text("Overdue")
