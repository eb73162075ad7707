"""Building a form in a real browser: a draft, two questions, a branching rule, the preview."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_sign_in import sign_in


def settled(page: Page) -> None:
    """Wait until htmx has no request in flight and has swapped and settled the answer."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def add_question(page: Page, name: str, label: str, kind: str, show_if: str = "") -> None:
    page.get_by_role("link", name="+ Question").first.click()
    editor = page.locator("#editor-panel")
    expect(editor.get_by_role("heading", name="New question")).to_be_focused()
    editor.locator("#field-name").fill(name)
    with page.expect_response(lambda response: "@@block" in response.url):
        editor.locator("#field-type").select_option(kind)  # htmx shows that type's fields
    editor.locator("#field-label-en").fill(label)
    if show_if:
        editor.locator("#field-show_if").fill(show_if)
        with page.expect_response(lambda response: "@@check-expression" in response.url):
            editor.locator("#field-show_if").blur()
        expect(editor.locator("#field-show_if-check")).to_contain_text("Valid expression.")
    save_question(page)
    expect(page.locator("#outline")).to_contain_text(name)


def save_question(page: Page) -> None:
    """Save the open question and wait until the designer is back on it: the outline swapped in
    and the saved question focused, so the next key press lands where the person would be."""
    with page.expect_response(
        lambda response: response.url.endswith("/@@block") and response.request.method == "POST"
    ):
        page.get_by_role("button", name="Save the question").click()
    settled(page)
    expect(page.locator("#outline .outline-block:focus")).to_have_count(1)


def test_a_study_admin_builds_a_form_with_branching_and_previews_it(page: Page, live_url: str):
    sign_in(page, live_url, "study-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/design/")
    page.get_by_role("button", name="Start a new draft").click()
    expect(page.get_by_text(re.compile(r"You are editing draft version \d+\."))).to_be_visible()

    page.locator("#add-form #field-name").fill("eligibility")
    page.locator("#add-form #field-title-en").fill("Eligibility")
    page.locator("#add-form").get_by_role("button", name="Add the form").click()
    expect(page.get_by_role("heading", name="Form eligibility — Eligibility")).to_be_visible()

    add_question(page, "adult", "Is the participant 18 or older?", "yes_no")
    add_question(
        page, "guardian_consent", "Did a guardian consent?", "yes_no", show_if="[adult] = '0'"
    )

    # A typo in a condition is reported while typing, with where it is.
    page.get_by_role("link", name="Edit guardian_consent").click()
    settled(page)
    expect(page.get_by_role("heading", name="Edit question guardian_consent")).to_be_focused()
    condition = page.locator("#field-show_if")
    condition.fill("[adutl] = '0'")
    with page.expect_response(lambda response: "@@check-expression" in response.url):
        condition.blur()
    expect(page.locator("#field-show_if-check")).to_contain_text("column")
    # The refused save answers before the fix is typed, as a person sees the refusal first.
    with page.expect_response(lambda response: response.url.endswith("/@@block")):
        page.get_by_role("button", name="Save the question").click()
    expect(page.locator("#field-show_if-check")).to_contain_text("adutl")
    condition = page.locator("#field-show_if")
    condition.fill("[adult] = '0'")
    save_question(page)
    expect(page.locator("#status")).to_contain_text("Saved.")

    # Reordering with the keyboard: focus the button and press Enter.
    page.get_by_role("button", name="Move guardian_consent up").focus()
    with page.expect_response(lambda response: response.url.endswith("/@@move-block")):
        page.keyboard.press("Enter")
    settled(page)
    expect(page.locator("#outline .outline-block").first).to_contain_text("guardian_consent")
    expect(page.locator("#outline .outline-block").first).to_be_focused()  # focus follows it
    page.get_by_role("button", name="Move guardian_consent down").press("Enter")
    settled(page)
    expect(page.locator("#outline .outline-block").first).to_contain_text("adult")

    page.get_by_role("link", name="Preview this form as sites will see it").click()
    guardian = page.locator(".ecrf-item", has_text="Did a guardian consent?")
    expect(guardian).to_be_hidden()
    adult = page.get_by_role("group", name="Is the participant 18 or older?")
    adult.get_by_label("No", exact=True).check()
    expect(guardian).to_be_visible()
    adult.get_by_label("Yes", exact=True).check()
    expect(guardian).to_be_hidden()


def test_typing_on_while_the_server_evaluates_loses_nothing(page: Page, live_url: str):
    """Each change is evaluated on the server; its answer must never overwrite what the person
    typed meanwhile in another field."""
    sign_in(page, live_url, "study-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/design/forms/demographics/@@preview")
    page.get_by_label("Female").check()
    page.get_by_label("Height").fill("170")
    page.get_by_label("Height").press("Tab")  # a change: evaluation starts
    page.get_by_label("Weight").type("130.0", delay=15)  # typed while it runs
    page.get_by_label("Weight").press("Tab")
    settled(page)
    expect(page.get_by_label("Height")).to_have_value("170")
    expect(page.get_by_label("Weight")).to_have_value("130.0")
    expect(page.locator("#item-bmi")).to_have_text("45.0")
    expect(page.locator("#item-bmi-message")).to_contain_text("BMI above 40")
    expect(
        page.get_by_role("group", name="Is the participant pregnant? (required)")
    ).to_be_visible()
