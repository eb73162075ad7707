"""A study's versions as the kernel reads them: the draft, the published ones, and the one sites
enter data with, its definition parsed once per process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.ecrf.definition import Definition, from_json
from datacapt.models import Study, StudyVersion, VersionState

_DEFINITIONS: dict[tuple[int, str], Definition] = {}


def study_versions(dbsession: Session, study: Study) -> list[StudyVersion]:
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


@dataclass(frozen=True)
class PublishedDesign:
    number: int
    definition: Definition  # shared and cached: read it, never change it


def published_design(dbsession: Session, study: Study) -> PublishedDesign | None:
    """The version sites enter data with: the latest published one, parsed once per process
    (published versions never change; the content hash is part of the cache key)."""
    row = dbsession.execute(
        select(StudyVersion.id, StudyVersion.number, StudyVersion.content_hash)
        .where(StudyVersion.study_id == study.id, StudyVersion.state == VersionState.PUBLISHED)
        .order_by(StudyVersion.number.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    key = (row.id, row.content_hash or "")
    definition = _DEFINITIONS.get(key)
    if definition is None:
        document = dbsession.scalar(
            select(StudyVersion.definition).where(StudyVersion.id == row.id)
        )
        if len(_DEFINITIONS) >= 64:
            _DEFINITIONS.clear()
        definition = _DEFINITIONS[key] = from_json(document)
    return PublishedDesign(row.number, definition)
