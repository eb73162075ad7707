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


def test_saving_keeps_the_place_in_the_form_and_a_refusal_lands_on_its_field(
    page: Page, live_url: str
):
    page.set_viewport_size({"width": 900, "height": 420})
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/subjects/")
    page.get_by_role("link", name="Enrol a subject").click()
    page.get_by_role("button", name="Enrol").click()
    page.get_by_role("link", name="Vital signs").first.click()
    page.get_by_label("Systolic blood pressure").fill("120")
    page.get_by_label("Heart rate").fill("400")  # refused: beyond its hard range
    save = page.get_by_role("button", name="Save", exact=True)
    save.scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    assert before > 100
    save.click()
    settled(page)
    expect(page.locator(".error-summary")).to_contain_text("Heart rate")
    expect(page.get_by_label("Heart rate")).to_be_focused()  # the first error, not the top
    page.get_by_label("Heart rate").fill("70")
    page.get_by_label("Diastolic blood pressure").fill("80")
    save.scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    with page.expect_navigation():
        save.click()
    page.wait_for_load_state()
    expect(page.locator("#status")).to_contain_text("Saved.")
    page.wait_for_function(f"() => Math.abs(window.scrollY - {before}) < 80")


def test_history_is_one_shortcut_away_and_out_of_the_tab_order(page: Page, live_url: str):
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/subjects/")
    page.get_by_role("link", name="Enrol a subject").click()
    page.get_by_role("button", name="Enrol").click()
    page.get_by_role("link", name="Vital signs").first.click()
    page.get_by_label("Systolic blood pressure").fill("120")
    page.keyboard.press("Tab")  # one stop per question: straight to the next one
    expect(page.get_by_label("Diastolic blood pressure (required)")).to_be_focused()
    page.keyboard.type("80")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    expect(page.get_by_text("Alt+Shift+H")).to_be_visible()
    page.get_by_label("Systolic blood pressure (required)").focus()
    page.keyboard.press("Alt+Shift+H")
    systolic = page.locator("#block-I\\.SYSTOLIC")
    expect(systolic.locator("summary")).to_be_focused()
    expect(systolic.locator(".history tbody tr")).to_have_count(1)
    expect(systolic.locator(".history")).to_contain_text("120")
    page.keyboard.press("Alt+Shift+H")  # closes it, back to the answer
    expect(page.get_by_label("Systolic blood pressure (required)")).to_be_focused()
