"""The saved-definition fields beside the export's options: a name, and an optional schedule."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import tzinfo
from typing import Any

from pyramid.i18n import TranslationString
from webob.multidict import MultiDict

from datacapt.exports.definitions import Schedule
from datacapt.exports.forms import parse_options
from datacapt.exports.options import ExportOptions
from datacapt.i18n import _, is_timezone
from datacapt.models.exports import Every

NAME_LIMIT = 120


def _number(post: MultiDict, name: str, top: int, errors: dict[str, Any]) -> int:
    text = post.get(name, "")
    if not (text.isascii() and text.isdigit() and int(text) <= top):
        errors[name] = _("Choose among the options offered.")
        return 0
    return int(text)


def parse_definition(
    post: MultiDict,
    sites: Collection[str],
    forms: Collection[str],
    visits: Collection[str],
    *,
    known_subjects: Callable[[Collection[str]], Collection[str]],
    zone: tzinfo,
    personal_allowed: bool,
) -> tuple[tuple[str, ExportOptions, Schedule] | None, dict[str, TranslationString]]:
    """(name, options, schedule), or the errors by field name (the options as
    :func:`~datacapt.exports.forms.parse_options` reads them)."""
    options, errors = parse_options(
        post,
        sites,
        forms,
        visits,
        known_subjects=known_subjects,
        zone=zone,
        personal_allowed=personal_allowed,
    )
    name = " ".join(post.get("name", "").split())
    if not name:
        errors["name"] = _("Name the saved export.")
    elif len(name) > NAME_LIMIT:
        errors["name"] = _("Use at most ${limit} characters.", mapping={"limit": NAME_LIMIT})
    every_text = post.get("every", "")
    every = None
    if every_text:
        if every_text not in {e.value for e in Every}:
            errors["every"] = _("Choose among the options offered.")
        else:
            every = Every(every_text)
    zone = post.get("timezone", "").strip() or "UTC"
    if not is_timezone(zone):
        errors["timezone"] = _("Choose a time zone from the list.")
    hour = _number(post, "hour", 23, errors) if every else 0
    weekday = _number(post, "weekday", 6, errors) if every is Every.WEEK else 0
    if errors or options is None:
        return None, errors
    return (name, options, Schedule(every, hour, weekday, zone)), {}


def posted_from(options: dict[str, Any], definition: Any) -> MultiDict:
    """The form's fields as a saved definition fills them, for its edit form."""
    fields = MultiDict(
        {
            "format": options["format"],
            "coded": options["coded"],
            "name": definition.name,
            "every": definition.every.value if definition.every else "",
            "hour": str(definition.hour if definition.hour is not None else 7),
            "weekday": str(definition.weekday or 0),
            "timezone": definition.timezone,
        }
    )
    for field, key in (
        ("site", "sites"),
        ("form", "forms"),
        ("visit", "visits"),
        ("status", "statuses"),
    ):
        for value in options.get(key, []):
            fields.add(field, value)
    for value in options.get("lock_states", []):
        fields.add("lock", value)
    if options.get("subjects"):
        fields["subjects"] = " ".join(options["subjects"])
    if options.get("as_of"):  # ISO with its offset, which the form reads back as it is
        fields["as_of"] = options["as_of"]
    for flag in ("bom", "audit_trail", "odm_transactional", "shift_dates", "personal"):
        if options.get(flag):
            fields[flag] = "1"
    return fields
