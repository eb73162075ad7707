"""Dates as people read and type them: each date item in its own order on every page that
shows it, timestamps that no reader takes for another day, a picker and a "Today" button, and
partial dates (unknown day or month) where the design allows them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import webtest
from sqlalchemy import select

from datacapt import clock
from datacapt.models import AuditEvent
from tests.factories import build_world, login
from tests.functional.test_entry import DEMOGRAPHICS, HTMX, entry_form, fill, values_of


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def coordinator(testapp, world):
    assert login(testapp, world.users["coordinator"].email).status_int == 303
    return testapp


def test_a_date_comes_back_in_the_order_it_was_typed(coordinator, dbsession):
    page = coordinator.get(DEMOGRAPHICS)
    assert page.html.find(id="item-birth_date")["placeholder"] == "DD/MM/YYYY"
    fill(entry_form(page), birth_date="15/03/1970", height_cm="180").submit()
    assert values_of(dbsession)["I.BIRTH_DATE"].value == "1970-03-15"
    again = coordinator.get(DEMOGRAPHICS)
    assert again.html.find(id="item-birth_date")["value"] == "15/03/1970"
    resaved = fill(entry_form(again), height_cm="181").submit()
    assert resaved.status_int == 303
    assert values_of(dbsession)["I.BIRTH_DATE"].value == "1970-03-15"


def test_the_history_and_a_conflict_show_dates_in_the_items_order(app, world, dbsession):
    first = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    second = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(first, world.users["coordinator"].email)
    login(second, world.users["investigator"].email)
    fill(entry_form(first.get(DEMOGRAPHICS)), birth_date="15/03/1970").submit()
    stale = entry_form(second.get(DEMOGRAPHICS))
    fill(entry_form(first.get(DEMOGRAPHICS)), birth_date="16/03/1970").submit()
    history = first.get(DEMOGRAPHICS + "@@history", {"item": "I.BIRTH_DATE"}, headers=HTMX)
    cells = [td.text.strip() for td in history.html.select("tbody tr")[-1].find_all("td")]
    assert cells[2:4] == ["15/03/1970", "16/03/1970"]
    conflict = fill(stale, birth_date="17/03/1970").submit(status=409)
    table = conflict.html.find(id="conflict").text
    assert "17/03/1970" in table and "16/03/1970" in table and "1970-03" not in table


FRENCH_MONTHS = [
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
]


def test_a_timestamp_is_unambiguous_in_the_readers_language_and_zone(coordinator, world, dbsession):
    user = world.users["coordinator"]
    user.locale, user.timezone = "fr", "Asia/Kolkata"  # no summer time: always UTC+05:30
    dbsession.flush()
    fill(entry_form(coordinator.get(DEMOGRAPHICS)), height_cm="180").submit()
    event = dbsession.scalars(select(AuditEvent).where(AuditEvent.field == "I.HEIGHT_CM")).one()
    history = coordinator.get(DEMOGRAPHICS + "@@history", {"item": "I.HEIGHT_CM"}, headers=HTMX)
    moment = history.html.select_one("tbody tr td time")
    occurred = event.occurred_at.replace(tzinfo=event.occurred_at.tzinfo or UTC)
    local = occurred.astimezone(ZoneInfo("Asia/Kolkata"))
    assert moment["datetime"] == occurred.astimezone(UTC).isoformat()
    assert moment["title"] == "Asia/Kolkata (UTC+05:30)"
    month = FRENCH_MONTHS[local.month - 1]
    assert moment.text == f"{local:%d} {month} {local:%Y} {local:%H:%M}"
    subject = coordinator.get("/acme/demo/subjects/")
    added = subject.html.select_one("table.data tbody td time")
    assert re.fullmatch(r"\d\d [a-zéû.]+ \d{4} \d\d:\d\d", added.text)


def test_a_date_item_offers_a_calendar_and_today_where_the_user_is(
    coordinator, world, dbsession, monkeypatch
):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 4, 23, 30, tzinfo=UTC))
    page = coordinator.get(DEMOGRAPHICS)
    assert page.html.find(id="entry-form")["data-today"] == "2026-12-05"  # 00:30 in Paris
    tools = page.html.find(id="item-birth_date").find_next_sibling(class_="date-tools")
    assert tools["data-date-for"] == "item-birth_date" and tools["data-date-format"] == "dmy"
    assert tools.find("input", type="date").get("name") is None  # only the item's input is sent
    assert tools.find("button", class_="date-today").text.startswith("Today")
    assert page.html.find(id="item-height_cm").find_next_sibling(class_="date-tools") is None
    user = world.users["coordinator"]
    user.timezone = "America/New_York"
    dbsession.flush()
    page = coordinator.get(DEMOGRAPHICS)
    assert page.html.find(id="entry-form")["data-today"] == "2026-12-04"  # 18:30 in New York
