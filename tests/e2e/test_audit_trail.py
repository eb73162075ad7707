"""An auditor reads the demo study's audit trail in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_sign_in import sign_in


def test_an_auditor_filters_the_trail_in_place_and_exports_it(page: Page, live_url: str):
    sign_in(page, live_url, "auditor@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/")
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    rows = page.locator("#audit-results tbody tr")
    expect(rows.first).to_be_visible()

    page.get_by_label("Action starts with").fill("site.")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/acme/demo/@@audit\?.*action=site\."))
    expect(rows).to_have_count(2)
    expect(page.locator("#audit-results")).not_to_contain_text("study.created")
    expect(page.get_by_role("button", name="Filter")).to_be_focused()

    page.get_by_label("From (date)").fill("2026-05-02")
    page.get_by_label("To (date, included)").fill("2026-05-01")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("alert")).to_contain_text("must not be before the start date")
    expect(page.get_by_label("To (date, included)")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("From (date)").fill("")
    page.get_by_label("To (date, included)").fill("")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export these events (CSV)").click()
    assert download.value.suggested_filename.startswith("acme-demo-audit-")
    content = download.value.path().read_text(encoding="utf-8-sig")
    assert content.count("site.created") == 2 and "study.created" not in content
