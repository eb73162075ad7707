"""Reports in a real browser: the monitor finds the progress summary on the study's page,
opens the reports, narrows them to one site (htmx re-draws the charts, the URL keeps the
filter), and downloads a chart and a table."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in


def test_monitor_filters_the_reports_and_downloads_them(page: Page, live_url: str):
    sign_in(page, live_url, "monitor@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(live_url + "/acme/demo/")
    summary = page.locator("#report-summary")
    expect(summary).to_contain_text("Subjects enrolled")
    summary.get_by_role("link", name="Open the reports").click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(6)
    expect(page.get_by_role("img", name=re.compile("Source data verification"))).to_be_visible()
    expect(page.locator("#table-sdv tbody tr")).to_have_count(2)

    page.get_by_label("Site", exact=True).select_option("par01")
    settled(page)
    expect(page).to_have_url(re.compile(r"/acme/demo/reports/\?site=par01"))
    expect(page.locator("#table-sdv tbody tr")).to_have_count(1)
    expect(page.locator("#table-sdv tbody")).to_contain_text("par01")

    with page.expect_download() as svg:
        page.get_by_role("link", name="Chart (SVG): Source data verification").click()
    assert svg.value.suggested_filename == "demo-sdv.svg"
    with page.expect_download() as table:
        page.get_by_role("link", name="Table (CSV): Source data verification").click()
    assert table.value.suggested_filename == "demo-sdv.csv"
    content = Path(table.value.path()).read_text(encoding="utf-8-sig")
    assert "par01" in content and "ber01" not in content
