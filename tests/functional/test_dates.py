"""Dates as people read and type them: each date item in its own order on every page that
shows it, timestamps that no reader takes for another day, a picker and a "Today" button, and
partial dates (unknown day or month) where the design allows them."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import webtest
from sqlalchemy import select

from datacapt import clock
from datacapt.ecrf import versions
from datacapt.ecrf.definition import Item, ItemType, Range, form_items
from datacapt.exports.options import ExportFormat, ExportOptions
from datacapt.exports.services import export
from datacapt.models import AuditEvent
from tests.factories import SETUP, build_world, login, publish_definition
from tests.functional.test_design import FORM as DESIGN_FORM
from tests.functional.test_design import editor_form
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


@pytest.fixture
def partial_world(dbsession, registry):
    """The demo design with a date of birth that may be partial and is expected from 1950,
    published as version 2."""
    world = build_world(dbsession, registry)
    draft = versions.draft(dbsession, world.study)
    definition = versions.definition_of(draft)
    birth = next(i for i in form_items(definition.form("demographics")) if i.name == "birth_date")
    birth.partial_dates = True
    birth.soft_range = Range("1950-01-01", None)
    definition.form("demographics").sections[0].subsections[0].blocks.append(YEARS_AFTER_1950)
    publish_definition(dbsession, world.study, draft, definition, "Partial dates")
    dbsession.flush()
    return world


YEARS_AFTER_1950 = Item(
    oid="I.AFTER_1950",
    name="after_1950",
    type=ItemType.CALCULATED,
    label={"en": "Years after 1950"},
    calculation="datediff('1950-01-01', [birth_date], 'y')",
)


def test_a_partial_date_is_typed_stored_shown_and_exported_at_its_precision(
    testapp, partial_world, dbsession, tmp_path
):
    login(testapp, partial_world.users["coordinator"].email)
    page = testapp.get(DEMOGRAPHICS)
    assert "UK/03/1970" in page.html.find(id="block-I.BIRTH_DATE").text  # the hint
    saved = fill(entry_form(page), birth_date="uk/03/1970", sex="1", height_cm="180").submit()
    assert saved.status_int == 303
    assert values_of(dbsession)["I.BIRTH_DATE"].value == "1970-03"
    assert values_of(dbsession)["I.BIRTH_DATE"].value_date is None  # no single day
    assert "I.AFTER_1950" not in values_of(dbsession)  # expressions: a partial date is missing
    again = testapp.get(DEMOGRAPHICS)
    assert again.html.find(id="item-birth_date")["value"] == "UK/03/1970"
    fill(entry_form(again), birth_date="UK/UNK/1970").submit()
    assert values_of(dbsession)["I.BIRTH_DATE"].value == "1970"
    history = testapp.get(DEMOGRAPHICS + "@@history", {"item": "I.BIRTH_DATE"}, headers=HTMX)
    cells = [td.text.strip() for td in history.html.select("tbody tr")[-1].find_all("td")]
    assert cells[2:4] == ["UK/03/1970", "UK/UNK/1970"]

    fill(entry_form(testapp.get(DEMOGRAPHICS)), birth_date="15/03/1970").submit()
    assert values_of(dbsession)["I.AFTER_1950"].value is not None  # a whole date calculates
    fill(entry_form(testapp.get(DEMOGRAPHICS)), birth_date="UK/UNK/1970").submit()
    for typed, message in (
        ("15/UNK/1970", "the day is unknown too"),
        ("UK/13/1970", "This date does not exist."),
        ("UK/UNK/UK", "four digits"),
        ("UK/03/1899", "01/01/1900 or more"),  # the whole month is before the minimum
    ):
        refused = fill(entry_form(testapp.get(DEMOGRAPHICS)), birth_date=typed).submit(status=422)
        assert message in refused.html.find(id="item-birth_date-message").text
    assert values_of(dbsession)["I.BIRTH_DATE"].value == "1970"

    target = tmp_path / "export"
    export(
        dbsession, partial_world.study, ExportOptions(format=ExportFormat.CSV), target, actor=SETUP
    )
    with zipfile.ZipFile(target) as archive:
        rows = csv.DictReader(io.TextIOWrapper(archive.open("values.csv"), "utf-8-sig"))
        exported = {row["item"]: row["value"] for row in rows}
    assert exported["birth_date"] == "1970"


def test_a_whole_date_is_required_where_the_item_takes_no_partial_date(coordinator):
    form = fill(entry_form(coordinator.get(DEMOGRAPHICS)), birth_date="UK/03/1970")
    refused = form.submit(status=422)
    assert "needs the whole date" in refused.html.find(id="item-birth_date-message").text


def test_a_designer_lets_a_date_item_take_partial_dates_and_the_preview_accepts_them(
    testapp, world, dbsession
):
    login(testapp, world.users["study_admin"].email)
    page = testapp.get(DESIGN_FORM + "@@block", {"oid": "I.BIRTH_DATE"})
    form = editor_form(page)
    assert not form["partial-dates"].checked
    form["partial-dates"] = True
    assert form.submit().status_int == 303
    dbsession.expire_all()
    draft = versions.definition_of(versions.draft(dbsession, world.study))
    assert draft.item("birth_date").partial_dates is True
    [event] = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "design.block_changed")
    ).all()
    assert '"partial_dates": true' in event.new_value
    preview = testapp.get(DESIGN_FORM + "@@preview").forms["preview-form"]
    checked = fill(preview, birth_date="UK/03/1970").submit()
    assert checked.html.find(id="item-birth_date").get("aria-invalid") is None
    assert checked.html.find(id="item-birth_date")["value"] == "UK/03/1970"


def test_a_query_thread_words_a_date_in_the_items_order(testapp, partial_world, dbsession):
    login(testapp, partial_world.users["coordinator"].email)
    fill(entry_form(testapp.get(DEMOGRAPHICS)), birth_date="15/03/1940", height_cm="180").submit()
    panel = testapp.get(DEMOGRAPHICS + "@@queries", {"item": "I.BIRTH_DATE"})
    thread = panel.html.select_one(".thread")
    assert "Expected 01/01/1950 or more." in thread.text  # raised by the soft range
    assert re.fullmatch(r"Europe/Paris \(UTC\+0[12]:00\)", thread.select_one("time")["title"])
    answer = next(f for name, f in panel.forms.items() if str(name).endswith("-answer"))
    answer["message"] = "Misread the year."
    value = panel.html.find("input", attrs={"name": "value"})
    assert value["placeholder"] == "DD/MM/YYYY"  # typed as in the form
    answer["value"] = "15/03/1954"
    assert answer.submit().status_int in (200, 303)
    assert values_of(dbsession)["I.BIRTH_DATE"].value == "1954-03-15"
