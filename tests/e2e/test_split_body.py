"""A split-body randomisation in a real browser: the study administrator adds it beside the
demo's main randomisation (cheeks left and right, two coded products) and generates its lists;
a coordinator enrols a subject, randomises it under the split-body design from the casebook,
and sees each zone's product code — never what the product is — on the casebook and on the
visit's page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in

PAGE = "/acme/demo/randomisation/"


def test_a_split_body_subject_is_randomised_and_the_visit_shows_zone_to_product_code(
    page: Page, live_url: str
):
    sign_in(page, live_url, "study-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}{PAGE}")
    page.get_by_role("link", name="New randomisation").click()
    page.get_by_label("Code", exact=True).fill("cheeks")
    page.get_by_label("Name", exact=True).fill("Cheeks")
    page.get_by_label("Method").select_option("latin_square")
    page.get_by_label("Arms or products").fill("X17 Retinol cream\nY42 Vehicle cream")
    page.get_by_label("Body zones").fill("L Left cheek\nR Right cheek")
    page.get_by_label("Places per list").fill("20")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the design").click()
    expect(page.locator("#randomisation-designs [aria-current=page]")).to_contain_text("Cheeks")
    with page.expect_navigation():
        page.get_by_role("button", name="Generate the missing lists").click()
    expect(page.locator("#list-summary")).to_contain_text("20")

    page.context.clear_cookies()
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/subjects/enrol")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("heading", name=re.compile(r"Subject par01-\d{4}"))).to_be_visible()
    subject_url = page.url

    section = page.locator("#randomisation-cheeks")
    expect(section.get_by_role("heading", name="Cheeks")).to_be_visible()
    section.get_by_role("button", name="Randomise").click()
    settled(page)
    table = page.locator("#split-body-cheeks")
    expect(table).to_be_visible()
    expect(page.locator("#randomisation-number-cheeks")).to_have_text(re.compile(r"^T-\d{4}$"))
    codes = [
        table.locator("tbody tr").nth(row).locator("td").inner_text().strip() for row in (0, 1)
    ]
    assert sorted(codes) == ["X17", "Y42"]
    expect(table).to_contain_text("Left cheek")
    expect(page.locator("#randomisation-panel")).not_to_contain_text("Retinol")
    expect(page.locator("#randomisation-panel")).not_to_contain_text("Vehicle")

    page.goto(subject_url + "screening/")
    zones = page.locator("#split-body-zones")
    expect(zones.get_by_role("heading", name="Products by zone")).to_be_visible()
    expect(zones.get_by_role("listitem").first).to_have_text(
        re.compile(rf"Left cheek\s+L\s+→\s+{codes[0]}")
    )
    expect(zones.get_by_role("listitem").nth(1)).to_have_text(
        re.compile(rf"Right cheek\s+R\s+→\s+{codes[1]}")
    )
    expect(zones).not_to_contain_text("Retinol")

    page.reload()  # the allocation stands: the same codes again, no second randomisation
    expect(page.locator("#split-body-zones").get_by_role("listitem").first).to_contain_text(
        codes[0]
    )
