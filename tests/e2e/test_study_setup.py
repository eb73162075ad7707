"""The organisation's administrator opens a study and its first site in a real browser, and the
demo's study administrator then edits that site."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_sign_in import sign_in


def test_a_study_and_its_site_are_opened_and_edited_in_the_browser(
    page: Page, browser: Browser, live_url: str
):
    sign_in(page, live_url, "tenant-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/")
    page.get_by_role("link", name="New study").click()
    expect(page.get_by_role("heading", name="New study")).to_be_visible()

    # Refused beside the fields; what was typed stays.
    page.get_by_label("Code").fill("Card 7")
    page.get_by_label("Title").fill("Cardiology seven")
    page.get_by_label("English").uncheck()
    page.get_by_role("button", name="Create the study").click()
    expect(page.locator("#field-code-error")).to_contain_text("lowercase letters")
    expect(page.locator("#field-languages-error")).to_have_text("⚠ Choose at least one language.")
    expect(page.get_by_label("Title")).to_have_value("Cardiology seven")

    page.get_by_label("Code").fill("card-007")
    page.get_by_label("Deutsch").check()
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Create the study").click()
    expect(page.get_by_role("heading", name="card-007 Cardiology seven")).to_be_visible()
    expect(page.locator(".study-facts")).to_contain_text("Europe/Berlin")
    expect(page.locator(".study-facts")).to_contain_text("Deutsch")

    page.get_by_role("link", name="Sites", exact=True).first.click()
    expect(page.get_by_text("No sites yet.")).to_be_visible()
    page.get_by_role("link", name="New site").click()
    page.get_by_label("Code").fill("mun01")
    page.get_by_label("Name").fill("Munich Heart Centre")
    page.get_by_label("Country").select_option(label="Germany")
    page.get_by_label("Enrolment target").fill("none")
    page.get_by_role("button", name="Create the site").click()
    expect(page.locator("#field-target-error")).to_contain_text("at least 1")
    page.get_by_label("Enrolment target").fill("25")
    page.get_by_role("button", name="Create the site").click()
    row = page.locator("#sites tbody tr", has_text="mun01")
    expect(row).to_contain_text("Germany")
    expect(row).to_contain_text("Europe/Berlin")  # the study's zone until the site has its own

    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit site mun01")).to_be_visible()
    page.get_by_label("Time zone").select_option("Europe/Vienna")
    page.get_by_label("Name").fill("Munich University Heart Centre")
    page.get_by_role("button", name="Save the site").click()
    expect(page.locator("#status")).to_contain_text("The site was saved.")
    row = page.locator("#sites tbody tr", has_text="mun01")
    expect(row).to_contain_text("Munich University Heart Centre")
    expect(row).to_contain_text("Europe/Vienna")


def test_the_demo_study_has_its_zone_and_sites_their_countries(page: Page, live_url: str):
    sign_in(page, live_url, "study-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/sites/")
    expect(page.get_by_role("link", name="New site")).to_have_count(0)
    expect(page.locator("#sites tbody tr", has_text="par01")).to_contain_text("France")
    expect(page.locator("#sites tbody tr", has_text="ber01")).to_contain_text("Europe/Berlin")
    page.goto(f"{live_url}/acme/demo/@@settings")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")
