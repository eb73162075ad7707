"""A session that ends while a form is open, in a real browser: a warning before the idle
timeout, and a save that meets an ended session keeps what was typed, signs in again in place
and is saved once, under the same user only."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pyotp
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select, update

from datacapt.cli.demo import DEMO_PASSWORD
from datacapt.models import AuditEvent, Subject, User, UserSession
from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in


def expire_sessions(database: str, email: str) -> None:
    """The server's clock says the user has been idle for two hours."""
    engine = create_engine(database)
    with engine.begin() as connection:
        user_id = connection.scalar(select(User.id).where(User.email == email))
        connection.execute(
            update(UserSession)
            .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
            .values(last_seen_at=datetime.now(UTC) - timedelta(hours=2))
        )
    engine.dispose()


def saved_changes(database: str, page: Page, field: str) -> list[tuple[str, str]]:
    """The audited changes of ``field`` on the subject whose form ``page`` shows, with who made
    them."""
    label = re.search(r"/subjects/([^/]+)/", page.url).group(1)
    engine = create_engine(database)
    with engine.connect() as connection:
        found = connection.execute(
            select(AuditEvent.new_value, User.email)
            .join(Subject, Subject.id == AuditEvent.subject_id)
            .join(User, User.id == AuditEvent.actor_id)
            .where(
                Subject.label == label,
                AuditEvent.action == "entry.value_changed",
                AuditEvent.field == field,
            )
        ).all()
    engine.dispose()
    return [tuple(row) for row in found]


def open_demographics_of_a_new_subject(page: Page, live_url: str) -> None:
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/subjects/")
    page.get_by_role("link", name="Enrol a subject").click()
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("heading", name=re.compile(r"Subject par01-\d{4}"))).to_be_visible()
    page.get_by_role("link", name="Demographics").first.click()
    expect(page.get_by_role("heading", name=re.compile("Demographics"))).to_be_visible()


def type_and_save_after_the_end(page: Page, live_database: str, email: str, height: str) -> None:
    page.get_by_label("Initials").fill("AB")
    page.get_by_label("Height").fill(height)
    page.get_by_label("Weight").fill("70.0")
    page.get_by_label("Weight").press("Tab")
    settled(page)
    expire_sessions(live_database, email)
    page.get_by_role("button", name="Save", exact=True).click()


def test_a_save_after_the_session_ended_is_kept_and_sent_after_signing_in_again(
    page: Page, live_url: str, live_database: str
):
    email = "investigator@acme.example"
    sign_in(page, live_url, email)
    open_demographics_of_a_new_subject(page, live_url)
    type_and_save_after_the_end(page, live_database, email, "171")

    dialog = page.get_by_role("dialog", name="Your session has ended")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("E-mail address")).to_have_value(email)
    expect(dialog.get_by_label("Password")).to_be_focused()
    assert "171" not in page.url and "AB" not in page.url

    dialog.get_by_label("Password").fill("not the password")
    dialog.get_by_role("button", name="Sign in").click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_have_text("The e-mail address or password is incorrect.")
    expect(alert).to_be_focused()
    expect(page.get_by_label("Height")).to_have_value("171")  # still kept behind the dialog
    assert saved_changes(live_database, page, "I.HEIGHT_CM") == []

    dialog.get_by_label("Password").fill(DEMO_PASSWORD)
    with page.expect_navigation():  # the save, sent again, answers with HX-Redirect
        dialog.get_by_role("button", name="Sign in").click()
    expect(page.locator("#status")).to_contain_text("Saved.")
    expect(page.get_by_label("Height")).to_have_value("171")
    expect(page.get_by_label("Weight")).to_have_value("70.0")
    assert saved_changes(live_database, page, "I.HEIGHT_CM") == [("171", email)]


def test_two_factor_accounts_give_their_code_in_place(
    page: Page, live_url: str, live_database: str
):
    email = "sub-investigator@acme.example"
    sign_in(page, live_url, email)
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/two-factor")
    page.get_by_role("button", name="Set up an authenticator").click()
    secret = page.locator("#manual-key").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.locator("#recovery-code-list li")).to_have_count(10)
    page.goto(f"{live_url}/")
    open_demographics_of_a_new_subject(page, live_url)
    type_and_save_after_the_end(page, live_database, email, "183")
    dialog = page.get_by_role("dialog", name="Your session has ended")
    dialog.get_by_label("Password").fill(DEMO_PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()
    code = dialog.get_by_label("Authentication code")
    expect(code).to_be_focused()
    code.fill(pyotp.TOTP(secret).at(time.time() + 30))  # the current one was used already
    with page.expect_navigation():
        dialog.get_by_role("button", name="Continue").click()
    expect(page.locator("#status")).to_contain_text("Saved.")
    expect(page.get_by_label("Height")).to_have_value("183")
    assert saved_changes(live_database, page, "I.HEIGHT_CM") == [("183", email)]


def test_another_user_signing_in_drops_the_pending_save(
    page: Page, live_url: str, live_database: str
):
    email = "investigator@acme.example"
    sign_in(page, live_url, email)
    open_demographics_of_a_new_subject(page, live_url)
    type_and_save_after_the_end(page, live_database, email, "158")
    dialog = page.get_by_role("dialog", name="Your session has ended")
    dialog.get_by_label("E-mail address").fill("monitor@acme.example")
    dialog.get_by_label("Password").fill(DEMO_PASSWORD)
    with page.expect_navigation():  # the page reloads under the other name
        dialog.get_by_role("button", name="Sign in").click()
    expect(page.locator("details.user-menu summary")).to_have_text("Morgan Monitor")
    expect(page.get_by_label("Height")).to_have_value("")
    assert saved_changes(live_database, page, "I.HEIGHT_CM") == []


def test_a_warning_before_the_idle_timeout_keeps_the_session(page: Page, live_url: str):
    page.clock.install()
    sign_in(page, live_url, "investigator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    # The page's own follow-up (the notification bell) is an answer from the server that
    # restarts the idle count: let it come before the clock runs, as a person's page does.
    page.clock.run_for(1)
    expect(page.locator("#notification-bell[hx-get]")).to_have_count(0)
    warning = page.get_by_role("dialog", name="Your session is about to end")
    expect(warning).to_be_hidden()
    page.clock.run_for("27:59")
    expect(warning).to_be_hidden()
    page.clock.run_for("00:02")
    expect(warning).to_be_visible()
    stay = warning.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()
    with page.expect_response(re.compile("/keep-alive$")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 204
    expect(warning).to_be_hidden()
    page.clock.run_for("27:00")  # counted again from “Stay signed in”
    expect(warning).to_be_hidden()
