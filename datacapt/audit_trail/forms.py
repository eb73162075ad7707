"""The viewer's filter form: query parameters in, typed filters (times in UTC) or errors out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pyramid.i18n import TranslationString

from datacapt.i18n import _
from datacapt.validation import day_range, whole_number

#: Action names are dotted lower-case words (``subject.enrolled``); a prefix selects a family.
ACTION_PATTERN = re.compile(r"^[a-z0-9_.]{1,60}$")
ENTITY_PATTERN = re.compile(r"^[a-z0-9_]{1,40}$")
FIELDS = ("actor", "action", "entity", "study", "subject", "since", "until")


@dataclass(frozen=True)
class Filters:
    actor_id: int | None = None
    action: str = ""  # a prefix of the action name
    entity_type: str = ""
    study_id: int | None = None
    subject_label: str = ""
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive (the day after the last day asked for)
    values: dict[str, str] = field(default_factory=dict)  # as typed, to fill the form again

    def described(self) -> dict[str, Any]:
        """What the filters were, for the export's own audit event (ids and codes only)."""
        return {name: value for name, value in self.values.items() if value}


def parse_filters(
    params: Any, zone: ZoneInfo, study_ids: frozenset[int] | None = None
) -> tuple[Filters, dict[str, TranslationString]]:
    """Read the filters; every unusable value gets a message next to its field.

    ``study_ids`` are the studies one may choose (the tenant page); None when there is no choice.
    """
    values = {name: str(params.get(name, "")).strip()[:80] for name in FIELDS}
    errors: dict[str, TranslationString] = {}
    actor_id = None
    if values["actor"]:
        actor_id = whole_number(values["actor"])
        if actor_id is None:
            errors["actor"] = _("Choose a person from the list.")
    if values["action"] and not ACTION_PATTERN.match(values["action"]):
        errors["action"] = _("Use lower-case letters, digits, dots and underscores.")
    if values["entity"] and not ENTITY_PATTERN.match(values["entity"]):
        errors["entity"] = _("Use lower-case letters, digits and underscores.")
    study_id = None
    if values["study"] and study_ids is not None:
        study_id = whole_number(values["study"])
        if study_id not in study_ids:
            errors["study"] = _("Choose a study from the list.")
    since, until = day_range(values, zone, errors)
    filters = Filters(
        actor_id=actor_id,
        action=values["action"],
        entity_type=values["entity"],
        study_id=study_id,
        subject_label=values["subject"],
        since=since,
        until=until,
        values=values,
    )
    return filters, errors
