"""Reading a form as a monitor in a real browser: a question's query thread opens beside the
question (not at the foot of the form), takes the focus, and shows the value saved now."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in

VITALS = "/acme/demo/subjects/par01-0001/screening/vital_signs/"


def test_the_query_thread_opens_beside_its_question_with_the_focus(page: Page, live_url: str):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_url, "monitor@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(live_url + VITALS)
    question = page.locator(".ecrf-item", has=page.locator("#query-badge-heart_rate"))
    page.locator("#query-badge-heart_rate").click()
    settled(page)
    content = page.locator("#query-panel-content")
    expect(content).to_be_focused()
    expect(content.locator("#query-current")).to_have_text("Value now: 71 bpm")
    form = page.locator("#entry-form").bounding_box()
    panel = page.locator("#query-panel").bounding_box()
    asked = question.bounding_box()
    assert form and panel and asked
    assert panel["x"] >= form["x"] + form["width"]  # beside the form, not below it
    assert abs(panel["y"] - asked["y"]) < 24  # level with its question

    # a question higher up: the thread follows it
    page.locator("#query-badge-systolic").click()
    settled(page)
    expect(content.locator("#query-current")).to_contain_text("128")
    expect(page.locator("#query-panel-content")).to_be_focused()
    higher = page.locator(".ecrf-item", has=page.locator("#query-badge-systolic")).bounding_box()
    moved = page.locator("#query-panel").bounding_box()
    assert higher and moved and abs(moved["y"] - higher["y"]) < 24
