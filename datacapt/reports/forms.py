"""The reports' filters: query parameters in, the sites and enrolment dates to count (times in
UTC) or errors out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pyramid.i18n import TranslationString

from datacapt.i18n import _
from datacapt.models import Site
from datacapt.validation import day_range

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
    since, until = day_range(values, zone, errors)
    return (
        Filters(
            site=site,
            since=since,
            until=until,
            values=values,
        ),
        errors,
    )
