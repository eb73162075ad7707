"""Saved export definitions: an export's options under a name, run again with one click or on
a schedule (every day, or every week on a weekday, at an hour of the definition's time zone).

A scheduled run is an ordinary export row requested by the definition's owner, so it is
audited, mailed and downloaded like any other; it runs only while the owner may still export
the study's data. Each slot runs once: the run claims it by moving ``next_run_at`` on, with a
compare-and-set in the transaction that writes the export row, so two workers (or a worker and
``datacapt exports run-due``) never both start it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.exports.options import ExportOptions
from datacapt.exports.schedule import next_run
from datacapt.exports.services import ExportRefused, options_of, request_export, selection
from datacapt.models import DataExport, ExportDefinition, Study, User
from datacapt.models.exports import Every
from datacapt.permissions import NEVER_PERSONAL_DATA, Permission, study_acl
from datacapt.security import load_identity

log = logging.getLogger(__name__)

#: Definitions started per call of :func:`run_due`; the rest wait for the next call.
DUE_BATCH = 100


class NameTaken(ValueError):
    """Another saved export of the study has this name."""


@dataclass(frozen=True)
class Schedule:
    """When a definition runs on its own; ``every`` None: only when someone runs it."""

    every: Every | None = None
    hour: int = 7
    weekday: int = 0  # 0 Monday … 6 Sunday; weekly runs only
    timezone: str = "UTC"

    def next_after(self, moment: datetime) -> datetime | None:
        if self.every is None:
            return None
        return next_run(self.every, self.hour, self.timezone, moment, self.weekday)

    def describe(self) -> dict[str, Any]:
        if self.every is None:
            return {"every": None}
        found: dict[str, Any] = {"every": self.every.value, "hour": self.hour}
        if self.every is Every.WEEK:
            found["weekday"] = self.weekday
        return {**found, "timezone": self.timezone}


def schedule_of(definition: ExportDefinition) -> Schedule:
    return Schedule(
        definition.every, definition.hour or 0, definition.weekday or 0, definition.timezone
    )


def describe(definition: ExportDefinition) -> dict[str, Any]:
    """What the audit trail records of a definition: its name, options and schedule."""
    return {
        "name": definition.name,
        "options": definition.options,
        **schedule_of(definition).describe(),
    }


def definitions_of(dbsession: Session, study: Study) -> list[ExportDefinition]:
    return list(
        dbsession.scalars(
            select(ExportDefinition)
            .where(ExportDefinition.study_id == study.id)
            .order_by(ExportDefinition.name)
        )
    )


def definition_in(dbsession: Session, study: Study, definition_id: int) -> ExportDefinition | None:
    """A definition of this study (None for another study's: ids are not secrets to guess)."""
    return dbsession.scalar(
        select(ExportDefinition).where(
            ExportDefinition.study_id == study.id, ExportDefinition.id == definition_id
        )
    )


def definition_named(dbsession: Session, study: Study, name: str) -> ExportDefinition | None:
    return dbsession.scalar(
        select(ExportDefinition).where(
            ExportDefinition.study_id == study.id, ExportDefinition.name == name
        )
    )


def name_taken(
    dbsession: Session, study: Study, name: str, but: ExportDefinition | None = None
) -> bool:
    found = definition_named(dbsession, study, name)
    return found is not None and found is not but


def _record(
    dbsession: Session, actor: Actor, definition: ExportDefinition, action: str, **change: Any
) -> None:
    audit.record(
        dbsession,
        actor,
        tenant_id=definition.tenant_id,
        study_id=definition.study_id,
        action=f"export_definition.{action}",
        entity_type="export_definition",
        entity_id=definition.id,
        **change,
    )


def _apply(
    definition: ExportDefinition,
    name: str,
    options: ExportOptions,
    schedule: Schedule,
    now: datetime,
) -> None:
    definition.name = name
    definition.options = options.describe()
    definition.every = schedule.every
    definition.hour = schedule.hour if schedule.every else None
    definition.weekday = schedule.weekday if schedule.every is Every.WEEK else None
    definition.timezone = schedule.timezone
    definition.next_run_at = schedule.next_after(now)


def save_definition(
    dbsession: Session,
    study: Study,
    actor: Actor,
    *,
    owner_id: int,
    name: str,
    options: ExportOptions,
    schedule: Schedule,
    application_url: str,
    now: datetime | None = None,
) -> ExportDefinition:
    """A new definition, owned by ``owner_id``; its options are checked against the study now."""
    if name_taken(dbsession, study, name):
        raise NameTaken(name)
    selection(dbsession, study, options)
    definition = ExportDefinition(
        tenant_id=study.tenant_id,
        study_id=study.id,
        owner_id=owner_id,
        application_url=application_url,
    )
    _apply(definition, name, options, schedule, now or datetime.now(UTC))
    dbsession.add(definition)
    dbsession.flush()
    _record(dbsession, actor, definition, "saved", new=describe(definition))
    return definition


def change_definition(
    dbsession: Session,
    study: Study,
    definition: ExportDefinition,
    actor: Actor,
    *,
    name: str,
    options: ExportOptions,
    schedule: Schedule,
    now: datetime | None = None,
) -> ExportDefinition:
    if name_taken(dbsession, study, name, but=definition):
        raise NameTaken(name)
    selection(dbsession, study, options)
    before = describe(definition)
    _apply(definition, name, options, schedule, now or datetime.now(UTC))
    dbsession.flush()
    _record(dbsession, actor, definition, "changed", old=before, new=describe(definition))
    return definition


def delete_definition(dbsession: Session, definition: ExportDefinition, actor: Actor) -> None:
    """Gone, with its schedule; the exports it ran stay (and forget it)."""
    _record(dbsession, actor, definition, "deleted", old=describe(definition))
    dbsession.execute(
        update(DataExport)
        .where(DataExport.definition_id == definition.id)
        .values(definition_id=None)
        .execution_options(synchronize_session=False)
    )
    dbsession.delete(definition)
    dbsession.flush()


def run_definition(
    dbsession: Session,
    study: Study,
    definition: ExportDefinition,
    actor: Actor,
    *,
    requested_by_id: int,
    application_url: str | None,
) -> DataExport:
    """An export with the definition's options, asked for by ``requested_by_id``."""
    row = request_export(
        dbsession,
        study,
        options_of(definition.options),
        requested_by_id,
        application_url=application_url,
        definition_id=definition.id,
    )
    _record(dbsession, actor, definition, "run", new={"export": row.id})
    return row


def may_export(dbsession: Session, user: User, study: Study, *, personal: bool = False) -> bool:
    """Whether ``user`` still holds the permission to export ``study``'s data, and, for an
    export with personal data, still may take it as the page allows it (``VIEW_PII`` across the
    study, and no role that never receives personal data)."""
    if not user.is_active:
        return False
    identity = load_identity(dbsession, user)
    principals = set(identity.principals)

    def holds(permission: Permission) -> bool:
        return any(
            principal in principals and permission in permissions
            for _allow, principal, permissions in study_acl(study.id)
        )

    if not holds(Permission.EXPORT_DATA):
        return False
    if not personal:
        return True
    roles = {grant.role for grant in identity.roles_in_study(study.id)}
    return not roles & NEVER_PERSONAL_DATA and holds(Permission.VIEW_PII)


def run_due(dbsession: Session, now: datetime | None = None) -> list[DataExport]:
    """Start the definitions whose slot has come, as their owners; the exports started."""
    now = now or datetime.now(UTC)
    due = dbsession.scalars(
        select(ExportDefinition)
        .where(ExportDefinition.next_run_at <= now)
        .order_by(ExportDefinition.next_run_at, ExportDefinition.id)
        .limit(DUE_BATCH)
    ).all()
    started = []
    for definition in due:
        slot = definition.next_run_at
        following = schedule_of(definition).next_after(now)
        claimed = dbsession.execute(
            update(ExportDefinition)
            .where(ExportDefinition.id == definition.id, ExportDefinition.next_run_at == slot)
            .values(next_run_at=following)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue  # another run took this slot
        dbsession.refresh(definition)
        study = dbsession.get(Study, definition.study_id)
        owner = dbsession.get(User, definition.owner_id)
        assert study is not None  # foreign keys keep them
        assert owner is not None
        if not may_export(dbsession, owner, study, personal=definition.options.get("personal")):
            log.warning(
                "export definition %s skipped: its owner may no longer export", definition.id
            )
            continue
        try:
            row = run_definition(
                dbsession,
                study,
                definition,
                Actor.system("export-schedule", on_behalf_of=owner.id),
                requested_by_id=owner.id,
                application_url=definition.application_url,
            )
        except ExportRefused as refusal:
            log.warning("export definition %s skipped: %s", definition.id, refusal)
            continue
        started.append(row)
    return started
