"""Recruitments and their applications: the rules.

An application's identity and contacts are registered as a person of the subject repository
(sealed under their own data key); the application keeps the person's id, the answers and the
verdict of the recruitment's criteria. Criteria are expressions of the pre-screening form's
items, one per line: all true → eligible, one false → not eligible (the false ones are the
reason), one that cannot be evaluated → undecided, for a person to decide.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pyramid.registry import Registry
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from datacapt import audit
from datacapt.accounts.services import Bucket, Throttle, check_address, record_attempt
from datacapt.actor import Actor
from datacapt.ecrf.checks import option_codes, value_type
from datacapt.ecrf.definition import Definition, Form, form_items
from datacapt.ecrf.runtime import FormState, evaluate_form
from datacapt.ecrf.versions import published_design
from datacapt.expressions import (
    ExpressionError,
    FieldInfo,
    MappingContext,
    Symbols,
    check,
    evaluate,
    is_true,
    parse,
)
from datacapt.i18n import _
from datacapt.models import (
    Application,
    ApplicationMove,
    ApplicationState,
    Person,
    Recruitment,
    RecruitmentSite,
    RecruitmentState,
    Site,
    Study,
    User,
)
from datacapt.pagination import Page, paginate
from datacapt.permissions import STUDY_ROLE_PERMISSIONS
from datacapt.recruitment import duplicates
from datacapt.recruitment import pipeline as moves
from datacapt.repository import services as repository
from datacapt.subjects import services as subjects
from datacapt.validation import ValidationError

PER_PAGE = 50
#: What the public page's submissions count as, against the client's address.
APPLY_ATTEMPTS = "recruitment-apply"


@dataclass(frozen=True)
class RecruitmentData:
    title: str
    target: int
    opens_on: date
    closes_on: date
    form: str
    criteria: str
    site_ids: tuple[int, ...]
    open: bool


def _symbols(form: Form) -> Symbols:
    return Symbols(
        fields={
            item.name: FieldInfo(value_type(item), option_codes(item)) for item in form_items(form)
        },
        visits=frozenset(),
    )


def criteria_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse_recruitment(
    values: Mapping[str, str],
    site_ids: Sequence[str],
    sites: Sequence[Site],
    definition: Definition | None,
) -> tuple[RecruitmentData | None, dict[str, object]]:
    """The recruitment as typed, checked; else the messages by field."""
    errors: dict[str, object] = {}
    title = " ".join((values.get("title") or "").split())
    if not title or len(title) > 200:
        errors["title"] = _("Enter a title of at most 200 characters.")
    target_text = (values.get("target") or "").strip()
    target = int(target_text) if target_text.isascii() and target_text.isdigit() else 0
    if not 1 <= target <= 100000:
        errors["target"] = _("Enter a whole number of participants, at least 1.")
    dates: dict[str, date] = {}
    for name in ("opens_on", "closes_on"):
        try:
            dates[name] = date.fromisoformat((values.get(name) or "").strip())
        except ValueError:
            errors[name] = _("Enter a date as YYYY-MM-DD.")
    if len(dates) == 2 and dates["closes_on"] < dates["opens_on"]:
        errors["closes_on"] = _("The recruitment closes on or after the day it opens.")
    known = {str(site.id): site.id for site in sites}
    chosen = tuple(sorted({known[s] for s in site_ids if s in known}))
    if not chosen:
        errors["sites"] = _("Choose at least one site.")
    form = definition.form(values.get("form") or "") if definition else None
    if form is None:
        errors["form"] = _("Choose the pre-screening form among the published design's forms.")
    criteria = "\n".join(criteria_lines(values.get("criteria") or ""))
    if form is not None:
        table = _symbols(form)
        for line in criteria_lines(criteria):
            try:
                check(parse(line), table)
            except ExpressionError as error:
                errors["criteria"] = _(
                    "${criterion}: ${message}",
                    mapping={"criterion": line, "message": error.message},
                )
                break
    if errors:
        return None, errors
    return RecruitmentData(
        title=title,
        target=target,
        opens_on=dates["opens_on"],
        closes_on=dates["closes_on"],
        form=form.name if form else "",
        criteria=criteria,
        site_ids=chosen,
        open=values.get("state", "open") != "closed",
    ), {}


def recruitments(dbsession: Session, study: Study) -> list[tuple[Recruitment, int, int]]:
    """The study's recruitments with their applications and enrolments (one query)."""
    enrolled = func.count(Application.id).filter(Application.state == ApplicationState.ENROLLED)
    return [
        (recruitment, total, done)
        for recruitment, total, done in dbsession.execute(
            select(Recruitment, func.count(Application.id), enrolled)
            .outerjoin(Application, Application.recruitment_id == Recruitment.id)
            .where(Recruitment.study_id == study.id)
            .group_by(Recruitment.id)
            .order_by(Recruitment.number.desc())
        )
    ]


def site_ids_of(dbsession: Session, recruitment: Recruitment) -> list[int]:
    return list(
        dbsession.scalars(
            select(RecruitmentSite.site_id)
            .where(RecruitmentSite.recruitment_id == recruitment.id)
            .order_by(RecruitmentSite.site_id)
        )
    )


