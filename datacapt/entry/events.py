"""What data entry publishes for other capabilities to react to (:mod:`datacapt.reactions`).

Review resets SDV and breaks signatures, queries follow the warnings: each registers its
reaction in its own ``includeme``, and entry knows none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyramid.i18n import TranslationString
from pyramid.request import Request
from sqlalchemy import ColumnElement

from datacapt.ecrf.definition import Definition, Form
from datacapt.models import EntryWarning, FormInstance, FormStatus, Subject
from datacapt.reactions import Event

#: Declared order of the reactions to a save: what the data undoes first, then the queries.
REVIEW_ORDER = 10
QUERIES_ORDER = 20
NOTIFICATIONS_ORDER = 30


@dataclass(slots=True)
class ValueRow:
    """A stored value as a save reads and leaves it: the ``item_value`` columns a save and its
    reactions read or change, as a plain row (personal data opened, in memory only). The save
    writes what its reactions change (SDV marks) by statements, as it writes the values: no
    ORM object is built, tracked or flushed for the ~50 values of a form."""

    id: int | None
    item_oid: str
    value: str | None = None
    missing_code: str | None = None
    sealed_value: bytes | None = None
    audit_event_id: int | None = None
    sdv_required: bool = True  # the column's default
    sdv_changed: bool = False
    verified_at: datetime | None = None
    verified_by_id: int | None = None


#: The SDV marks of :class:`ValueRow` that reactions change, written after them.
SDV_COLUMNS = ("sdv_required", "sdv_changed", "verified_at", "verified_by_id")


@dataclass(frozen=True)
class FormSaved(Event):
    """A save was written (not yet flushed): its values, warnings and form status row.

    ``rows`` holds every value of the form as now stored, by item OID; ``changed`` the OIDs
    whose value or missing-data code changed; ``opened`` the warnings this save raised and
    ``resolved`` those it no longer raises; ``previous_status`` the form's status before the
    save (None: a form started by it); ``signed`` whether the subject held a valid signature
    when the save claimed the form, read under the subject's chain lock, which signing holds
    too (None: not read). Reactions add to ``notes`` what the person who saved should be told
    of (a query opened on their form is never silent), and to ``marked`` the OID of each row
    whose SDV marks they change (the save writes those rows' marks after them)."""

    instance: FormInstance
    form: Form
    definition: Definition
    rows: dict[str, ValueRow]
    changed: frozenset[str]
    opened: list[EntryWarning] = field(default_factory=list)
    resolved: list[EntryWarning] = field(default_factory=list)
    previous_status: FormStatus | None = None
    signed: bool | None = None
    notes: list[TranslationString] = field(default_factory=list)
    marked: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class FormShown(Event):
    """A form's page is rendered with its monitoring marks: capabilities add, by name, what
    they show beside the fields (``queries``: the query badges)."""

    request: Request
    context: Any  # the form's FormEntryResource
    shown: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryAsked(Event):
    """An item's history is read: capabilities add the conditions selecting their own audit
    events about it (a query's steps, a form's review and lock states)."""

    instance: FormInstance
    item_oid: str
    conditions: list[ColumnElement[bool]] = field(default_factory=list)


@dataclass(frozen=True)
class FormRemoved(Event):
    """A log row was taken out (its data no longer count); ``reason`` is the one given."""

    instance: FormInstance
    reason: str


@dataclass(frozen=True)
class EntryAsked(Event):
    """A save for ``subject`` is about to be planned: capabilities add to ``refusals`` why
    entry must wait (eConsent: a re-consent pending, or consent withdrawn). Any refusal and
    nothing is saved.

    Asked again with ``locked`` when the save has just taken the subject's chain lock, before it
    writes: what the first answer read of the subject (at traversal, before the lock) may have
    changed meanwhile, so a capability reads again what its refusal depends on, which nobody
    can change now until the save commits."""

    subject: Subject
    refusals: list[TranslationString] = field(default_factory=list)
    locked: bool = False
