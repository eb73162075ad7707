"""When a scheduled visit is due: its target date and window, from its anchor.

A visit's ``day`` counts from day 0, the subject's inclusion date; a visit anchored on another
visit counts from that visit's actual date instead (the anchor's own day subtracted, so the
schedule still reads day 0 / day 28). Dates are calendar days: ``date`` arithmetic only, never a
datetime that a change of clock could shift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from datacapt.ecrf.definition import Schedule, Visit


@dataclass(frozen=True)
class Timing:
    """A visit's target date and window (None: not known yet, its anchor has no date), and its
    actual date if it took place."""

    target: date | None
    earliest: date | None
    latest: date | None
    actual: date | None = None

    def overdue(self, today: date) -> bool:
        """The window closed before ``today`` and the visit has no date."""
        return self.actual is None and self.latest is not None and self.latest < today

    def outside(self, on: date) -> bool:
        """``on`` falls outside the window (False while the window is not known)."""
        return (
            self.earliest is not None
            and self.latest is not None
            and not (self.earliest <= on <= self.latest)
        )


def offset(schedule: Schedule, visit: Visit) -> tuple[str | None, int] | None:
    """(the anchor visit's name or None for inclusion, days from the anchor's date to the
    target); None when the visit is not scheduled on a day or its anchor cannot count."""
    if visit.day is None:
        return None
    if visit.anchor is None:
        return None, visit.day
    anchor = next((v for v in schedule.visits if v.name == visit.anchor), None)
    if anchor is None or anchor.day is None:
        return None
    return anchor.name, visit.day - anchor.day


def window(target: date | None, visit: Visit) -> Timing:
    if target is None:
        return Timing(None, None, None)
    return Timing(
        target,
        target - timedelta(days=visit.window_before),
        target + timedelta(days=visit.window_after),
    )


def timings(
    schedule: Schedule, included_on: date | None, actual: Mapping[str, date]
) -> dict[str, Timing]:
    """Each scheduled visit's timing (by name) for a subject included on ``included_on``
    (None: not included) whose visits took place on ``actual`` (first occurrences, by name)."""
    found: dict[str, Timing] = {}
    for visit in schedule.visits:
        where = offset(schedule, visit)
        base = None
        if where is not None:
            anchor, days = where
            start = included_on if anchor is None else actual.get(anchor)
            base = start + timedelta(days=days) if start is not None else None
        timing = window(base, visit)
        found[visit.name] = Timing(
            timing.target, timing.earliest, timing.latest, actual.get(visit.name)
        )
    return found


def anchor_problem(schedule: Schedule, visit: Visit) -> str | None:
    """Why ``visit``'s anchor cannot count (a message key for the designer), or None."""
    if visit.anchor is None:
        return None
    by_name = {v.name: v for v in schedule.visits}
    anchor = by_name.get(visit.anchor)
    if anchor is None or anchor is visit or anchor.name == visit.name:
        return "unknown"
    if anchor.day is None or anchor.repeating:
        return "unscheduled"
    seen = {visit.name}
    while anchor is not None and anchor.anchor is not None:
        if anchor.name in seen:
            return "cycle"
        seen.add(anchor.name)
        anchor = by_name.get(anchor.anchor)
    if anchor is not None and anchor.name in seen:
        return "cycle"
    return None
