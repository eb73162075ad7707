"""A subject replies to their site on a 360 px phone: the study admin lets subjects message
their site, the coordinator writes to par01-0001, the subject opens a link, reads the message
from their questionnaires and replies; the coordinator sees the reply as new."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.test_epro import fits, handed_link, phone  # noqa: F401 (a fixture)
from tests.e2e.test_sign_in import sign_in


def test_a_subject_replies_to_their_site(page: Page, phone: Page, live_url: str):  # noqa: F811
    sign_in(page, live_url, "study-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/@@settings")
    page.get_by_label("Subjects may message their site").check()
    page.get_by_role("button", name="Save the settings").click()
    expect(page.get_by_text("The settings were saved.")).to_be_visible()
    page.context.clear_cookies()

    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/messages/")
    page.get_by_label("Site").select_option("par01")
    page.get_by_label("Subject (to write to a subject, optional)").fill("par01-0001")
    page.get_by_label("Topic").fill("Your next visit")
    page.get_by_label("Message").fill("Please bring your diary.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Please bring your diary.")).to_be_visible()

    phone.goto(handed_link(page, live_url))
    phone.get_by_role("button", name="Start").click()
    expect(phone.get_by_role("heading", name="Your questionnaires")).to_be_visible()
    phone.get_by_role("link", name="Messages with your site").click()
    expect(phone.get_by_text("1 unread")).to_be_visible()
    fits(phone)
    phone.get_by_role("link", name="Your next visit").click()
    expect(phone.get_by_text("Please bring your diary.")).to_be_visible()
    fits(phone)
    phone.get_by_label("Your reply").fill("I will bring it.")
    phone.get_by_role("button", name="Send").click()
    expect(phone.get_by_text("Your message was sent.")).to_be_visible()
    expect(phone.get_by_text("I will bring it.")).to_be_visible()
    fits(phone)

    page.goto(f"{live_url}/acme/demo/messages/")
    expect(page.locator("tr", has_text="Your next visit")).to_contain_text("1 unread")
    expect(page.locator("tr", has_text="Your next visit")).to_contain_text("par01-0001")
