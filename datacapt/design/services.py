"""The life of study versions: a draft is started, edited, checked and published (then frozen).

Every step is audited: starting and discarding a draft, each change (old → new element), each
import, and the publication with its reason. A save names the draft's ``lock_version`` it was
based on; a save based on an older one is refused (:class:`StaleDraft`), never merged silently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.design.checks import Problem, blocking, check_definition
from datacapt.design.definition import Definition, from_json, to_json
from datacapt.models import Study, StudyVersion, VersionState


class StaleDraft(Exception):
    """The draft changed since the page was loaded (someone else saved)."""

    def __init__(self, current: StudyVersion) -> None:
        super().__init__("the draft changed")
        self.current = current


class NotADraft(Exception):
    """Published versions are frozen."""


@dataclass(frozen=True)
class PublishRefused(Exception):
    problems: list[Problem]


def versions(dbsession: Session, study: Study) -> list[StudyVersion]:
    return list(
        dbsession.scalars(
            select(StudyVersion)
            .where(StudyVersion.study_id == study.id)
            .order_by(StudyVersion.number.desc())
        )
    )


def version(dbsession: Session, study: Study, number: int) -> StudyVersion | None:
    return dbsession.scalar(
        select(StudyVersion).where(StudyVersion.study_id == study.id, StudyVersion.number == number)
    )


def draft(dbsession: Session, study: Study) -> StudyVersion | None:
    return dbsession.scalar(
        select(StudyVersion).where(
            StudyVersion.study_id == study.id, StudyVersion.state == VersionState.DRAFT
        )
    )


def latest_published(dbsession: Session, study: Study) -> StudyVersion | None:
    return dbsession.scalar(
        select(StudyVersion)
        .where(StudyVersion.study_id == study.id, StudyVersion.state == VersionState.PUBLISHED)
        .order_by(StudyVersion.number.desc())
        .limit(1)
    )


def definition_of(study_version: StudyVersion) -> Definition:
    return from_json(study_version.definition)


def content_hash(definition: Definition) -> str:
    document = json.dumps(to_json(definition), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def _event(
    dbsession: Session,
    actor: Actor,
    study: Study,
    study_version: StudyVersion,
    action: str,
    **details: Any,
) -> None:
    audit.record(
        dbsession,
        actor,
        tenant_id=study.tenant_id,
        study_id=study.id,
        action=action,
        entity_type="study_version",
        entity_id=study_version.number,
        **details,
    )


def start_draft(dbsession: Session, study: Study, actor: Actor) -> StudyVersion:
    """The study's draft: the existing one, or a new copy of the latest published version."""
    existing = draft(dbsession, study)
    if existing is not None:
        return existing
    base = latest_published(dbsession, study)
    number = (
        dbsession.scalar(
            select(func.max(StudyVersion.number)).where(StudyVersion.study_id == study.id)
        )
        or 0
    ) + 1
    created = StudyVersion(
        tenant_id=study.tenant_id,
        study_id=study.id,
        number=number,
        state=VersionState.DRAFT,
        definition=base.definition if base is not None else to_json(Definition()),
        created_by_id=actor.user_id,
    )
    dbsession.add(created)
    dbsession.flush()
    _event(
        dbsession,
        actor,
        study,
        created,
        "design.draft_started",
        new={"based_on": base.number if base is not None else None},
    )
    return created


def save_draft(
    dbsession: Session,
    study: Study,
    study_version: StudyVersion,
    definition: Definition,
    *,
    expected_lock: int,
    action: str,
    element: str | None,
    old: Any,
    new: Any,
    actor: Actor,
) -> None:
    """Store ``definition`` as the draft's new content, if nobody saved since ``expected_lock``."""
    if study_version.state != VersionState.DRAFT:
        raise NotADraft(study_version.number)
    if study_version.lock_version != expected_lock:
        raise StaleDraft(study_version)
    study_version.definition = to_json(definition)
    dbsession.flush()
    _event(dbsession, actor, study, study_version, action, field=element, old=old, new=new)


def discard_draft(
    dbsession: Session, study: Study, study_version: StudyVersion, actor: Actor
) -> None:
    if study_version.state != VersionState.DRAFT:
        raise NotADraft(study_version.number)
    study_version.state = VersionState.DISCARDED
    dbsession.flush()
    _event(dbsession, actor, study, study_version, "design.draft_discarded")


def publish(
    dbsession: Session,
    study: Study,
    study_version: StudyVersion,
    *,
    actor: Actor,
    reason: str,
    expected_lock: int,
) -> StudyVersion:
    """Freeze the draft as a published version, if its design passes every check."""
    if study_version.state != VersionState.DRAFT:
        raise NotADraft(study_version.number)
    if study_version.lock_version != expected_lock:
        raise StaleDraft(study_version)
    definition = definition_of(study_version)
    problems = blocking(check_definition(definition))
    if problems:
        raise PublishRefused(problems)
    published_at = audit.database_now(dbsession)  # before any change: a query autoflushes
    study_version.state = VersionState.PUBLISHED  # the last write the trigger lets through
    study_version.published_at = published_at
    study_version.published_by_id = actor.user_id
    study_version.publish_reason = reason
    study_version.content_hash = content_hash(definition)
    dbsession.flush()
    _event(
        dbsession,
        actor,
        study,
        study_version,
        "design.version_published",
        reason=reason,
        new={"content_hash": study_version.content_hash},
    )
    return study_version
