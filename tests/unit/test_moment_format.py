"""Times are shown as Babel's ``MOMENT_PATTERN`` would show them, without Babel's formatter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from datacapt.i18n import LANGUAGES, MOMENT_PATTERN, format_moment


def test_a_moment_reads_as_babel_formats_it_in_every_language_zone_and_month() -> None:
    zones = [ZoneInfo(name) for name in ("UTC", "Europe/Paris", "America/St_Johns", "Asia/Kolkata")]
    start = datetime(2026, 1, 1, 0, 7, tzinfo=UTC)
    moments = [start + timedelta(days=11 * n, hours=7 * n, minutes=13 * n) for n in range(40)]
    moments += [
        datetime(2026, 3, 29, 0, 59, tzinfo=UTC),  # Paris moves to summer time at 01:00 UTC
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 59, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
        datetime(999, 12, 31, 23, 0, tzinfo=UTC),  # a year of three digits is padded to four
        datetime(2026, 5, 4, 9, 5),  # naive: SQLite's UTC
    ]
    compared = 0
    for language in LANGUAGES:
        for zone in zones:
            for moment in moments:
                aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                expected = format_datetime(aware, MOMENT_PATTERN, tzinfo=zone, locale=language)
                assert format_moment(moment, zone, language) == expected
                compared += 1
    assert compared == len(LANGUAGES) * len(zones) * len(moments)
