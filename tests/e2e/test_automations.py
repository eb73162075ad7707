"""A study administrator creates an automation rule in a real browser: the form shows the
fields of the chosen action (htmx redraws it), refuses a broken condition beside its field,
then lists the rule, which is disabled from the list."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in


def test_a_rule_is_created_and_disabled_in_the_browser(page: Page, live_url: str):
    sign_in(page, live_url, "study-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/")
    page.get_by_role("link", name="Automations").click()
    expect(page.get_by_role("heading", name="Automations")).to_be_visible()
    page.get_by_role("link", name="Add a rule").click()

    page.get_by_label("Name").fill("Welcome task")
    # A quick second choice: the action is chosen while the event's redraw is on its way; the
    # event's answer comes first, the action's last. Neither may undo the other choice.
    held: list[Route] = []
    page.route("**/@@automation-new?*", lambda route: held.append(route))
    with page.expect_request(lambda request: "@@automation-new?" in request.url):
        page.get_by_label("Event").select_option(label="Subject included")
    with page.expect_request(lambda request: "action=create_task" in request.url):
        page.get_by_label("Action").select_option(label="Create a task")
    for route in held:
        with page.expect_response(route.request.url):
            route.continue_()
    page.unroute("**/@@automation-new?*")
    settled(page)
    expect(page.get_by_label("Event")).to_have_value("subject_included")
    expect(page.get_by_label("Action")).to_have_value("create_task")
    expect(page.get_by_label("Role")).to_have_count(0)
    # The action's own fields stay, and what was typed stays.
    expect(page.get_by_label("Task")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Welcome task")
    page.get_by_label("For").select_option(label="Site staff")
    page.get_by_label("Task").fill("Book the baseline visit")
    page.get_by_label("Condition (optional)").fill("[site] = ")
    page.get_by_role("button", name="Add the rule").click()
    expect(page.locator("#field-condition-error")).to_contain_text("not a valid expression")
    expect(page.get_by_label("Task")).to_have_value("Book the baseline visit")

    page.get_by_label("Condition (optional)").fill("[site] = 'par01'")
    page.get_by_label("Delay (minutes)").fill("60")
    page.get_by_role("button", name="Add the rule").click()
    expect(page.locator("#status")).to_contain_text("The rule was added.")
    row = page.locator("#automation-rules tbody tr", has_text="Welcome task")
    expect(row).to_contain_text("Subject included")
    expect(row).to_contain_text("Create a task")
    expect(row).to_contain_text("Enabled")

    row.get_by_role("button", name="Disable").click()
    expect(page.locator("#status")).to_contain_text("The rule was disabled.")
    row = page.locator("#automation-rules tbody tr", has_text="Welcome task")
    expect(row).to_contain_text("Disabled")

    page.get_by_role("link", name="Run log").click()
    expect(page.get_by_role("heading", name="Run log")).to_be_visible()
    expect(page.locator("#automation-runs")).to_be_visible()
