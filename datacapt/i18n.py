"""Languages and time zones: which one a request speaks, and how it shows a UTC time.

The choice of language goes user preference → cookie → browser's Accept-Language → English.
Times are stored in UTC and shown in the user's zone (the configured default otherwise).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from pyramid.config import Configurator
from pyramid.i18n import TranslationStringFactory
from pyramid.request import Request

from datacapt.clock import today_in
from datacapt.config import get_app_settings

_ = TranslationStringFactory("datacapt")

#: The interface languages, each named in itself.
LANGUAGES = {"en": "English", "fr": "Français", "de": "Deutsch", "pl": "Polski"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "datacapt_language"


def negotiate_locale(request: Request) -> str:
    identity = request.identity
    user = getattr(identity, "user", None)  # a subject session has no account
    if user is not None and user.locale in LANGUAGES:
        return user.locale
    return browser_locale(request)


def browser_locale(request: Request) -> str:
    """The language the browser asks for (the cookie, else ``Accept-Language``): what a page
    uses that cannot read the user's choice from the database (it is unavailable)."""
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return request.accept_language.lookup(list(LANGUAGES), default=DEFAULT_LANGUAGE)


def is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@lru_cache(maxsize=1)
def timezone_choices() -> list[str]:
    return ["UTC", *sorted(zone for zone in available_timezones() if "/" in zone)]


def request_timezone(request: Request) -> ZoneInfo:
    identity = request.identity
    user = getattr(identity, "user", None)
    name = user.timezone if user is not None else getattr(identity, "timezone", None)
    if not name or not is_timezone(name):
        name = get_app_settings(request.registry).default_timezone
    return ZoneInfo(name)


def request_today(request: Request) -> date:
    """Today where the user is (their zone, else the installation's)."""
    return today_in(request.timezone)


#: Day, month's name, year, 24-hour time: read the same way in every language (``03 Dec 2026
#: 14:05``, ``03 déc. 2026 14:05``), where ``12/3/26`` is 3 December to some and 12 March to others.
MOMENT_PATTERN = "dd MMM yyyy HH:mm"


def as_utc(value: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite hands back naive UTC times)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def zone_label(zone: ZoneInfo, value: datetime) -> str:
    """The zone a time is shown in, with its offset then: ``Europe/Paris (UTC+01:00)``."""
    offset = as_utc(value).astimezone(zone).utcoffset() or timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{zone.key} (UTC{sign}{hours:02}:{rest:02})"


@lru_cache(maxsize=16)
def _month_names(locale: str) -> tuple[str, ...]:
    """A language's abbreviated month names (``MMM``), January at 1."""
    names = Locale.parse(locale).months["format"]["abbreviated"]
    return ("", *(names[month] for month in range(1, 13)))


def format_moment(value: datetime, zone: ZoneInfo, locale: str) -> str:
    """What ``format_datetime(value, MOMENT_PATTERN, tzinfo=zone, locale=locale)`` gives, made
    directly: only the month's name depends on the language (a list page shows 50 times, ~75
    calls each through Babel's pattern formatter)."""
    local = as_utc(value).astimezone(zone)
    month = _month_names(locale)[local.month]
    return f"{local.day:02} {month} {local.year:04} {local.hour:02}:{local.minute:02}"


def format_local(request: Request, value: datetime | None) -> str:
    """A UTC time, in the request's zone and language: ``03 Dec 2026 14:05``."""
    if value is None:
        return ""
    return format_moment(value, request.timezone, request.locale_name)


def includeme(config: Configurator) -> None:
    config.add_translation_dirs("datacapt:locale/")
    config.set_locale_negotiator(negotiate_locale)
    config.add_request_method(request_timezone, "timezone", reify=True)
    config.add_request_method(request_today, "today", reify=True)
