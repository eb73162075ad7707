"""Input rules shared by services, forms and the command line.

Services raise :class:`ValidationError` naming the field, so a view can show the message next to
that field and the command line can print it on one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, TypeVar

from pyramid.i18n import TranslationString

from datacapt.i18n import _

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$|^[a-z0-9]$")
T = TypeVar("T")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 254


class ValidationError(Exception):
    def __init__(self, field: str, message: TranslationString) -> None:
        super().__init__(f"{field}: {message.interpolate()}")
        self.field = field
        self.message = message


def whole_number(text: str | None, limit: int = 10**9) -> int | None:
    """A non-negative whole number written in ASCII digits (``isdigit`` also accepts '²'),
    or None."""
    if not text or len(text) > len(str(limit)) or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= limit else None


def clean_code(field: str, value: str) -> str:
    """A short lowercase identifier used in URLs (tenant slug, study and site codes)."""
    value = (value or "").strip()
    if not CODE_PATTERN.match(value):
        raise ValidationError(
            field,
            _(
                "Use 1 to 40 lowercase letters, digits and hyphens, starting and ending with a "
                "letter or digit."
            ),
        )
    return value


def clean_text(field: str, value: str, max_length: int) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise ValidationError(field, _("This field is required."))
    if len(value) > max_length:
        raise ValidationError(
            field, _("At most ${count} characters.", mapping={"count": max_length})
        )
    return value


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()


def clean_email(field: str, value: str) -> str:
    value = normalize_email(value)
    if not value:
        raise ValidationError(field, _("This field is required."))
    if len(value) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.match(value):
        raise ValidationError(field, _("Enter a valid e-mail address."))
    return value


def _day(raw: str) -> date | None:
    """A calendar day; years outside 1900-2999 are typing errors (and would overflow in UTC)."""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2999 else None


def _start_of(day: date, zone: tzinfo) -> datetime:
    """Midnight of ``day`` in the reader's zone, as a UTC time."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def day_range(
    values: Mapping[str, str], zone: tzinfo, errors: dict[str, TranslationString]
) -> tuple[datetime | None, datetime | None]:
    """The days typed in the filters ``since`` and ``until`` (both inclusive, in the reader's
    ``zone``) as UTC bounds: from the first midnight, up to (excluding) the midnight after the
    last day. A value that is not a day, or an end before the start, gets its message in
    ``errors`` and is not applied."""
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
        _start_of(since, zone) if since else None,
        _start_of(until + timedelta(days=1), zone) if until else None,
    )


class FieldErrors(ValidationError):
    """Every refused field of one form at once, so the form shows each message beside its
    field; as a :class:`ValidationError` it carries the first (what the command line prints)."""

    def __init__(self, errors: Mapping[str, TranslationString]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(field, message)
        self.errors = dict(errors)


class FieldChecks:
    """Runs the checks of a form's fields, keeping each refusal instead of stopping at one."""

    def __init__(self) -> None:
        self.errors: dict[str, TranslationString] = {}

    def __call__(self, check: Callable[..., T], *args: Any) -> T | None:
        try:
            return check(*args)
        except ValidationError as error:
            for field, message in errors_of(error).items():
                self.errors.setdefault(field, message)
            return None

    def raise_any(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors)


def errors_of(error: ValidationError) -> dict[str, TranslationString]:
    """The messages to show beside the fields: all of them for :class:`FieldErrors`."""
    return error.errors if isinstance(error, FieldErrors) else {error.field: error.message}
