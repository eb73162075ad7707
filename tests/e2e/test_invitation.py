"""Joining by invitation in a real browser: the administrator invites, the newcomer follows
the mailed link, chooses a password, sets up two-factor authentication and signs in with a
code."""

from __future__ import annotations

import time

import pyotp
from playwright.sync_api import Browser, Page, expect

from tests.conftest import Mailbox
from tests.e2e.conftest import mailed_link
from tests.e2e.test_sign_in import sign_in

NEWCOMER = "newcomer@hospital.example"
PASSWORD = "seven quiet herons cross the Loire"
LINK = r"http://\S+/invitation\?token=[\w-]+"


def test_a_newcomer_joins_by_invitation_and_signs_in_with_a_code(
    page: Page, browser: Browser, live_url: str, live_mailbox: Mailbox
):
    sign_in(page, live_url, "tenant-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/")
    page.get_by_role("link", name="Invitations").click()
    page.get_by_label("E-mail address").fill(NEWCOMER)
    page.get_by_label("Role").select_option("coordinator")
    page.get_by_label("Only at these sites:").check()
    page.get_by_label("par01").check()
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.locator("#invitation-list")).to_contain_text(NEWCOMER)
    expect(page.locator("#invitation-list")).to_contain_text("Waiting")

    context = browser.new_context(locale="en-GB", timezone_id="Europe/Paris")
    newcomer = context.new_page()
    try:
        newcomer.goto(mailed_link(live_mailbox, NEWCOMER, LINK))
        expect(newcomer.get_by_text("You are invited to the study demo")).to_be_visible()
        newcomer.get_by_label("Your name").fill("Noa Newcomer")
        newcomer.get_by_label("New password", exact=False).first.fill("password1234")
        expect(newcomer.locator("#password-strength")).to_contain_text("most common")
        newcomer.get_by_label("New password", exact=False).first.fill(PASSWORD)
        newcomer.get_by_label("New password again").fill(PASSWORD)
        newcomer.get_by_role("button", name="Join the study").click()
        expect(newcomer).to_have_url(f"{live_url}/acme/demo/")
        expect(newcomer.locator(".roles")).to_contain_text("Study coordinator")

        newcomer.goto(f"{live_url}/two-factor")
        newcomer.get_by_role("button", name="Set up an authenticator").click()
        expect(newcomer.locator("figure.qr-code svg")).to_be_visible()
        secret = newcomer.locator("#manual-key").inner_text().replace(" ", "")
        newcomer.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
        newcomer.get_by_role("button", name="Turn on two-factor authentication").click()
        expect(newcomer.locator("#recovery-code-list li")).to_have_count(10)
        newcomer.get_by_role("link", name="I have saved my recovery codes").click()
        expect(newcomer.get_by_text("Two-factor authentication is on since")).to_be_visible()

        newcomer.goto(f"{live_url}/logout")
        newcomer.get_by_role("button", name="Sign out").last.click()
        newcomer.goto(f"{live_url}/login")
        newcomer.get_by_label("E-mail address").fill(NEWCOMER)
        newcomer.get_by_label("Password").fill(PASSWORD)
        newcomer.get_by_role("button", name="Sign in").click()
        expect(newcomer).to_have_url(f"{live_url}/login-code")
        next_code = pyotp.TOTP(secret).at(time.time() + 30)  # the first one was used already
        newcomer.get_by_label("Authentication code").fill(next_code)
        newcomer.get_by_role("button", name="Continue").click()
        expect(newcomer.get_by_role("heading", name="Your studies")).to_be_visible()
    finally:
        context.close()

    page.reload()
    expect(page.locator("#invitation-list")).to_contain_text("Accepted")
