"""Signing in and finding one's way, in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from datacapt.cli.demo import DEMO_PASSWORD


def sign_in(page: Page, live_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in as ``email`` from a clean slate: the page in view is left first, so a request of
    it still on its way (a panel loading, a session refresh) cannot answer after the cookies
    are dropped with a cookie of the previous user's session."""
    page.goto("about:blank")
    page.context.clear_cookies()
    page.goto(f"{live_url}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_coordinator_signs_in_switches_to_french_and_sees_only_her_site(page: Page, live_url: str):
    """The language is the account's: it is switched back at the end, so that the browser
    tests after this one meet the coordinator in English."""
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.locator("details.language-menu summary").click()
    page.get_by_role("button", name="Français").click()
    try:
        expect(page.get_by_role("heading", name="Vos études")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "fr")

        page.get_by_role("link", name=re.compile("Demonstration study")).first.click()
        expect(page).to_have_url(f"{live_url}/acme/demo/")
        expect(page.get_by_role("heading", name="Vos rôles")).to_be_visible()
        sites = page.locator("section[aria-labelledby=site-table] table.data tbody tr")
        expect(sites).to_have_count(1)
        expect(sites.first).to_contain_text("par01")
        expect(page.get_by_text("ber01")).to_have_count(0)

        page.get_by_role("link", name="Participants").first.click()
        rows = page.locator("table.data tbody tr")
        expect(rows.first).to_contain_text("par01-0001")
        expect(page.locator("table.data tbody")).not_to_contain_text("ber01")
    finally:
        page.locator("details.language-menu summary").click()
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")


def test_a_wrong_password_is_shown_in_place_and_focused(page: Page, live_url: str):
    sign_in(page, live_url, "monitor@acme.example", "not the password")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("The e-mail address or password is incorrect.")
    expect(alert).to_be_focused()
    expect(page).to_have_url(f"{live_url}/login")
    expect(page.get_by_label("Password")).to_have_value("")

    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()


def test_an_anonymous_visitor_comes_back_where_they_were_going(page: Page, live_url: str):
    page.goto(f"{live_url}/acme/demo/sites/")
    expect(page).to_have_url(re.compile(r"/login\?came_from="))
    page.get_by_label("E-mail address").fill("monitor@acme.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_url}/acme/demo/sites/")
    expect(page.locator("table.data tbody tr")).to_have_count(2)


def test_signing_out_from_the_user_menu(page: Page, live_url: str):
    sign_in(page, live_url, "auditor@acme.example")
    page.locator("details.user-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/")
    expect(page).to_have_url(re.compile(r"/login\?came_from="))