def study_sites(dbsession: Session, study: Study) -> list[Site]:
    return list(
        dbsession.scalars(select(Site).where(Site.study_id == study.id).order_by(Site.code))
    )


def sites_of(dbsession: Session, recruitment: Recruitment) -> list[Site]:
    return list(
        dbsession.scalars(
            select(Site)
            .join(RecruitmentSite, RecruitmentSite.site_id == Site.id)
            .where(RecruitmentSite.recruitment_id == recruitment.id)
            .order_by(Site.code)
        )
    )


def _snapshot(recruitment: Recruitment, site_ids: Sequence[int]) -> dict[str, object]:
    return {
        "title": recruitment.title,
        "target": recruitment.target,
        "opens_on": recruitment.opens_on.isoformat(),
        "closes_on": recruitment.closes_on.isoformat(),
        "form": recruitment.form,
        "criteria": recruitment.criteria,
        "sites": list(site_ids),
        "state": recruitment.state.value,
    }


def save(
    dbsession: Session,
    study: Study,
    recruitment: Recruitment | None,
    data: RecruitmentData,
    actor: Actor,
) -> Recruitment:
    """Create a recruitment (``recruitment`` None) or change it; audited old → new."""
    old = None
    if recruitment is None:
        number = (
            dbsession.scalar(
                select(func.max(Recruitment.number)).where(Recruitment.study_id == study.id)
            )
            or 0
        ) + 1
        recruitment = Recruitment(
            tenant_id=study.tenant_id,
            study_id=study.id,
            number=number,
            token=secrets.token_urlsafe(24),
            created_by_id=actor.user_id,
        )
        dbsession.add(recruitment)
    else:
        old = _snapshot(recruitment, site_ids_of(dbsession, recruitment))
    recruitment.title, recruitment.target = data.title, data.target
    recruitment.opens_on, recruitment.closes_on = data.opens_on, data.closes_on
    recruitment.form, recruitment.criteria = data.form, data.criteria
    recruitment.state = RecruitmentState.OPEN if data.open else RecruitmentState.CLOSED
    dbsession.flush()
    current = set(site_ids_of(dbsession, recruitment))
    for site_id in current - set(data.site_ids):
        row = dbsession.get(RecruitmentSite, (recruitment.id, site_id))
        dbsession.delete(row)
    dbsession.add_all(
        RecruitmentSite(recruitment_id=recruitment.id, site_id=site_id)
        for site_id in set(data.site_ids) - current
    )
    dbsession.flush()
    new = _snapshot(recruitment, data.site_ids)
    if new != old:
        audit.record(
            dbsession,
            actor,
            tenant_id=study.tenant_id,
            action="recruitment.created" if old is None else "recruitment.changed",
            entity_type="recruitment",
            entity_id=recruitment.id,
            study_id=study.id,
            old=old,
            new=new,
        )
    return recruitment


def is_open(recruitment: Recruitment, today: date) -> bool:
    return (
        recruitment.state is RecruitmentState.OPEN
        and recruitment.opens_on <= today <= recruitment.closes_on
    )


# --- the public page -------------------------------------------------------------------------


def apply_throttle(dbsession: Session, registry: Registry, address: str) -> Throttle:
    return check_address(dbsession, registry, address, Bucket.APPLICATION)


def count_attempt(dbsession: Session, registry: Registry, address: str) -> None:
    """A submission or an unknown page, counted against the address in the applications'
    bucket (never the sign-in's: many applicants may share one address)."""
    record_attempt(
        dbsession, registry, APPLY_ATTEMPTS, address, succeeded=False, bucket=Bucket.APPLICATION
    )


def evaluation_throttle(dbsession: Session, registry: Registry, address: str) -> Throttle:
    return check_address(dbsession, registry, address, Bucket.EVALUATION)


def count_evaluation(dbsession: Session, registry: Registry, address: str) -> None:
    """Every evaluation of the questionnaire counts: it runs expressions for anyone."""
    record_attempt(
        dbsession, registry, APPLY_ATTEMPTS, address, succeeded=False, bucket=Bucket.EVALUATION
    )


def questionnaire_of(
    dbsession: Session, recruitment: Recruitment, today: date
) -> tuple[Definition, Form] | None:
    """The published design and pre-screening form applicants answer, while the recruitment
    takes applications (None otherwise, or when its form left the published design)."""
    if not is_open(recruitment, today):
        return None
    study = dbsession.get(Study, recruitment.study_id)
    design = published_design(dbsession, study) if study else None
    form = design.definition.form(recruitment.form) if design else None
    if design is None or form is None:
        return None
    return design.definition, form


def questionnaire_state(form: Form, posted: Mapping[str, list[str]], today: date) -> FormState:
    return evaluate_form(form, posted, today=today)


def eligibility(criteria: str, state: FormState, today: date) -> tuple[bool | None, list[str]]:
    """The verdict of ``criteria`` on the answers, and the criteria behind it: the false ones
    (not eligible), else those that could not be evaluated (undecided)."""
    values = {s.name: (s.parsed.value if s.visible else None) for s in state.items() if s.name}
    context = MappingContext(values, today=today)
    failed: list[str] = []
    unknown: list[str] = []
    for line in criteria_lines(criteria):
        try:
            if not is_true(evaluate(parse(line), context)):
                failed.append(line)
        except ExpressionError:
            unknown.append(line)
    if failed:
        return False, failed
    if unknown:
        return None, unknown
    return True, []


