"""When a saved export runs next: every day, or every week on one weekday, at a whole hour of
the definition's time zone (07:00 in Paris stays 07:00 across daylight-saving changes)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from datacapt.models.exports import Every


def next_run(every: Every, hour: int, zone: str, after: datetime, weekday: int = 0) -> datetime:
    """The first slot strictly after ``after``, in UTC; ``weekday`` 0 (Monday) … 6 (Sunday)
    counts for weekly runs only. A slot missed while nothing ran is skipped, not caught up."""
    local_zone = ZoneInfo(zone)
    day: date = after.astimezone(local_zone).date()
    if every is Every.WEEK:
        day += timedelta(days=(weekday - day.weekday()) % 7)
    step = timedelta(days=7 if every is Every.WEEK else 1)
    while True:
        slot = datetime.combine(day, time(hour), tzinfo=local_zone).astimezone(UTC)
        if slot > after:
            return slot
        day += step
