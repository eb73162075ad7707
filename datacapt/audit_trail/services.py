"""Reading the audit trail: one scope (a tenant, maybe one study), filters, pages by event id,
and the CSV export.

Pages are found by keyset (``id`` before or after a cursor) rather than OFFSET, so page 5,000
costs what page 1 costs. The export reads in batches, each in its own short transaction, up to
the export's own event: the trail is append-only, so that bound is a consistent snapshot.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from pyramid.registry import Registry
from sqlalchemy import Row, Select, or_, select
from sqlalchemy.orm import Session, aliased

from datacapt import personal_values
from datacapt.audit_trail.forms import Filters
from datacapt.db import transaction_scope
from datacapt.models import (
    AuditEvent,
    Study,
    StudyRoleAssignment,
    Subject,
    TenantRoleAssignment,
    User,
)

PAGE_SIZE = 50
EXPORT_BATCH = 1000
#: What replaces the values of events about subjects for viewers who may not see clinical data.
MASKED = "(clinical data: see the study's audit trail)"
#: What replaces a personal-data value for viewers without VIEW_PII (or kept only as a
#: fingerprint, before values were sealed).
PERSONAL_HIDDEN = "(personal data: hidden)"
#: Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "id",
    "occurred_at_utc",
    "occurred_at_local",
    "actor_id",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "study_id",
    "site_id",
    "subject_id",
    "field",
    "old_value",
    "new_value",
    "reason",
    "request_id",
    "chain",
    "seq",
    "on_behalf_of_id",
    "on_behalf_of",
    "by_subject_id",
)


@dataclass(frozen=True)
class Scope:
    """Whose events: one tenant's, and among them one study's or all of them.

    ``mask_clinical``: tenant administrators see who did what and when, but not the values of
    events about subjects (they see no clinical data without a study role).
    """

    tenant_id: int
    study_id: int | None = None
    mask_clinical: bool = False
    #: The keys, when the viewer may see personal data (``VIEW_PII`` on the study): the values
    #: of personal-data items are opened; without them they are hidden.
    personal_keys: Registry | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Entry:
    event: AuditEvent
    actor: str | None  # the user's name, joined at read time (never stored in the trail)
    masked: bool
    personal_keys: Registry | None = None
    on_behalf_of: str | None = None  # the name of the person the actor acted for

    @property
    def values(self) -> tuple[str | None, str | None, str | None]:
        """Old value, new value, reason, as this viewer may see them."""
        if self.masked:
            return MASKED, MASKED, MASKED
        event = self.event
        return self._shown(event.old_value), self._shown(event.new_value), event.reason

    @property
    def personal(self) -> bool:
        """Whether the event holds a personal-data value (opened or hidden)."""
        return any(
            personal_values.is_audited(v) for v in (self.event.old_value, self.event.new_value)
        )

    def _shown(self, value: str | None) -> str | None:
        if not personal_values.is_audited(value):
            return value
        event = self.event
        opened = None
        if self.personal_keys is not None and event.subject_id and event.field:
            opened = personal_values.open_audited(
                self.personal_keys,
                value or "",
                event.subject_id,
                int(event.entity_id or 0),
                event.field,
            )
        return PERSONAL_HIDDEN if opened is None else opened


@dataclass(frozen=True)
class TrailPage:
    entries: list[Entry]
    newer: int | None  # cursor: the page of events after this id
    older: int | None  # cursor: the page of events before this id


def find_subject_id(dbsession: Session, study_id: int, label: str) -> int | None:
    return dbsession.scalar(
        select(Subject.id).where(Subject.study_id == study_id, Subject.label == label)
    )


def statement(scope: Scope, filters: Filters, subject_id: int | None = None) -> Select[Any]:
    """The filtered events of ``scope`` with the names of their actor and of whom it acted
    for; unordered, unlimited."""
    behalf = aliased(User)
    query = (
        select(AuditEvent, User.name, behalf.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(behalf, behalf.id == AuditEvent.on_behalf_of_id)
        .where(AuditEvent.tenant_id == scope.tenant_id)
    )
    conditions = {
        AuditEvent.study_id: scope.study_id or filters.study_id,
        AuditEvent.actor_id: filters.actor_id,
        AuditEvent.entity_type: filters.entity_type or None,
        AuditEvent.subject_id: subject_id,
    }
    for column, value in conditions.items():
        if value is not None:
            query = query.where(column == value)
    if filters.action:
        query = query.where(AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.since is not None:
        query = query.where(AuditEvent.occurred_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.occurred_at < filters.until)
    return query


def _entries(rows: list[Row[Any]], scope: Scope) -> list[Entry]:
    return [
        Entry(
            event,
            name,
            scope.mask_clinical and event.subject_id is not None,
            scope.personal_keys,
            for_name,
        )
        for event, name, for_name in rows
    ]


def page(
    dbsession: Session,
    query: Select[Any],
    scope: Scope,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> TrailPage:
    """Newest first; ``before``/``after`` an id give the older or newer page. One query."""
    if after is not None:
        rows = dbsession.execute(
            query.where(AuditEvent.id > after).order_by(AuditEvent.id).limit(size + 1)
        ).all()
        shown = list(reversed(rows[:size]))
        newer = shown[0][0].id if len(rows) > size else None
        older = shown[-1][0].id if shown else None
    else:
        if before is not None:
            query = query.where(AuditEvent.id < before)
        rows = dbsession.execute(query.order_by(AuditEvent.id.desc()).limit(size + 1)).all()
        shown = rows[:size]
        newer = shown[0][0].id if shown and before is not None else None
        older = shown[-1][0].id if len(rows) > size else None
    return TrailPage(_entries(shown, scope), newer=newer, older=older)


def actor_choices(
    dbsession: Session, tenant_id: int, study_id: int | None
) -> list[tuple[int, str]]:
    """The people one may filter on: the study's role holders (or all the tenant's, on the
    tenant page) and the tenant's administrators. One query."""
    holders = select(StudyRoleAssignment.user_id).where(
        StudyRoleAssignment.tenant_id == tenant_id,
        *([StudyRoleAssignment.study_id == study_id] if study_id is not None else []),
    )
    admins = select(TenantRoleAssignment.user_id).where(TenantRoleAssignment.tenant_id == tenant_id)
    return [
        (user_id, name)
        for user_id, name in dbsession.execute(
            select(User.id, User.name)
            .where(or_(User.id.in_(holders), User.id.in_(admins)))
            .order_by(User.name, User.id)
        )
    ]