def submit(
    dbsession: Session,
    registry: Registry,
    recruitment: Recruitment,
    site: Site,
    person_data: repository.PersonData,
    state: FormState,
    *,
    opt_in: bool,
    today: date,
    actor: Actor,
) -> Application:
    """Register the applicant in the repository, sealed, and their application with the
    criteria's verdict and the person it may duplicate; audited without personal data."""
    study = dbsession.get(Study, recruitment.study_id)
    assert study is not None
    person = repository.register(dbsession, registry, actor, study, site, person_data)
    person.contact_opt_in = opt_in
    duplicate = repository.possible_duplicate(dbsession, person)
    eligible, reasons = eligibility(recruitment.criteria, state, today)
    now = datetime.now(UTC)
    application = Application(
        tenant_id=recruitment.tenant_id,
        study_id=recruitment.study_id,
        recruitment_id=recruitment.id,
        site_id=site.id,
        person_id=person.id,
        duplicate_of_id=duplicate.id if duplicate else None,
        answers={s.name: list(s.raw) for s in state.items() if s.name and s.visible and s.raw},
        eligible=eligible,
        eligibility_reason="\n".join(reasons),
        state=ApplicationState.APPLIED,
        consented_at=now,
        submitted_at=now,
        updated_at=now,
    )
    dbsession.add(application)
    dbsession.flush()
    dbsession.add(
        ApplicationMove(
            application_id=application.id, to_state=ApplicationState.APPLIED.value, at=now
        )
    )
    audit.record(
        dbsession,
        actor,
        tenant_id=recruitment.tenant_id,
        action="application.submitted",
        entity_type="application",
        entity_id=application.id,
        study_id=recruitment.study_id,
        site_id=site.id,
        new={
            "person": person.reference,
            "eligible": eligible,
            "opt_in": opt_in,
            "possible_duplicate_of": duplicate.reference if duplicate else None,
        },
    )
    return application


# --- the pipeline ----------------------------------------------------------------------------


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
    return paginate(dbsession, _scoped(statement, site_ids), number, PER_PAGE)


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


def override(
    dbsession: Session, application: Application, value: str, reason: str, actor: Actor
) -> None:
    """A person's verdict over the computed one ("" takes the override back)."""
    reason = reason.strip()
    if value not in ("yes", "no", ""):
        raise ValidationError("override", _("Choose eligible or not eligible."))
    if not reason:
        raise ValidationError("reason", _("Say why."))
    new = {"yes": True, "no": False, "": None}[value]
    old = application.override
    if new == old:
        return
    application.override = new
    application.override_reason = reason[:1000] if new is not None else None
    application.override_by_id = actor.user_id if new is not None else None
    application.override_at = datetime.now(UTC) if new is not None else None
    application.updated_at = datetime.now(UTC)
    audit.record(
        dbsession,
        actor,
        tenant_id=application.tenant_id,
        action="application.eligibility_overridden",
        entity_type="application",
        entity_id=application.id,
        study_id=application.study_id,
        site_id=application.site_id,
        field="eligible",
        old=application.eligible if old is None else old,
        new=application.decided,
        reason=reason[:500],
    )


def move(
    dbsession: Session,
    application: Application,
    study: Study,
    site: Site,
    target: str,
    reason: str,
    actor: Actor,
) -> None:
    """Move ``application`` to ``target``; enrolling makes a study subject at its site and
    links the person to them in the repository."""
    try:
        to = ApplicationState(target)
    except ValueError:
        raise ValidationError("state", _("Choose where the application goes.")) from None
    if not moves.may_move(application.state, to):
        raise ValidationError("state", _("The application cannot go there from where it is."))
    reason = reason.strip()
    if to in (ApplicationState.SCREEN_FAILED, ApplicationState.WITHDRAWN) and not reason:
        raise ValidationError("reason", _("Say why."))
    old = application.state
    if to is ApplicationState.ENROLLED:
        subject = subjects.enrol(dbsession, study, site, None, actor=actor)
        person = dbsession.get(Person, application.person_id)
        assert person is not None
        repository.link(dbsession, actor, person, subject.label, lambda _subject: True)
        application.subject_id = subject.id
    now = datetime.now(UTC)
    application.state, application.updated_at = to, now
    dbsession.add(
        ApplicationMove(
            application_id=application.id,
            from_state=old.value,
            to_state=to.value,
            reason=reason[:1000],
            by_id=actor.user_id,
            at=now,
        )
    )
    audit.record(
        dbsession,
        actor,
        tenant_id=application.tenant_id,
        action="application.moved",
        entity_type="application",
        entity_id=application.id,
        study_id=application.study_id,
        site_id=application.site_id,
        subject_id=application.subject_id,
        field="state",
        old=old.value,
        new=to.value,
        reason=reason[:500] or None,
    )


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
