"""The reports' filters: query parameters in, the sites and enrolment dates to count (times in
UTC) or errors out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pyramid.i18n import TranslationString

from datacapt.i18n import _
from datacapt.models import Site

FIELDS = ("site", "since", "until")


@dataclass(frozen=True)
class Filters:
    site: Site | None = None
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive (the day after the last day asked for)
    values: dict[str, str] = field(default_factory=dict)  # as typed, to fill the form again

    def as_query(self) -> dict[str, str]:
        """The filters as a URL keeps them (the page's, each download's)."""
        return {name: value for name, value in self.values.items() if value}


def _day(raw: str) -> date | None:
    """A calendar day; years outside 1900-2999 are typing errors (and would overflow in UTC)."""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2999 else None


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of ``day`` in the reader's zone, as a UTC time."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def parse_filters(
    params: Mapping[str, Any], sites: Sequence[Site], zone: ZoneInfo
) -> tuple[Filters, dict[str, TranslationString]]:
    """Read the filters; a site one may not see, or a date that is not one, gets a message
    next to its field and is not applied."""
    values = {name: str(params.get(name, "")).strip()[:40] for name in FIELDS}
    errors: dict[str, TranslationString] = {}
    site = next((site for site in sites if site.code == values["site"]), None)
    if values["site"] and site is None:
        errors["site"] = _("Choose a site from the list.")
    days: dict[str, date | None] = {}
    for name in ("since", "until"):
        days[name] = _day(values[name]) if values[name] else None
        if values[name] and days[name] is None:
            errors[name] = _("Enter a date (YYYY-MM-DD) between 1900 and 2999.")
    since, until = days["since"], days["until"]
    if since and until and since > until:
        errors["until"] = _("The end date must not be before the start date.")
        until = None
    return (
        Filters(
            site=site,
            since=_start_of(since, zone) if since else None,
            until=_start_of(until + timedelta(days=1), zone) if until else None,
            values=values,
        ),
        errors,
    )
