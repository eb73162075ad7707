"""The days a calendar view shows: a day, a week from Monday, or a month in whole weeks, and
where they begin and end in a site's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

#: The calendar's views: how many days each shows around the day asked for.
PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    """The days a calendar view shows (``first`` to ``last``, whole weeks for a month), in
    rows of a week, and the days its previous and next buttons go to."""

    view: str
    day: date
    weeks: list[list[date]]
    previous: date
    following: date

    @property
    def first(self) -> date:
        return self.weeks[0][0]

    @property
    def last(self) -> date:
        return self.weeks[-1][-1]


def period(view: str, day: date) -> Period:
    """The ``view`` ("day", "week" from Monday, "month") that holds ``day``."""
    if view == "day":
        return Period(view, day, [[day]], day - timedelta(days=1), day + timedelta(days=1))
    monday = day - timedelta(days=day.weekday())
    if view == "week":
        week = [monday + timedelta(days=n) for n in range(7)]
        return Period(view, day, [week], day - timedelta(days=7), day + timedelta(days=7))
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    start = first - timedelta(days=first.weekday())
    weeks = []
    while start < following:
        weeks.append([start + timedelta(days=n) for n in range(7)])
        start += timedelta(days=7)
    return Period(view, day, weeks, (first - timedelta(days=1)).replace(day=1), following)


def local_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where ``first`` begins and the day after ``last`` begins, in ``zone``
    (midnight always exists in the zones that change clocks at night; the rare zones that skip
    midnight itself start the day at the instant after the gap, which astimezone gives)."""
    return (
        datetime.combine(first, datetime.min.time(), zone).astimezone(UTC),
        datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC),
    )
