"""Datacapt on a phone (390 × 844): no page is wider than the screen, the header's menus fold
behind a menu button the keyboard can use, controls are big enough to touch, and number
fields ask for a numeric keypad."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_sign_in import sign_in

WIDTH = 390
PAGES = {
    "study home": "/acme/demo/",
    "casebook": "/acme/demo/subjects/par01-0001/",
    "form entry": "/acme/demo/subjects/par01-0001/screening/demographics/",
    "query list": "/acme/demo/queries/",
    "dashboard": "/acme/demo/subjects/@@dashboard",
}
#: Visible controls smaller than 24 × 24 px, but links inside a sentence (WCAG 2.5.8 exempts
#: them: the text around them gives the spacing).
SMALL_TARGETS = """() => [...document.querySelectorAll(
    'a, button, summary, select, input[type=checkbox], input[type=radio]')]
  .filter(el => el.checkVisibility() && !(el.tagName === 'A' && el.closest('p, dd')))
  .map(el => [el, el.getBoundingClientRect()])
  .filter(([el, box]) => box.width < 24 || box.height < 24)
  .map(([el, box]) => `${el.tagName} “${el.textContent.trim()}” ${box.width}×${box.height}`)"""


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": WIDTH, "height": 844}, locale="en-GB", timezone_id="Europe/Paris"
    )
    yield context.new_page()
    context.close()


def page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_main_pages_fit_a_phone(phone: Page, live_url: str):
    sign_in(phone, live_url, "investigator@acme.example")
    expect(phone.get_by_role("heading", name="Your studies")).to_be_visible()
    for name, path in PAGES.items():
        phone.goto(live_url + path)
        expect(phone.locator("main h1")).to_be_visible()
        assert page_width(phone) <= WIDTH, f"{name} is {page_width(phone)} px wide"
        assert phone.evaluate(SMALL_TARGETS) == [], name
        assert phone.get_by_role("button", name="Menu").get_attribute("aria-expanded") == "false"


def test_the_header_menu_opens_and_closes_with_the_keyboard(phone: Page, live_url: str):
    sign_in(phone, live_url, "investigator@acme.example")
    expect(phone.get_by_role("heading", name="Your studies")).to_be_visible()
    phone.goto(f"{live_url}/acme/demo/")
    menu = phone.get_by_role("button", name="Menu")
    studies = phone.locator("details.switcher > summary")
    user = phone.locator("details.user-menu > summary")
    expect(studies).to_be_hidden()
    expect(user).to_be_hidden()

    menu.focus()
    phone.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(studies).to_be_visible()
    expect(user).to_have_text("Dr Inès Martin")
    phone.keyboard.press("Tab")
    expect(studies).to_be_focused()
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("link", name="demo Demonstration study")).to_be_visible()
    assert page_width(phone) <= WIDTH

    phone.keyboard.press("Escape")  # first the open menu
    expect(studies).to_be_focused()
    expect(menu).to_have_attribute("aria-expanded", "true")
    phone.keyboard.press("Escape")  # then the header's menu
    expect(menu).to_be_focused()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(studies).to_be_hidden()

    menu.click()
    expect(user).to_be_visible()
    menu.click()
    expect(user).to_be_hidden()


def test_number_fields_ask_for_a_numeric_keypad(phone: Page, live_url: str):
    sign_in(phone, live_url, "investigator@acme.example")
    expect(phone.get_by_role("heading", name="Your studies")).to_be_visible()
    phone.goto(live_url + PAGES["form entry"])
    expect(phone.get_by_label("Height")).to_have_attribute("inputmode", "numeric")
    expect(phone.get_by_label("Weight")).to_have_attribute("inputmode", "decimal")
    expect(phone.get_by_label("Initials")).not_to_have_attribute("inputmode", "numeric")
