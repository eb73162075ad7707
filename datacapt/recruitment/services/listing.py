"""The pipeline as staff see it: applications per state, a filtered page of them with the
names the user may read (each read logged), one application's details and history, and the
sites where a user holds a permission. A fixed number of queries whatever a page holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pyramid.registry import Registry
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from datacapt.actor import Actor
from datacapt.ecrf.definition import Form
from datacapt.ecrf.runtime import FormState, evaluate_form
from datacapt.models import (
    Application,
    ApplicationMove,
    ApplicationState,
    Person,
    Recruitment,
    Site,
    User,
)
from datacapt.pagination import Page, paginate
from datacapt.permissions import STUDY_ROLE_PERMISSIONS
from datacapt.recruitment import duplicates
from datacapt.repository import services as repository

PER_PAGE = 50


@dataclass(frozen=True)
class Filters:
    state: ApplicationState | None = None
    eligible: str = ""  # "yes", "no", "undecided"


def _scoped(statement: Select[Any], site_ids: frozenset[int] | None) -> Select[Any]:
    """``statement`` kept to the applications of ``site_ids`` (None: every site)."""
    if site_ids is None:
        return statement
    return statement.where(Application.site_id.in_(sorted(site_ids)))


def counts(
    dbsession: Session, recruitment: Recruitment, site_ids: frozenset[int] | None
) -> dict[ApplicationState, int]:
    """Applications per state (one query)."""
    statement = _scoped(
        select(Application.state, func.count(Application.id))
        .where(Application.recruitment_id == recruitment.id)
        .group_by(Application.state),
        site_ids,
    )
    found: dict[ApplicationState, int] = dict(dbsession.execute(statement).all())
    return {state: found.get(state, 0) for state in ApplicationState}


def applications_page(
    dbsession: Session,
    recruitment: Recruitment,
    site_ids: frozenset[int] | None,
    filters: Filters,
    number: int,
) -> Page[tuple[Application, Person, str, str | None]]:
    """The applications the user may see, newest first: (application, person, site code, the
    reference of the person it may duplicate)."""
    duplicate = aliased(Person)
    statement = (
        select(Application, Person, Site.code, duplicate.reference)
        .join(Person, Person.id == Application.person_id)
        .join(Site, Site.id == Application.site_id)
        .outerjoin(duplicate, duplicate.id == Application.duplicate_of_id)
        .where(Application.recruitment_id == recruitment.id)
        .order_by(Application.id.desc())
    )
    if filters.state is not None:
        statement = statement.where(Application.state == filters.state)
    decided = func.coalesce(Application.override, Application.eligible)
    if filters.eligible == "yes":
        statement = statement.where(decided.is_(True))
    elif filters.eligible == "no":
        statement = statement.where(decided.is_(False))
    elif filters.eligible == "undecided":
        statement = statement.where(decided.is_(None))
    return paginate(
        dbsession,
        _scoped(statement, site_ids),
        number,
        PER_PAGE,
        key=Application.id,
        descending=True,
    )


def names(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    tenant_id: int,
    persons: Sequence[Person],
    matched: Sequence[int] = (),
) -> dict[int, repository.PersonData | None]:
    """The listed identity fields of the persons shown, each read logged, with the persons
    ``matched`` as possible duplicates (one statement)."""
    if not persons:
        return {}
    return repository.read_listed(
        dbsession,
        registry,
        actor,
        tenant_id,
        persons,
        action="view",
        purpose="eligibility",
        matched=matched,
    )


@dataclass(frozen=True)
class Pipeline:
    counts: dict[ApplicationState, int]
    page: Page[tuple[Application, Person, str, str | None]]
    #: The listed identity of the persons shown whose site's personal data the user sees.
    names: dict[int, repository.PersonData | None]
    #: Application id → the reference of the person it may duplicate (personal data sites).
    duplicates: dict[int, str]


def pipeline(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    recruitment: Recruitment,
    filters: Filters,
    number: int,
    *,
    sites: frozenset[int] | None,
    pii_sites: frozenset[int] | None,
) -> Pipeline:
    """The pipeline as the user sees it: the applications of ``sites``, the names of those at
    ``pii_sites`` (each read logged); a fixed number of queries whatever the page holds."""
    page = applications_page(dbsession, recruitment, sites, filters, number)
    seen = [
        (application, person, reference)
        for application, person, _code, reference in page.items
        if pii_sites is None or application.site_id in pii_sites
    ]
    flagged = [(a, reference) for a, _person, reference in seen if reference is not None]
    return Pipeline(
        counts=counts(dbsession, recruitment, sites),
        page=page,
        names=names(
            dbsession,
            registry,
            actor,
            recruitment.tenant_id,
            [person for _application, person, _reference in seen],
            sorted({a.duplicate_of_id for a, _reference in flagged if a.duplicate_of_id}),
        ),
        duplicates={a.id: reference for a, reference in flagged},
    )


@dataclass(frozen=True)
class ApplicationDetails:
    person: Person | None
    #: The applicant's identity and contacts (None: not the user's to see, or shredded).
    identity: repository.PersonData | None
    state: FormState | None
    history: list[tuple[ApplicationMove, str]]
    #: The person the application may duplicate, with their identity (read only with the
    #: applicant's, and only when the user sees the personal data of their site).
    duplicate: Person | None = None
    duplicate_identity: repository.PersonData | None = None


def application_details(
    dbsession: Session,
    registry: Registry,
    actor: Actor,
    application: Application,
    form: Form | None,
    today: date,
    *,
    with_identity: bool,
    pii_sites: frozenset[int] | None = None,
) -> ApplicationDetails:
    """What an application's page shows; the identities read (and logged) ``with_identity``:
    the applicant's, and the possible duplicate's when ``pii_sites`` holds their site."""
    person = dbsession.get(Person, application.person_id)
    identity = duplicate = duplicate_identity = None
    if with_identity and person is not None and person.shredded_at is None:
        identity = repository.read(dbsession, registry, actor, person, purpose="eligibility")
    if with_identity and application.duplicate_of_id is not None:
        duplicate = dbsession.get(Person, application.duplicate_of_id)
    if (
        duplicate is not None
        and duplicate.shredded_at is None
        and duplicates.sees(pii_sites, duplicate)
    ):
        duplicate_identity = repository.read(
            dbsession, registry, actor, duplicate, purpose="eligibility"
        )
    return ApplicationDetails(
        person=person,
        identity=identity,
        state=evaluate_form(form, application.answers, today=today) if form else None,
        history=history(dbsession, application),
        duplicate=duplicate,
        duplicate_identity=duplicate_identity,
    )


def history(dbsession: Session, application: Application) -> list[tuple[ApplicationMove, str]]:
    return [
        (move, name or "")
        for move, name in dbsession.execute(
            select(ApplicationMove, User.name)
            .outerjoin(User, User.id == ApplicationMove.by_id)
            .where(ApplicationMove.application_id == application.id)
            .order_by(ApplicationMove.id)
        )
    ]


def sites_holding(identity: object, study_id: int, permission: str) -> frozenset[int] | None:
    """The sites of the study where ``identity`` holds ``permission`` (None: all of them)."""
    found: set[int] = set()
    for grant in getattr(identity, "study_roles", ()):
        if grant.study_id != study_id or permission not in STUDY_ROLE_PERMISSIONS.get(
            grant.role, ()
        ):
            continue
        if grant.site_ids is None:
            return None
        found |= grant.site_ids
    return frozenset(found)
