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

from sqlalchemy import JSON, Text, bindparam, cast, func, select, update
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.counters import next_number
from datacapt.ecrf.checks import Problem, blocking, check_definition
from datacapt.ecrf.definition import Definition, to_json, to_json_text
from datacapt.ecrf.versions import definition_of, draft, latest_published
from datacapt.models import Study, StudyVersion, VersionState


class StaleDraft(Exception):
    """The draft changed since the page was loaded (someone else saved)."""

    def __init__(self, current: StudyVersion) -> None:
        super().__init__("the draft changed")
        self.current = current


class DraftExists(Exception):
    """The study has a draft already: there is at most one."""

    def __init__(self, existing: StudyVersion) -> None:
        super().__init__("a draft exists")
        self.existing = existing


class NotADraft(Exception):
    """Published versions are frozen."""


@dataclass(frozen=True)
class PublishRefused(Exception):
    problems: list[Problem]


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


def working_draft(dbsession: Session, study: Study, actor: Actor) -> StudyVersion:
    """The study's draft: the existing one, or a new one (for an import into the draft)."""
    existing = draft(dbsession, study, definition=False)
    return existing if existing is not None else start_draft(dbsession, study, actor)


def _copied_definition(base: StudyVersion) -> Any:
    """The base version's design, copied by the database: never parsed here."""
    return select(StudyVersion.definition).where(StudyVersion.id == base.id).scalar_subquery()


def start_draft(dbsession: Session, study: Study, actor: Actor) -> StudyVersion:
    """A new draft, a copy of the latest published version; :class:`DraftExists` when the
    study has one already (perhaps started a moment ago by someone else).

    The version number is taken first: it locks the study's counter until commit, so of two
    people starting a draft at once the second waits, then finds the first one's draft."""
    highest = select(func.max(StudyVersion.number)).where(StudyVersion.study_id == study.id)
    number = next_number(dbsession, study.tenant_id, study.id, "version", highest.scalar_subquery())
    existing = draft(dbsession, study, definition=False)
    if existing is not None:
        raise DraftExists(existing)
    base = latest_published(dbsession, study, definition=False)
    created = StudyVersion(
        tenant_id=study.tenant_id,
        study_id=study.id,
        number=number,
        state=VersionState.DRAFT,
        definition=_copied_definition(base) if base is not None else to_json(Definition()),
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
    _write_definition(dbsession, study_version, definition)
    _event(dbsession, actor, study, study_version, action, field=element, old=old, new=new)


def _write_definition(
    dbsession: Session, study_version: StudyVersion, definition: Definition
) -> None:
    """Store the design as JSON text encoded straight from its objects, raising the lock.

    An UPDATE of its own rather than an assignment to the mapped attribute, which would hold the
    whole design once more as dicts until commit: an imported design of a hundred thousand
    choices must fit issue 15's memory bound. The lock is checked in the statement itself."""
    dbsession.flush()
    document: Any = bindparam("document", to_json_text(definition), type_=Text)
    if dbsession.get_bind().dialect.name == "postgresql":
        document = cast(document, JSON)
    written = dbsession.execute(
        update(StudyVersion)
        .where(
            StudyVersion.id == study_version.id,
            StudyVersion.lock_version == study_version.lock_version,
        )
        .values(definition=document, lock_version=StudyVersion.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    if written.rowcount != 1:
        raise StaleDraft(study_version)
    dbsession.expire(study_version, ["definition", "lock_version"])


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
