"""The organisation's administrator changes a member's role and sites in a real browser; the
member's next page reflects it."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in


def test_the_administrator_changes_a_role_and_its_sites(
    page: Page, browser: Browser, live_url: str
):
    sign_in(page, live_url, "tenant-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/")
    page.get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", name="Members and their roles")).to_be_visible()

    member = page.locator("article.member", has_text="coordinator-berlin@acme.example")
    expect(member.locator(".current")).to_contain_text("Study coordinator")
    expect(member.locator(".current")).to_contain_text("ber01")
    member.locator("summary").click()

    # Restricted to no site is refused next to the sites, and nothing is lost.
    member.get_by_label("Role").select_option(label="Investigator")
    member.get_by_label("ber01").uncheck()
    member.get_by_role("button", name="Save the change").click()
    settled(page)
    member = page.locator("article.member", has_text="coordinator-berlin@acme.example")
    error = member.locator(".field-error")
    expect(error).to_have_text("⚠ Choose at least one site.")
    expect(error).to_be_focused()
    expect(member.get_by_label("Role")).to_have_value("investigator")

    member.get_by_label("par01").check()
    member.get_by_label("ber01").check()
    member.get_by_role("button", name="Save the change").press("Enter")
    settled(page)
    expect(page.locator("#status")).to_contain_text("The role was changed.")
    current = member.locator(".current")
    expect(current).to_contain_text("Investigator")
    expect(current).to_contain_text("ber01, par01")
    expect(member.locator("summary")).to_be_focused()

    # The member's very next page shows the new role at both sites.
    other = browser.new_context(locale="en-GB")
    member_page = other.new_page()
    try:
        sign_in(member_page, live_url, "coordinator-berlin@acme.example")
        expect(member_page.get_by_role("heading", name="Your studies")).to_be_visible()
        member_page.goto(f"{live_url}/acme/demo/")
        expect(member_page.locator(".roles")).to_contain_text("Investigator")
        expect(
            member_page.locator("section[aria-labelledby=site-table] table.data tbody tr")
        ).to_have_count(2)
    finally:
        other.close()


def test_the_administrator_makes_a_member_the_data_protection_officer(
    page: Page, browser: Browser, live_url: str
):
    sign_in(page, live_url, "tenant-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/@@members")
    member = page.locator("article.member", has_text="monitor@acme.example")
    member.get_by_role("button", name="Make data protection officer").click()
    settled(page)
    expect(page.locator("#status")).to_contain_text("now the organisation's data protection")
    expect(member).to_contain_text("Data protection officer")

    other = browser.new_context(locale="en-GB")
    monitor = other.new_page()
    try:
        sign_in(monitor, live_url, "monitor@acme.example")
        expect(monitor.get_by_role("heading", name="Your studies")).to_be_visible()
        monitor.goto(f"{live_url}/acme/repository/@@access-log")
        expect(monitor.get_by_role("heading", name="Personal-data access log")).to_be_visible()
    finally:
        other.close()

    page.once("dialog", lambda dialog: dialog.accept())
    member.get_by_role("button", name="Revoke the data protection officer role").click()
    settled(page)
    expect(page.locator("#status")).to_contain_text("no longer a data protection officer")
    expect(member.get_by_role("button", name="Make data protection officer")).to_be_visible()
