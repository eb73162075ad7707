"""The record status dashboard in a real browser: the monitor reads the symbols' key, scrolls
the forms sideways while the subject column stays put, and narrows the view with filters whose
URL a reload (or a colleague) opens on the same view."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in


def subjects(page: Page) -> list[str]:
    return page.locator("#dashboard tbody th.subject-column a").all_inner_texts()


def test_monitor_scans_scrolls_and_filters_the_dashboard(page: Page, live_url: str):
    page.set_viewport_size({"width": 320, "height": 800})
    sign_in(page, live_url, "monitor@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(live_url + "/acme/demo/subjects/@@dashboard")
    key = page.locator(".status-legend")
    expect(key).to_contain_text("In progress")
    expect(key).to_contain_text("Awaiting SDV")

    # a cell shows a symbol only; its word is what assistive technology reads
    row = page.locator("#dashboard tbody tr", has_text="par01-0001")
    cell = row.get_by_role("link", name="Complete").first
    expect(cell).to_be_visible()
    expect(cell.locator("[aria-hidden=true]")).to_have_text("●")
    word = cell.locator(".visually-hidden").bounding_box()
    assert word is not None and word["width"] <= 1 and word["height"] <= 1
    # narrow columns (titles read upwards): twenty forms fit beside the subject on a laptop
    widths = page.locator("#dashboard thead th.form-column").evaluate_all(
        "cells => cells.map(c => c.getBoundingClientRect().width)"
    )
    assert widths and max(widths) < 48, widths

    # the forms scroll sideways; the subject column stays where it was
    scroller = page.locator(".dashboard-scroll")
    assert scroller.evaluate("e => e.scrollWidth > e.clientWidth")
    label = row.locator("th.subject-column")
    label.scroll_into_view_if_needed()
    before = label.bounding_box()
    scroller.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    page.wait_for_function("() => document.querySelector('.dashboard-scroll').scrollLeft > 0")
    after = label.bounding_box()
    assert before is not None and after is not None and after["x"] == before["x"]
    assert label.evaluate(
        "e => document.elementFromPoint(e.getBoundingClientRect().left + 5,"
        " e.getBoundingClientRect().top + 5).closest('th') === e"
    )

    # filters: htmx swaps the table and pushes the URL
    page.get_by_label("Site", exact=True).select_option("ber01")
    settled(page)
    expect(page).to_have_url(re.compile(r"@@dashboard\?.*site=ber01"))
    expect(page.locator("#dashboard tbody th.subject-column a").first).to_have_text(
        re.compile("^ber01-")
    )
    page.get_by_label("Subject ID contains").fill("0002")
    page.get_by_label("Subject ID contains").press("Enter")
    settled(page)
    expect(page).to_have_url(re.compile(r"q=0002"))
    expect(page.locator("#dashboard tbody tr")).to_have_count(1)
    assert subjects(page) == ["ber01-0002"]

    # a reload, or the link shared, opens the same view
    shared = page.url
    page.reload()
    expect(page.get_by_label("Subject ID contains")).to_have_value("0002")
    expect(page.get_by_label("Site", exact=True)).to_have_value("ber01")
    assert subjects(page) == ["ber01-0002"]
    page.goto(live_url + "/acme/demo/")
    page.goto(shared)
    assert subjects(page) == ["ber01-0002"]
