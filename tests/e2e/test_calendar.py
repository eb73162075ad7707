"""Booking in a real browser: a coordinator opens her site's calendar, opens the booking form
of a day from the keyboard, is told beside the field that the end comes before the start, fixes
it, and finds the appointment on the calendar in the site's zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from playwright.sync_api import Page, expect

from tests.e2e.test_sign_in import sign_in


def a_working_day() -> str:
    """A weekday at least a week ahead that is no public holiday in France."""
    day = datetime.now(ZoneInfo("Europe/Paris")).date() + timedelta(days=7)
    closed = holidays.country_holidays("FR", years=[day.year, day.year + 1])
    while day.weekday() >= 5 or day in closed:
        day += timedelta(days=1)
    return day.isoformat()


def test_a_coordinator_books_an_appointment_from_the_calendar(page: Page, live_url: str):
    day = a_working_day()
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(live_url + "/acme/demo/sites/par01/")
    page.get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", name="Calendar of par01")).to_be_visible()
    expect(page.get_by_text("Times are in the site's zone: Europe/Paris.")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/sites/par01/@@calendar?view=week&day={day}")

    book_link = page.get_by_role("link", name=f"Book an appointment on {day}")
    book_link.focus()
    page.keyboard.press("Enter")
    form = page.locator("#booking-form")
    expect(form).to_be_visible()
    expect(page.get_by_role("heading", name="Book an appointment")).to_be_focused()
    expect(form.get_by_label("Date")).to_have_value(day)
    subject = form.get_by_label("Subject", exact=True)
    subject.select_option(index=1)
    label = subject.locator("option:checked").inner_text()
    form.get_by_label("Visit").select_option(label="Screening")
    form.get_by_label("Start").fill("14:05")
    form.get_by_label("End").fill("13:00")
    form.get_by_label("Room").select_option(label="Consultation room 1")
    form.get_by_role("button", name="Book the appointment").click()

    error = page.locator("#field-end-error")
    expect(error).to_contain_text("The end must be after the start.")
    expect(page.locator("#field-end")).to_have_attribute("aria-invalid", "true")
    page.locator("#field-end").fill("14:35")
    page.get_by_role("button", name="Book the appointment").click()

    expect(page).to_have_url(re.compile(rf"@@calendar\?day={day}$"))
    expect(page.locator("#status")).to_contain_text("The appointment was booked")
    cell = page.locator(f'td[data-day="{day}"]')
    appointment = cell.locator("li.appointment")
    expect(appointment).to_contain_text("14:05–14:35")
    expect(appointment).to_contain_text(label)
    expect(appointment).to_contain_text("Consultation room 1")
    expect(appointment).to_contain_text("(Booked)")

    appointment.get_by_role("button", name=re.compile("^Confirm")).click()
    expect(page.locator("#status")).to_contain_text("The appointment was changed.")
    expect(page.locator(f'td[data-day="{day}"] li.appointment')).to_contain_text("(Confirmed)")
