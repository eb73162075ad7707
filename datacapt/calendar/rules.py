"""When a site can receive a subject: wall-clock times in the site's zone turned into UTC
instants (refusing times a change of clock skips), opening hours, closures and public holidays.

Two choices, documented here because a person typing a time cannot see them:

* a local time that does not exist (29 Mar 2026 02:30 in Europe/Paris, the clocks jump from
  02:00 to 03:00) is refused with a message saying so, never moved silently;
* a local time that happens twice (25 Oct 2026 02:30 in Europe/Paris) is the *first* of the two,
  still in summer time (``fold=0``, Python's and RFC 5545's choice): 00:30 UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from datacapt.i18n import _
from datacapt.validation import ValidationError

#: Opening hours when a site has set none: Monday to Friday, 08:00 to 18:00.
DEFAULT_HOURS: dict[str, list[str]] = {str(day): ["08:00", "18:00"] for day in range(1, 6)}


def local_instant(day: date, at: time, zone: ZoneInfo, field: str) -> datetime:
    """The UTC instant of ``at`` on ``day`` in ``zone`` (the first one of a repeated hour)."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        raise ValidationError(
            field,
            _(
                "${time} does not exist on ${day} in ${zone}: the clocks go forward at that "
                "hour. Choose another time.",
                mapping={"time": at.strftime("%H:%M"), "day": day.isoformat(), "zone": zone.key},
            ),
        )
    return instant


def parse_time(raw: str, field: str) -> time:
    try:
        return time.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationError(
            field, _("Enter a time, for example ${example}.", mapping={"example": "14:05"})
        ) from None


@lru_cache(maxsize=256)
def _holidays(country: str, year: int, language: str) -> dict[date, str]:
    """The package names holidays in English where it has no names in ``language``."""
    try:
        return dict(holidays.country_holidays(country, years=year, language=language))
    except NotImplementedError:  # a country the package does not know: no public holidays
        return {}


def public_holiday(country: str | None, day: date, language: str = "en") -> str | None:
    """The name (in ``language`` where known) of the public holiday on ``day`` in ``country``
    (ISO 3166-1), if any."""
    if not country:
        return None
    return _holidays(country.upper(), day.year, "en_US" if language == "en" else language).get(day)


@dataclass(frozen=True)
class Closure:
    starts_on: date
    ends_on: date
    reason: str


def check_open(
    starts: datetime,
    ends: datetime,
    zone: ZoneInfo,
    *,
    hours: dict[str, list[str]],
    closures: list[Closure],
    country: str | None,
    language: str = "en",
) -> None:
    """Refuses a time range (UTC) the site is not open for, with the reason."""
    local_start, local_end = starts.astimezone(zone), ends.astimezone(zone)
    day = local_start.date()
    closure = next((c for c in closures if c.starts_on <= day <= c.ends_on), None)
    if closure is not None:
        raise ValidationError(
            "date",
            _("The site is closed on this day: ${reason}.", mapping={"reason": closure.reason}),
        )
    holiday = public_holiday(country, day, language)
    if holiday is not None:
        raise ValidationError(
            "date",
            _("This day is a public holiday at the site: ${name}.", mapping={"name": holiday}),
        )
    opening = hours.get(str(day.isoweekday()))
    if opening is None:
        raise ValidationError("date", _("The site is closed on this day of the week."))
    opens, closes = (time.fromisoformat(t) for t in opening)
    if local_end.date() != day or local_start.time() < opens or local_end.time() > closes:
        raise ValidationError(
            "start",
            _(
                "The site is open from ${opens} to ${closes} on this day.",
                mapping={"opens": opening[0], "closes": opening[1]},
            ),
        )
