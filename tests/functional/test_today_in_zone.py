"""Today is the date where the user is, not the server's: at 23:30 UTC it is already the next
day in Paris, for the "not in the future" rule of a status date and for ``today`` in the
expressions a save calculates with."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from datacapt import clock
from datacapt.ecrf import versions
from datacapt.ecrf.definition import Item, ItemType
from datacapt.models import ItemValue, SubjectStatus
from tests.factories import build_world, csrf_token, login, publish_definition

SUBJECT = "/acme/demo/subjects/par01-0001/"
DEMOGRAPHICS = SUBJECT + "screening/demographics/"
#: 23:30 UTC on 4 December: 00:30 on the 5th in Paris (the installation's default zone).
LATE_EVENING_UTC = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
PARIS_DAY, UTC_DAY = date(2026, 12, 5), date(2026, 12, 4)
ENTERED_ON = Item(
    oid="I.ENTERED_ON",
    name="entered_on",
    type=ItemType.CALCULATED,
    label={"en": "Entered on"},
    calculation="today",
)


@pytest.fixture(autouse=True)
def late_evening(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: LATE_EVENING_UTC)


@pytest.fixture
def world(dbsession, registry):
    """The demo design with a calculated "entered on" (today) in demographics, published."""
    world = build_world(dbsession, registry)
    draft = versions.draft(dbsession, world.study)
    definition = versions.definition_of(draft)
    definition.form("demographics").sections[0].subsections[0].blocks.append(ENTERED_ON)
    publish_definition(dbsession, world.study, draft, definition, "Today")
    dbsession.flush()
    return world


def coordinator_in(testapp, world, dbsession, zone: str | None):
    """The Paris coordinator signed in, with ``zone`` as their own (None: the installation's)."""
    world.users["coordinator"].timezone = zone
    dbsession.flush()
    assert login(testapp, world.users["coordinator"].email).status_int == 303
    return testapp


def test_the_clock_gives_each_zone_its_own_date():
    assert clock.today_in(ZoneInfo("Europe/Paris")) == PARIS_DAY
    assert clock.today_in(UTC) == UTC_DAY
    assert clock.today_in(ZoneInfo("America/New_York")) == UTC_DAY


def test_work_without_a_user_takes_the_installations_date(registry):
    assert clock.installation_today(registry) == PARIS_DAY


@pytest.mark.parametrize(("zone", "today"), [(None, PARIS_DAY), ("UTC", UTC_DAY)])
def test_a_status_date_may_be_today_where_the_user_is_not_tomorrow(
    testapp, world, dbsession, zone, today
):
    coordinator = coordinator_in(testapp, world, dbsession, zone)
    token = csrf_token(coordinator)
    withdrawn = {"status": "withdrawn", "reason": "Moved away.", "csrf_token": token}
    tomorrow = {**withdrawn, "date": (today + timedelta(days=1)).isoformat()}
    refused = coordinator.post(SUBJECT + "@@status", tomorrow, status=422)
    assert "The date cannot be in the future." in refused.text
    done = coordinator.post(SUBJECT + "@@status", {**withdrawn, "date": today.isoformat()})
    assert done.status_int == 303
    dbsession.expire_all()
    subject = world.subjects["par01-0001"]
    assert (subject.status, subject.status_date) == (SubjectStatus.WITHDRAWN, today)


@pytest.mark.parametrize(("zone", "today"), [(None, PARIS_DAY), ("UTC", UTC_DAY)])
def test_today_in_a_saved_calculation_is_the_users_date(testapp, world, dbsession, zone, today):
    coordinator = coordinator_in(testapp, world, dbsession, zone)
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    for name, value in {"sex": "1", "height_cm": "175", "weight_kg": "70.0"}.items():
        form[name] = value
    assert form.submit().status_int == 303
    stored = dbsession.scalar(select(ItemValue.value).where(ItemValue.item_oid == "I.ENTERED_ON"))
    assert stored == today.isoformat()
