"""The designer's everyday trips in a real browser: saving while an expression is checked,
leaving with unsaved changes, placing questions, reading the outline."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from tests.e2e.test_designer import save_question, settled
from tests.e2e.test_sign_in import sign_in

FORM = "/acme/demo/design/forms/demographics/"


def open_draft_form(page: Page, live_url: str) -> None:
    """The demographics form of the study's draft (started here when there is none yet)."""
    sign_in(page, live_url, "study-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/design/")
    start = page.get_by_role("button", name="Start a new draft")
    if start.count():
        start.click()
        expect(page.get_by_text("You are editing draft version")).to_be_visible()
    page.goto(f"{live_url}{FORM}")
    expect(page.get_by_role("heading", name="Form demographics — Demographics")).to_be_visible()


def test_save_goes_through_while_an_expression_is_checked(page: Page, live_url: str):
    open_draft_form(page, live_url)
    held: list[Route] = []
    page.route("**/@@check-expression", lambda route: held.append(route))  # held until released

    page.get_by_role("link", name="Edit initials").click()
    settled(page)
    condition = page.locator("#field-show_if")
    condition.fill("[sex] = '2'")
    # Clicking Save leaves the field: its check starts and is still running when the click lands.
    with page.expect_response(lambda response: response.url.endswith("@@block")):
        page.get_by_role("button", name="Save the question").click()
    settled(page)
    assert held, "leaving the field started a check"
    expect(page.locator("#status")).to_contain_text("Saved.")
    expect(page.locator("#outline li", has_text="initials")).to_contain_text("[sex] = '2'")
    for route in held:
        route.continue_()
    held.clear()

    # A check answering about text edited since it was sent is dropped, and nothing typed is lost.
    page.get_by_role("link", name="Edit initials").click()
    settled(page)
    condition = page.locator("#field-show_if")
    condition.fill("[sex] = '1'")
    condition.blur()
    page.wait_for_function("() => document.querySelector('#field-show_if.htmx-request')")
    condition.fill("[sex] = '1' and [adutl] = '1'")
    with page.expect_response(lambda response: "@@check-expression" in response.url):
        held.pop().continue_()
    settled(page)
    expect(condition).to_have_value("[sex] = '1' and [adutl] = '1'")
    expect(page.locator("#field-show_if-check")).not_to_contain_text("Valid expression.")
    condition.blur()
    page.wait_for_function("() => document.querySelector('#field-show_if.htmx-request')")
    with page.expect_response(lambda response: "@@check-expression" in response.url):
        held.pop().continue_()
    settled(page)
    expect(page.locator("#field-show_if-check")).to_contain_text("adutl")
    expect(condition).to_have_value("[sex] = '1' and [adutl] = '1'")
    page.unroute("**/@@check-expression")


def test_leaving_unsaved_changes_asks_first(page: Page, live_url: str):
    open_draft_form(page, live_url)
    page.get_by_role("link", name="Edit initials").click()
    settled(page)
    label = page.locator("#field-label-en")
    label.press("End")
    label.press_sequentially(" (three letters)")

    # Opening another block's editor with htmx would drop the change: asked, and refused.
    questions: list[str] = []

    def refuse(dialog) -> None:
        questions.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.once("dialog", refuse)
    page.get_by_role("link", name="Edit sex").click()
    expect(page.get_by_role("heading", name="Edit question initials")).to_be_visible()
    assert questions == ["confirm: Changes on this form are not saved. Leave anyway?"]
    expect(label).to_have_value("Initials (three letters)")

    # Asked again and accepted: the other editor opens.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("link", name="Edit sex").click()
    settled(page)
    expect(page.get_by_role("heading", name="Edit question sex")).to_be_visible()

    # Leaving the page: the browser's own question (beforeunload), refused, so nothing is lost.
    page.locator("#field-label-en").press("End")
    page.locator("#field-label-en").press_sequentially("!")
    page.once("dialog", refuse)
    page.get_by_role("link", name="Preview this form as sites will see it").click()
    page.wait_for_timeout(500)
    assert questions[-1].startswith("beforeunload")
    expect(page.locator("#field-label-en")).to_have_value("Sex!")

    # Saved changes leave freely.
    page.get_by_role("button", name="Save the question").click()
    settled(page)
    page.get_by_role("link", name="Preview this form as sites will see it").click()
    expect(page.get_by_role("heading", name="Preview", exact=False).first).to_be_visible()
    assert len(questions) == 2


def outline_names(page: Page) -> list[str]:
    return page.locator("#outline .outline-block .block-summary > .code").all_inner_texts()


def test_a_question_is_inserted_here_and_moved_to_a_position(page: Page, live_url: str):
    open_draft_form(page, live_url)
    names = outline_names(page)
    at = names.index("sex")
    page.get_by_role("link", name="Insert a question before sex").click()
    settled(page)
    editor = page.locator("#editor-panel")
    expect(editor.get_by_role("heading", name=f"New question (position {at + 1})")).to_be_focused()
    editor.locator("#field-name").fill("handedness")
    editor.locator("#field-label-en").fill("Which hand does the participant write with?")
    save_question(page)
    assert outline_names(page)[at : at + 2] == ["handedness", "sex"]

    position = page.get_by_label("Position of handedness")
    position.fill("1")
    position.press("Enter")
    settled(page)
    assert outline_names(page)[0] == "handedness"
    expect(page.locator("#outline .outline-block").first).to_be_focused()  # focus follows it

    position = page.get_by_label("Position of handedness")
    position.fill("999")
    position.press("Enter")
    settled(page)
    expect(page.get_by_label("Position of handedness")).to_be_focused()
    expect(page.locator("#outline")).to_contain_text("Enter a position between 1 and")
    assert outline_names(page)[0] == "handedness"
