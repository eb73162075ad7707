"""When a saved export runs next: whole hours of its own time zone, across daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from datacapt.exports.schedule import next_run
from datacapt.models.exports import Every

PARIS = "Europe/Paris"


def test_weekly_runs_on_its_weekday_at_its_local_hour_across_daylight_saving():
    friday = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)
    first = next_run(Every.WEEK, 7, PARIS, friday, weekday=0)
    assert first == datetime(2026, 10, 26, 6, 0, tzinfo=UTC)  # 07:00 CET (summer time is over)
    before = next_run(Every.WEEK, 7, PARIS, datetime(2026, 10, 18, tzinfo=UTC), weekday=0)
    assert before == datetime(2026, 10, 19, 5, 0, tzinfo=UTC)  # 07:00 CEST


def test_a_slot_is_strictly_after_the_moment_given():
    slot = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # Monday 07:00 in Paris
    assert next_run(Every.WEEK, 7, PARIS, slot, weekday=0) == slot + timedelta(days=7)
    assert next_run(Every.DAY, 7, PARIS, slot) == slot + timedelta(days=1)
    assert next_run(Every.DAY, 7, PARIS, slot - timedelta(seconds=1)) == slot


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    every=st.sampled_from(Every),
    hour=st.integers(0, 23),
    weekday=st.integers(0, 6),
    zone=st.sampled_from(["UTC", PARIS, "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]),
)
def test_the_next_slot_is_soon_after_and_at_the_asked_hour(moment, every, hour, weekday, zone):
    slot = next_run(every, hour, zone, moment, weekday)
    assert moment < slot <= moment + timedelta(days=7 if every is Every.WEEK else 1, hours=2)
    local = slot.astimezone(ZoneInfo(zone))
    if local.hour == hour:  # else the hour does not exist that day (clocks jumped over it)
        assert local.minute == 0
    if every is Every.WEEK:
        assert local.weekday() == weekday or local.hour != hour
