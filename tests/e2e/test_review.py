"""Monitoring in a real browser: the monitor verifies a form, the data manager locks it, the
investigator signs it with the password."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_sign_in import sign_in

FORM = "/acme/demo/subjects/par01-0001/screening/vital_signs/"


def as_user(browser: Browser, live_url: str, email: str) -> Page:
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Paris")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_url, email)
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.errors = errors  # type: ignore[attr-defined]
    return page


def test_monitor_verifies_data_manager_locks_investigator_signs(browser: Browser, live_url: str):
    monitor = as_user(browser, live_url, "monitor@acme.example")
    monitor.goto(f"{live_url}/acme/demo/sites/par01/")
    monitor.get_by_role("link", name="Source data verification").click()
    box = monitor.get_by_label("Verify vital_signs, screening, of par01-0001")
    row = monitor.locator("table.sdv tbody tr", has=box)
    expect(row).to_contain_text("Awaiting SDV")
    monitor.goto(live_url + FORM)
    systolic = monitor.locator("#sdv-I\\.SYSTOLIC")
    expect(systolic).to_contain_text("Awaiting SDV")
    systolic.get_by_label("Verified against source").check()
    monitor.get_by_role("button", name="Verify the ticked values").press("Enter")
    expect(monitor.locator("#status")).to_contain_text("1 value verified.")
    expect(monitor.locator("#sdv-I\\.SYSTOLIC")).to_contain_text("Verified")
    monitor.get_by_role("button", name="Verify everything awaiting here").click()
    expect(monitor.locator("#status")).to_contain_text("2 values verified.")
    expect(monitor.locator(".form-meta")).to_contain_text("Verified")

    manager = as_user(browser, live_url, "data-manager@acme.example")
    manager.goto(live_url + FORM)
    manager.get_by_role("button", name="Lock", exact=True).click()
    expect(manager.locator("#status")).to_contain_text("1 form changed.")
    expect(manager.locator(".form-meta")).to_contain_text("Locked")

    investigator = as_user(browser, live_url, "investigator@acme.example")
    investigator.goto(live_url + FORM)
    expect(investigator.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    investigator.get_by_role("link", name="Sign this form").click()
    expect(investigator.locator("#meaning")).to_have_text("I approve the data in this form.")
    investigator.get_by_label("Your password").fill("not my password")
    investigator.get_by_role("button", name="Sign").click()
    expect(investigator.locator(".error-summary")).to_be_focused()
    expect(investigator.locator("#field-password-error")).to_contain_text("not your password")
    investigator.get_by_label("Your password").fill("Demo-password-2026")
    investigator.get_by_label("Your password").press("Enter")
    expect(investigator.locator("#status")).to_contain_text("1 signature recorded.")
    signature = investigator.locator(".signatures li").first
    expect(signature).to_contain_text("Signed")
    expect(signature).to_contain_text("Dr Inès Martin")
    expect(signature).to_contain_text("I approve the data in this form.")
    expect(investigator.locator(".form-meta")).to_contain_text("Signed")
    for page in (monitor, manager, investigator):
        assert not page.errors, page.errors  # type: ignore[attr-defined]
        page.context.close()
