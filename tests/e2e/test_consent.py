"""eConsent in real Chromium on a phone (360 px): the study administrator makes a document
live, the coordinator confirms the subject's identity and hands the phone over, the subject
reads section by section, answers (a wrong answer explained first), reviews and signs, and the
investigator countersigns with their password; no page is wider than the screen."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import mailed_link
from tests.e2e.test_sign_in import sign_in

WIDTH = 360
TEXT = """We invite you to take part in a study of a new treatment.

## What happens
You come to four visits over a year.

## Your rights
You may stop at any time without giving a reason.
"""
QUESTIONS = """Can you stop at any time?
- No, never
* Yes, without giving a reason
? Taking part is voluntary: you may stop whenever you wish.
"""


@pytest.fixture
def phones(browser: Browser) -> Iterator[callable]:
    contexts = []

    def new() -> Page:
        context = browser.new_context(
            viewport={"width": WIDTH, "height": 800}, locale="en-GB", timezone_id="Europe/Paris"
        )
        contexts.append(context)
        return context.new_page()

    yield new
    for context in contexts:
        context.close()


def fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{page.url} is {width} px wide"


def test_consent_in_person_on_a_phone_then_countersigned(phones, live_url: str):
    admin = phones()
    sign_in(admin, live_url, "study-admin@acme.example")
    expect(admin.get_by_role("heading", name="Your studies")).to_be_visible()
    admin.goto(f"{live_url}/acme/demo/consent/@@documents")
    admin.get_by_label("Title").fill("Participant information and consent")
    admin.get_by_role("button", name="Create").click()
    admin.get_by_label("Ethics approval date").fill("2026-11-20")
    admin.get_by_label("Text", exact=True).fill(TEXT)
    admin.get_by_label("Comprehension questions (optional)").fill(QUESTIONS)
    admin.get_by_role("button", name="Save the draft").click()
    expect(admin.get_by_text("The draft is saved.")).to_be_visible()
    admin.get_by_role("button", name="Make it live").click()
    expect(admin.get_by_role("button", name="Make a new version")).to_be_visible()
    fits(admin)

    phone = phones()
    sign_in(phone, live_url, "coordinator@acme.example")
    expect(phone.get_by_role("heading", name="Your studies")).to_be_visible()
    phone.goto(f"{live_url}/acme/demo/subjects/par01-0001/@@consent")
    fits(phone)
    phone.get_by_label("I checked the subject's identity in person.").check()
    phone.get_by_role("button", name="Start the consent").click()
    # the phone is handed to the subject
    for number in (1, 2, 3):
        expect(phone.get_by_text(f"Section {number} of 3")).to_be_visible()
        fits(phone)
        phone.get_by_role("button", name="I have read this section").click()
    expect(phone.get_by_role("heading", name="A few questions")).to_be_visible()
    phone.get_by_label("No, never").check()
    phone.get_by_role("button", name="Check my answers").click()
    expect(phone.get_by_text("you may stop whenever you wish")).to_be_visible()
    fits(phone)
    phone.get_by_label("Yes, without giving a reason").check()
    phone.get_by_role("button", name="Check my answers").click()
    expect(phone.get_by_role("heading", name="Review the document")).to_be_visible()
    expect(phone.get_by_text("You come to four visits over a year.")).to_be_visible()
    fingerprint = phone.locator("#document-hash").inner_text()
    assert len(fingerprint) == 64
    fits(phone)
    phone.get_by_role("button", name="Continue to signature").click()
    phone.get_by_label("Your name in full").fill("Camille Durand")
    phone.get_by_label("I consent to take part in this study.").check()
    fits(phone)
    phone.get_by_role("button", name="Sign the consent").click()
    expect(phone.get_by_role("heading", name="Thank you")).to_be_visible()

    investigator = phones()
    sign_in(investigator, live_url, "investigator@acme.example")
    expect(investigator.get_by_role("heading", name="Your studies")).to_be_visible()
    investigator.goto(f"{live_url}/acme/demo/consent/")
    fits(investigator)
    investigator.locator("#consent-rows").get_by_role("link", name="par01-0001").first.click()
    expect(investigator.get_by_text("needs countersignature")).to_be_visible()
    expect(investigator.get_by_text(fingerprint)).to_be_visible()
    investigator.get_by_label("Your password").fill("Demo-password-2026")
    investigator.get_by_role("button", name="Countersign").click()
    expect(investigator.get_by_text("The consent is countersigned.")).to_be_visible()
    expect(investigator.locator("#consent-status")).to_contain_text("signed")
    expect(
        investigator.get_by_role("link", name="Download the signed consent (PDF)")
    ).to_be_visible()
    fits(investigator)


def test_remote_consent_on_a_phone_needs_the_mailed_code_and_the_birth_date(
    phones, live_url: str, live_mailbox
):
    """Runs after the in-person test (its document is live). The study switches to remote
    identity checks for the time of the test."""
    admin = phones()
    sign_in(admin, live_url, "study-admin@acme.example")
    expect(admin.get_by_role("heading", name="Your studies")).to_be_visible()
    admin.goto(f"{live_url}/acme/demo/consent/@@documents")
    admin.get_by_label("remotely, by a code mailed to the subject and their date of birth").check()
    admin.get_by_role("button", name="Save the settings").click()
    expect(admin.get_by_text("The consent settings are saved.")).to_be_visible()
    try:
        staff = phones()
        sign_in(staff, live_url, "coordinator@acme.example")
        expect(staff.get_by_role("heading", name="Your studies")).to_be_visible()
        staff.goto(f"{live_url}/acme/demo/subjects/")
        staff.get_by_role("link", name="Enrol a subject").click()
        staff.get_by_label("E-mail address").fill("remote.subject@example.org")
        staff.get_by_role("button", name="Enrol").click()
        expect(
            staff.get_by_role("heading", name=re.compile(r"Subject par01-\d{4}"))
        ).to_be_visible()
        staff.goto(staff.url.rstrip("/") + "/@@consent")
        staff.get_by_label("Subject's date of birth").fill("1975-06-30")
        staff.get_by_role("button", name="Start the consent").click()
        link = staff.locator("#handed-url").input_value()
        assert "/p/@@consent-start/" in link

        subject = phones()
        subject.goto(link)
        subject.get_by_role("button", name="Start").click()
        subject.get_by_role("link", name="Participant information and consent").click()
        subject.get_by_role("link", name="Begin").click()
        for _number in (1, 2, 3):
            subject.get_by_role("button", name="I have read this section").click()
        subject.get_by_label("Yes, without giving a reason").check()
        subject.get_by_role("button", name="Check my answers").click()
        subject.get_by_role("button", name="Continue to signature").click()
        expect(subject.get_by_role("heading", name="Confirm who you are")).to_be_visible()
        # the link's session alone does not reach the signature
        subject.goto(subject.url.replace("@@identity", "@@sign"))
        expect(subject.get_by_role("heading", name="Confirm who you are")).to_be_visible()
        subject.get_by_role("button", name="Send me a code").click()
        code = mailed_link(live_mailbox, "remote.subject@example.org", r"(?<=is: )\d{6}")
        subject.get_by_label("Code").fill(code)
        subject.get_by_label("Date of birth").fill("1975-06-29")
        subject.get_by_role("button", name="Confirm").click()
        expect(
            subject.get_by_text("The code or the date of birth is not right.").first
        ).to_be_visible()
        subject.get_by_label("Code").fill(code)
        subject.get_by_label("Date of birth").fill("1975-06-30")
        subject.get_by_role("button", name="Confirm").click()
        subject.get_by_label("Your name in full").fill("Remy Martin")
        subject.get_by_label("I consent to take part in this study.").check()
        fits(subject)
        subject.get_by_role("button", name="Sign the consent").click()
        expect(subject.get_by_role("heading", name="Thank you")).to_be_visible()
        fits(subject)
    finally:
        admin.get_by_label("in person, by the site's staff").check()
        admin.get_by_role("button", name="Save the settings").click()
        expect(admin.get_by_text("The consent settings are saved.")).to_be_visible()
