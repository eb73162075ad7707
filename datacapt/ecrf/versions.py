"""A study's versions as the kernel reads them: the draft, the published ones, and the one sites
enter data with, its definition parsed once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, defer

from datacapt.ecrf.definition import Definition, from_json
from datacapt.ecrf.runtime import plan_published_forms
from datacapt.ecrf.values import plan_published
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


def draft(dbsession: Session, study: Study, *, definition: bool = True) -> StudyVersion | None:
    """The study's draft; ``definition=False`` leaves its design in the database until read,
    for callers about to replace it (an import of a large design must not parse the old one)."""
    query = select(StudyVersion).where(
        StudyVersion.study_id == study.id, StudyVersion.state == VersionState.DRAFT
    )
    return dbsession.scalar(_with_definition(query, definition))


def latest_published(
    dbsession: Session, study: Study, *, definition: bool = True
) -> StudyVersion | None:
    query = (
        select(StudyVersion)
        .where(StudyVersion.study_id == study.id, StudyVersion.state == VersionState.PUBLISHED)
        .order_by(StudyVersion.number.desc())
        .limit(1)
    )
    return dbsession.scalar(_with_definition(query, definition))


def _with_definition(query: Select[tuple[StudyVersion]], definition: bool) -> Any:
    return query if definition else query.options(defer(StudyVersion.definition))


def definition_of(study_version: StudyVersion) -> Definition:
    return from_json(study_version.definition)


@dataclass(frozen=True)
class PublishedDesign:
    number: int
    definition: Definition  # shared and cached: read it, never change it
    version_id: int = 0  # the published version's row: what is compiled from it is keyed by it
    content_hash: str = ""  # with the row: a row id a rolled-back publication freed comes back


def latest_published_id(study_id: Any) -> Any:
    """The id of a study's latest published version, as a (correlated) scalar subquery."""
    return (
        select(StudyVersion.id)
        .where(StudyVersion.study_id == study_id, StudyVersion.state == VersionState.PUBLISHED)
        .order_by(StudyVersion.number.desc())
        .limit(1)
        .scalar_subquery()
    )


def _published_rows(study: Study) -> Select[tuple[int, int, str | None]]:
    """The study's published versions as :func:`design_of` takes them, the latest first."""
    return (
        select(StudyVersion.id, StudyVersion.number, StudyVersion.content_hash)
        .where(StudyVersion.study_id == study.id, StudyVersion.state == VersionState.PUBLISHED)
        .order_by(StudyVersion.number.desc())
    )


def published_design(dbsession: Session, study: Study) -> PublishedDesign | None:
    """The version sites enter data with: the latest published one, parsed once per process
    (published versions never change; the content hash is part of the cache key)."""
    row = dbsession.execute(_published_rows(study).limit(1)).first()
    return design_of(dbsession, tuple(row) if row is not None else None)


def published_designs(dbsession: Session, study: Study) -> list[PublishedDesign]:
    """Every published version's design, the latest first, each parsed once per process."""
    rows = dbsession.execute(_published_rows(study))
    return [design for row in rows if (design := design_of(dbsession, tuple(row))) is not None]


def design_of(
    dbsession: Session, row: tuple[int, int, str | None] | None
) -> PublishedDesign | None:
    """The design of a published version's (id, number, content hash), parsed once per process."""
    if row is None:
        return None
    version_id, number, content_hash = row
    key = (version_id, content_hash or "")
    definition = _DEFINITIONS.get(key)
    if definition is None:
        document = dbsession.scalar(
            select(StudyVersion.definition).where(StudyVersion.id == version_id)
        )
        if len(_DEFINITIONS) >= 64:
            _DEFINITIONS.clear()
        definition = _DEFINITIONS[key] = from_json(document)
        plan_published(item for _form, item in definition.items())
        plan_published_forms(definition.forms)
    return PublishedDesign(number, definition, version_id, content_hash or "")
