"""A forgotten password, in a real browser: ask for a link, follow it from the mail, sign in."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from datacapt.cli.demo import DEMO_PASSWORD
from tests.conftest import Mailbox
from tests.e2e.conftest import mailed_link
from tests.e2e.test_sign_in import sign_in

EMAIL = "sponsor@acme.example"  # no other browser test signs in as the sponsor
NEW_PASSWORD = "seven purple owls read the protocol"
LINK = r"http://\S+/reset-password\?token=[\w-]+"


def test_forgotten_password_is_reset_through_the_mailed_link(
    page: Page, live_url: str, live_mailbox: Mailbox
):
    page.goto(f"{live_url}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_text("If an account uses this address")).to_be_visible()

    page.goto(mailed_link(live_mailbox, EMAIL, LINK))
    expect(page).to_have_url(f"{live_url}/reset-password")  # the token left the address bar
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()

    new_password = page.locator("#field-new_password")
    new_password.press_sequentially("password1234")
    strength = page.locator("#password-strength")
    expect(strength).to_contain_text("Strength: Very weak")
    expect(strength).to_contain_text("one of the most common passwords")
    new_password.fill(NEW_PASSWORD)
    expect(strength).to_contain_text("Strength: Very strong")
    expect(strength.locator("meter")).to_have_attribute("value", "4")
    page.locator("#field-confirm_password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()

    expect(page).to_have_url(f"{live_url}/login")
    expect(page.get_by_text("Sign in with your new password.")).to_be_visible()
    sign_in(page, live_url, EMAIL, DEMO_PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("The e-mail address or password is incorrect.")
    sign_in(page, live_url, EMAIL, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
