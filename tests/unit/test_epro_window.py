"""An ePRO window is counted in the subject's own days: from their local midnight, whatever
summer time does in between (Europe/Paris changes on 29 March and 25 October 2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from datacapt.epro.services import window


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("anchor", "offset", "days", "zone", "opens", "closes"),
    [
        # winter: Paris is UTC+1
        (date(2026, 1, 10), 0, 1, "Europe/Paris", utc(2026, 1, 9, 23), utc(2026, 1, 10, 23)),
        # across 29 March: opens at UTC+1 midnight, closes at UTC+2 midnight (a 47-hour window)
        (date(2026, 3, 27), 1, 2, "Europe/Paris", utc(2026, 3, 27, 23), utc(2026, 3, 29, 22)),
        # across 25 October: a 49-hour window
        (date(2026, 10, 24), 0, 2, "Europe/Paris", utc(2026, 10, 23, 22), utc(2026, 10, 25, 23)),
        # another subject's zone, a negative offset (before the anchor)
        (date(2026, 6, 15), -3, 7, "America/New_York", utc(2026, 6, 12, 4), utc(2026, 6, 19, 4)),
        # a window of no days is still one day long
        (date(2026, 6, 15), 0, 0, "Asia/Tokyo", utc(2026, 6, 14, 15), utc(2026, 6, 15, 15)),
    ],
)
def test_window_opens_and_closes_at_the_subjects_midnights(
    anchor, offset, days, zone, opens, closes
):
    assert window(anchor, offset, days, zone) == (opens, closes)
