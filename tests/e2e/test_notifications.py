"""Notifications in a real browser: a monitor raises a query on a subject of par01; the site's
coordinator sees the bell's count on the next page, opens the notification from the list and
lands on the query's thread, which reads it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_sign_in import sign_in
from tests.e2e.test_visit_queries import go_as, raise_here

SUBJECT = "/acme/demo/subjects/par01-0004/"
#: The bell once loaded (the page's placeholder, which fetches it, has the same words).
LOADED_BELL = "#notification-bell:not([hx-get])"


def test_the_coordinator_is_told_of_a_query_and_opens_it(page: Page, live_url: str):
    go_as(page, live_url, "coordinator@acme.example", "/notifications")
    mark_all = page.get_by_role("button", name="Mark all as read")
    if mark_all.count():  # other tests of the session told this coordinator of their queries
        mark_all.click()
        expect(page.locator("#status")).to_contain_text("Every notification is marked read.")
    expect(page.locator(LOADED_BELL)).to_have_text("Notifications")

    go_as(page, live_url, "monitor@acme.example", SUBJECT)
    raise_here(page, "The screening log does not list this subject.")

    page.context.clear_cookies()
    sign_in(page, live_url, "coordinator@acme.example")
    bell = page.locator(LOADED_BELL)
    expect(bell.locator("#notification-count")).to_have_text("1")
    expect(bell).to_contain_text("1 unread")
    bell.click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    notification = page.get_by_role("link", name=re.compile(r"Query \d+ raised on par01-0004"))
    expect(notification).to_have_count(1)
    notification.click()
    expect(page).to_have_url(re.compile(r"/acme/demo/queries/\d+/$"))
    expect(page.get_by_text("The screening log does not list this subject.")).to_be_visible()
    expect(page.locator(LOADED_BELL)).to_have_text("Notifications")  # read now