def study_choices(dbsession: Session, tenant_id: int) -> list[tuple[int, str]]:
    statement = select(Study.id, Study.code).where(Study.tenant_id == tenant_id)
    rows = dbsession.execute(statement.order_by(Study.code))
    return [(study_id, code) for study_id, code in rows]


def spreadsheet_safe(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_line(values: tuple[object, ...]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([spreadsheet_safe(value) for value in values])
    return buffer.getvalue().encode("utf-8")


def _csv_values(entry: Entry, zone: ZoneInfo) -> tuple[object, ...]:
    event = entry.event
    occurred = event.occurred_at.astimezone(UTC)
    old, new, reason = entry.values
    return (
        event.id,
        occurred.isoformat(timespec="microseconds"),
        occurred.astimezone(zone).isoformat(timespec="seconds"),
        event.actor_id,
        entry.actor,
        event.action,
        event.entity_type,
        event.entity_id,
        event.study_id,
        event.site_id,
        event.subject_id,
        event.field,
        old,
        new,
        reason,
        event.request_id,
        event.chain,
        event.seq,
        event.on_behalf_of_id,
        entry.on_behalf_of,
        event.by_subject_id,
    )


def export_csv(
    registry: Registry, query: Select[Any], scope: Scope, up_to: int, zone: ZoneInfo
) -> Iterator[bytes]:
    """The filtered events up to id ``up_to``, oldest first, as CSV lines (UTF-8 with a BOM so
    spreadsheets read the accents). Reads ``EXPORT_BATCH`` events per short transaction, after
    the request's own transaction has committed."""
    yield "\ufeff".encode()
    yield _csv_line(CSV_COLUMNS)
    last = 0
    while True:
        with transaction_scope(registry) as dbsession:
            rows = dbsession.execute(
                query.where(AuditEvent.id > last, AuditEvent.id <= up_to)
                .order_by(AuditEvent.id)
                .limit(EXPORT_BATCH)
            ).all()
            lines = [_csv_values(entry, zone) for entry in _entries(rows, scope)]
        if lines:
            yield b"".join(_csv_line(values) for values in lines)
        if len(lines) < EXPORT_BATCH:
            return
        last = lines[-1][0]
