"""Target dates are calendar days counted from the anchor: a change of clock (29 March 2026 in
Paris) moves nothing, a visit anchored on another counts from that visit's actual date, and a
window is inclusive at both ends."""

from __future__ import annotations

from datetime import date

from datacapt.ecrf.definition import Schedule, Visit
from datacapt.ecrf.timing import anchor_problem, timings

SCHEDULE = Schedule(
    visits=[
        Visit("V.BASE", "baseline", {"en": "Baseline"}, day=0),
        Visit("V.W4", "week4", {"en": "Week 4"}, day=28, window_before=3, window_after=3),
        Visit("V.FU", "follow_up", {"en": "Follow-up"}, day=56, window_after=7, anchor="week4"),
        Visit("V.END", "end", {"en": "End"}),
    ]
)


def test_targets_count_calendar_days_across_a_change_of_clock():
    found = timings(SCHEDULE, date(2026, 3, 20), {})
    assert found["week4"].target == date(2026, 4, 17)
    assert (found["week4"].earliest, found["week4"].latest) == (
        date(2026, 4, 14),
        date(2026, 4, 20),
    )
    assert found["follow_up"].target is None  # week 4 has no date yet
    assert found["end"].target is None  # not planned on a day


def test_an_anchored_visit_counts_from_its_anchors_actual_date():
    found = timings(SCHEDULE, date(2026, 3, 20), {"week4": date(2026, 4, 22)})
    assert found["follow_up"].target == date(2026, 5, 20)  # 56 - 28 days after 22 April
    assert found["week4"].actual == date(2026, 4, 22)
    assert found["week4"].outside(date(2026, 4, 22))
    assert not found["week4"].outside(date(2026, 4, 20))
    assert not found["week4"].overdue(date(2026, 12, 1))  # it took place
    assert found["follow_up"].overdue(date(2026, 5, 28)) and not found["follow_up"].overdue(
        date(2026, 5, 27)
    )


def test_anchors_must_name_a_dated_visit_and_not_loop():
    visits = {v.name: v for v in SCHEDULE.visits}
    assert anchor_problem(SCHEDULE, visits["follow_up"]) is None
    visits["end"].anchor = "nowhere"
    assert anchor_problem(SCHEDULE, visits["end"]) == "unknown"
    visits["follow_up"].anchor = "end"
    assert anchor_problem(SCHEDULE, visits["follow_up"]) == "unscheduled"
    visits["week4"].anchor, visits["follow_up"].anchor = "follow_up", "week4"
    assert anchor_problem(SCHEDULE, visits["week4"]) == "cycle"
