"""The subject repository in a real browser: a coordinator registers a person, finds them by
name (on the encrypted data's blind index), reads them for a stated purpose and asks for their
erasure; the DPO decides it, and the person's details are gone."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_sign_in import sign_in


def test_person_search_view_and_erasure_decision(page: Page, browser: Browser, live_url: str):
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/")
    page.get_by_role("link", name="Subject repository").click()
    expect(page.get_by_role("heading", name="Subject repository")).to_be_visible()
    page.get_by_role("link", name="Register a person").click()
    page.get_by_label("Site").select_option(index=0)
    expect(page.get_by_label("Site")).to_contain_text("par01")
    page.get_by_label("First name").fill("Zélie")
    page.get_by_label("Last name").fill("Browserova")
    page.get_by_label("E-mail").fill("zelie.browserova@example.org")
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".flash")).to_contain_text("is registered")
    reference = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator("body")).not_to_contain_text("Browserova")

    # search: accents and case do not matter
    page.goto(f"{live_url}/acme/repository/")
    page.get_by_label("Full name, last name, e-mail or reference").fill("zelie BROWSEROVA")
    page.get_by_role("button", name="Search").click()
    row = page.locator("#persons tbody tr", has_text=reference)
    expect(row).to_contain_text("Zélie Browserova")
    row.get_by_role("link", name=reference).click()

    page.get_by_label("Why do you need this person's details?").select_option(
        label="Checking eligibility"
    )
    page.get_by_role("button", name="Show the details").click()
    expect(page.locator("#person-details")).to_contain_text("zelie.browserova@example.org")
    page.get_by_label("Note for the DPO (no personal data)").fill("Asked by phone")
    page.get_by_role("button", name="Ask the DPO to erase this person").click()
    expect(page.locator("#erasure-requests")).to_contain_text("pending")

    dpo_context = browser.new_context(locale="en-GB", timezone_id="Europe/Paris")
    dpo = dpo_context.new_page()
    try:
        sign_in(dpo, live_url, "dpo@acme.example")
        expect(dpo.get_by_role("heading", name="Your studies")).to_be_visible()
        dpo.goto(f"{live_url}/acme/repository/")
        dpo.get_by_role("link", name="Erasure requests").click()
        card = dpo.locator("section.card", has_text=reference)
        expect(card).to_contain_text("Not enrolled in any study.")
        expect(card).not_to_contain_text("Browserova")
        expect(card.get_by_label("Reason")).to_have_attribute("required", "")
        card.get_by_label("Erase").check()
        card.get_by_label("Reason").fill("Art. 17(1)(b): consent withdrawn")
        card.get_by_role("button", name="Record the decision").click()
        expect(dpo.locator("body")).to_contain_text("The decision is recorded.")
        expect(dpo.locator("section.card", has_text=reference)).to_have_count(0)
        dpo.goto(f"{live_url}/acme/repository/@@access-log?person={reference}")
        expect(dpo.locator("#access-log tbody")).to_contain_text("Checking eligibility")
        expect(dpo.locator("#access-log tbody")).to_contain_text("coordinator@acme.example")
    finally:
        dpo_context.close()

    page.reload()
    expect(page.locator("#erased")).to_contain_text("erased")
    expect(page.locator("body")).not_to_contain_text("Browserova")
