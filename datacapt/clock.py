"""Today's date in a time zone. A date a rule compares with (a status date "not in the future",
``today()`` in an expression) is the date where the people entering data are, never the
server's: just before midnight UTC it is already tomorrow in Paris."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

from pyramid.registry import Registry

from datacapt.config import get_app_settings


def now() -> datetime:
    """The current time in UTC: the one clock the dates below read (tests set it)."""
    return datetime.now(UTC)


def today_in(zone: tzinfo) -> date:
    """The date it is now in ``zone``."""
    return now().astimezone(zone).date()


def installation_today(registry: Registry) -> date:
    """Today in the installation's zone (``datacapt.default_timezone``), for work without a
    signed-in user (imports, the command line); studies have no zone of their own yet."""
    return today_in(ZoneInfo(get_app_settings(registry).default_timezone))
