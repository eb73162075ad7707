"""The public application page's rules: its throttles, the questionnaire and its branching,
eligibility, and the application submitted.

An application's identity and contacts are registered as a person of the subject repository
(sealed under their own data key); the application keeps the person's id, the answers and the
verdict of the recruitment's criteria: all true → eligible, one false → not eligible (the false
ones are the reason), one that cannot be evaluated → undecided, for a person to decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from pyramid.registry import Registry
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.accounts.services import Bucket, Throttle, check_address, record_attempt
from datacapt.actor import Actor
from datacapt.ecrf.definition import Definition, Form
from datacapt.ecrf.runtime import FormState, evaluate_form
from datacapt.ecrf.versions import published_design
from datacapt.expressions import ExpressionError, MappingContext, evaluate, is_true, parse
from datacapt.models import Application, ApplicationMove, ApplicationState, Recruitment, Site, Study
from datacapt.recruitment.services.configuring import criteria_lines, is_open
from datacapt.repository import services as repository

#: What the public page's submissions count as, against the client's address.
APPLY_ATTEMPTS = "recruitment-apply"


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
