"""Details of filling a form in a real browser: exclusive options, history by keyboard, and
staying in place after a save."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in


def test_none_of_these_unticks_the_other_options_and_they_untick_it(page: Page, live_url: str):
    sign_in(page, live_url, "study-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/design/")
    start = page.get_by_role("button", name="Start a new draft")
    if start.count():  # another test may have started the draft already
        start.click()
    expect(page.get_by_text("You are editing draft version")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/design/forms/demographics/")
    page.get_by_role("link", name="+ Question").first.click()
    editor = page.locator("#editor-panel")
    editor.locator("#field-name").fill("symptoms")
    with page.expect_response(lambda response: "@@block" in response.url):
        editor.locator("#field-type").select_option("multiple_choice")
    editor.locator("#field-label-en").fill("Symptoms")
    editor.locator("#field-choices-en").fill("1, Cough\n2, Fever\n99, None of these")
    editor.get_by_label("Options chosen alone").fill("99")
    editor.get_by_role("button", name="Save the question").click()
    settled(page)
    expect(page.locator("#outline")).to_contain_text("symptoms")

    page.goto(f"{live_url}/acme/demo/design/forms/demographics/@@preview")
    symptoms = page.get_by_role("group", name="Symptoms")
    symptoms.get_by_label("Cough").check()
    symptoms.get_by_label("Fever").check()
    symptoms.get_by_label("None of these").check()
    expect(symptoms.get_by_label("Cough")).not_to_be_checked()
    expect(symptoms.get_by_label("Fever")).not_to_be_checked()
    settled(page)
    expect(page.locator("#item-symptoms-message")).not_to_contain_text("excludes")
    symptoms.get_by_label("Fever").check()
    expect(symptoms.get_by_label("None of these")).not_to_be_checked()
    expect(symptoms.get_by_label("Fever")).to_be_checked()
