"""``datacapt demo``: the demo tenant and study, one user per role. Running it again changes
nothing that exists; it only adds what is missing."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.accounts.services import create_user, find_user, grant_study_role, grant_tenant_role
from datacapt.actor import Actor
from datacapt.calendar import services as calendar
from datacapt.cli.bootstrap import Environment
from datacapt.cli.demo_design import epro_definition
from datacapt.cli.demo_queries import ensure_demo_queries
from datacapt.clock import installation_today, today_in
from datacapt.db import exists, transaction_scope
from datacapt.design import services
from datacapt.ecrf import versions
from datacapt.entry import services as entry
from datacapt.epro import services as epro
from datacapt.i18n import LANGUAGES
from datacapt.models import (
    EproOccurrence,
    FormInstance,
    RandomisationMethod,
    Site,
    Study,
    StudyRoleAssignment,
    Subject,
    SubjectStatus,
    TenantRoleAssignment,
    User,
)
from datacapt.permissions import StudyRole, TenantRole
from datacapt.randomisation import services as randomisation
from datacapt.reactions import reactions_of
from datacapt.studies.services import (
    create_site,
    create_study,
    create_tenant,
    find_site,
    find_study,
    find_tenant,
    set_site_target,
)

#: Printed for anyone trying the demo; the demo is for laptops and test machines only.
DEMO_PASSWORD = "Demo-password-2026"  # noqa: S105
#: Who loads the demo (data are entered as the demo's coordinator).
DEMO = Actor.system("demo")
TENANT = ("acme", "Acme Clinical Research")
STUDY = ("demo", "Demonstration study — hypertension follow-up")
STUDY_TIMEZONE = "Europe/Paris"
SITES = (
    ("par01", "Paris University Hospital", "FR", "Europe/Paris"),
    ("ber01", "Berlin Clinical Centre", "DE", "Europe/Berlin"),
)
#: The rooms of each demo site, which appointments book.
DEMO_ROOMS = (("c1", "Consultation room 1"), ("lab", "Sampling room"))
#: Subjects each site means to enrol: the enrolment report draws them as target lines.
TARGETS = {"par01": 12, "ber01": 8}
SUBJECTS = {
    "par01": (
        SubjectStatus.INCLUDED,
        SubjectStatus.INCLUDED,
        SubjectStatus.SCREENING,
        SubjectStatus.SCREEN_FAILURE,
    ),
    "ber01": (SubjectStatus.INCLUDED, SubjectStatus.SCREENING, SubjectStatus.WITHDRAWN),
}


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: str  # a StudyRole or TenantRole value, or "system_admin"
    sites: tuple[str, ...] = ()


USERS = (
    DemoUser("admin@datacapt.example", "Sam Admin", "system_admin"),
    DemoUser("tenant-admin@acme.example", "Tess Tenant", TenantRole.TENANT_ADMIN),
    DemoUser("dpo@acme.example", "Dara Protection", TenantRole.DPO),
    DemoUser("study-admin@acme.example", "Sasha Designer", StudyRole.STUDY_ADMIN),
    DemoUser("investigator@acme.example", "Dr Inès Martin", StudyRole.INVESTIGATOR, ("par01",)),
    DemoUser(
        "sub-investigator@acme.example", "Dr Paul Roux", StudyRole.SUB_INVESTIGATOR, ("par01",)
    ),
    DemoUser("coordinator@acme.example", "Camille Coordinator", StudyRole.COORDINATOR, ("par01",)),
    DemoUser(
        "coordinator-berlin@acme.example", "Jonas Koordinator", StudyRole.COORDINATOR, ("ber01",)
    ),
    DemoUser("monitor@acme.example", "Morgan Monitor", StudyRole.MONITOR),
    DemoUser("data-manager@acme.example", "Dana Manager", StudyRole.DATA_MANAGER),
    DemoUser("sponsor@acme.example", "Sol Sponsor", StudyRole.SPONSOR_VIEWER),
    DemoUser("auditor@acme.example", "Ari Auditor", StudyRole.AUDITOR),
)


def _ensure_user(dbsession: Session, env: Environment, demo: DemoUser) -> User:
    return find_user(dbsession, demo.email) or create_user(
        dbsession,
        env.registry,
        demo.email,
        demo.name,
        DEMO_PASSWORD,
        system_admin=demo.role == "system_admin",
    )


def _ensure_design(dbsession: Session, study: Study) -> None:
    """Version 1 of the demo design, published, unless the study already has versions."""
    if versions.study_versions(dbsession, study):
        return
    draft = services.start_draft(dbsession, study, DEMO)
    services.save_draft(
        dbsession,
        study,
        draft,
        epro_definition(),
        expected_lock=draft.lock_version,
        action="design.imported",
        element=None,
        old=None,
        new={"source": "datacapt demo"},
        actor=DEMO,
    )
    services.publish(
        dbsession,
        study,
        draft,
        actor=DEMO,
        expected_lock=draft.lock_version,
        reason="Initial version of the demo design",
    )


#: A double-blind minimisation on the site and the subject's sex (from Demographics): a subject
#: is randomised from the casebook once that form is complete; numbers start T- until go-live.
DEMO_RANDOMISATION = randomisation.DesignInput(
    method=RandomisationMethod.MINIMISATION,
    arms=[
        {"code": "A", "label": "Standard care", "ratio": 1},
        {"code": "B", "label": "New treatment", "ratio": 1},
    ],
    block_sizes=[],
    by_site=True,
    items=["sex"],
    weights=[1.0, 1.0],
    measure="range",
    p=0.8,
    list_length=100,
    blinded=True,
)


def _ensure_randomisation(dbsession: Session, study: Study) -> None:
    """The demo's randomisation design, unless the study has one."""
    if randomisation.design_of(dbsession, study) is None:
        randomisation.save_design(dbsession, study, DEMO_RANDOMISATION, DEMO)


def load_demo(dbsession: Session, env: Environment) -> None:
    tenant = find_tenant(dbsession, TENANT[0]) or create_tenant(dbsession, *TENANT)
    study = find_study(dbsession, tenant, STUDY[0]) or create_study(
        dbsession, tenant, *STUDY, languages=list(LANGUAGES), timezone=STUDY_TIMEZONE
    )
    sites = {}
    for code, name, country, zone in SITES:
        site = find_site(dbsession, study, code)
        if site is None:  # a new site is created with its target and place: one audited act
            site = create_site(
                dbsession,
                study,
                code,
                name,
                target=str(TARGETS[code]),
                country=country,
                timezone=zone,
            )
        elif site.target_enrolment is None:  # a demo loaded before sites had targets
            set_site_target(dbsession, site, str(TARGETS[code]), DEMO)
        sites[code] = site
        if not calendar.rooms_of(dbsession, site):
            for room_code, room_name in DEMO_ROOMS:
                calendar.add_room(dbsession, site, room_code, room_name, DEMO)
    for demo in USERS:
        user = _ensure_user(dbsession, env, demo)
        is_study_role = demo.role in StudyRole.__members__.values()
        if demo.role in TenantRole.__members__.values() and not exists(
            dbsession, TenantRoleAssignment, tenant_id=tenant.id, user_id=user.id
        ):
            grant_tenant_role(dbsession, user, tenant, TenantRole(demo.role))
        elif is_study_role and not exists(
            dbsession, StudyRoleAssignment, study_id=study.id, user_id=user.id
        ):
            restricted = [sites[code] for code in demo.sites] or None
            grant_study_role(dbsession, user, study, StudyRole(demo.role), restricted)
    _ensure_design(dbsession, study)
    _ensure_randomisation(dbsession, study)
    for code, statuses in SUBJECTS.items():
        for number, status in enumerate(statuses, start=1):
            label = f"{code}-{number:04d}"
            if not exists(dbsession, Subject, study_id=study.id, label=label):
                dbsession.add(
                    Subject(
                        tenant_id=tenant.id,
                        study_id=study.id,
                        site_id=sites[code].id,
                        label=label,
                        status=status,
                    )
                )
    dbsession.flush()
    _ensure_entered_data(dbsession, env, study)
    _ensure_questionnaire(dbsession, env, study)
    ensure_demo_queries(
        dbsession,
        env.registry,
        study,
        find_user(dbsession, "coordinator@acme.example"),
        find_user(dbsession, "monitor@acme.example"),
    )


#: Values saved for the first subject of par01, so monitors have forms to verify, data managers
#: forms to lock and investigators a casebook to sign.
DEMO_VALUES = {
    ("screening", "vital_signs"): {"systolic": "128", "diastolic": "82", "heart_rate": "71"},
    ("baseline", "vital_signs"): {"systolic": "131", "diastolic": "85", "heart_rate": "68"},
}


def _ensure_entered_data(dbsession: Session, env: Environment, study: Study) -> None:
    """Some saved forms, entered as the Paris coordinator, unless the subject has data already."""
    subject = dbsession.scalar(
        select(Subject).where(Subject.study_id == study.id, Subject.label == "par01-0001")
    )
    design = versions.published_design(dbsession, study)
    coordinator = find_user(dbsession, "coordinator@acme.example")
    if subject is None or design is None or coordinator is None:
        return
    if exists(dbsession, FormInstance, subject_id=subject.id):
        return
    forms = {form.name: form for form in design.definition.forms}
    today = installation_today(env.registry)
    for (visit, form), values in DEMO_VALUES.items():
        scope = entry.EntryScope(
            study=study,
            subject=subject,
            visit=visit,
            visit_repeat=1,
            form=forms[form],
            form_repeat=1,
            version_number=design.number,
        )
        request = entry.EntryRequest(
            posted={name: [value] for name, value in values.items()},
            missing={},
            complete=True,
            reason="",
            lock=None,
            today=today,
        )
        entry.save_form(
            dbsession,
            scope,
            design.definition,
            request,
            missing_codes=set(),
            actor=Actor.system("demo", user_id=coordinator.id),
            reactions=reactions_of(env.registry),
        )


#: The demo subject who has a questionnaire to fill, open from the day the demo is loaded.
EPRO_SUBJECT, EPRO_VISIT, EPRO_FORM, EPRO_DAYS_OPEN = "par01-0001", "baseline", "wellbeing", 14


def _ensure_questionnaire(dbsession: Session, env: Environment, study: Study) -> None:
    """The demo subject's questionnaire, its window counted in their site's zone from today,
    unless they have one (or the design has none: a demo loaded before it had one)."""
    subject = dbsession.scalar(
        select(Subject).where(Subject.study_id == study.id, Subject.label == EPRO_SUBJECT)
    )
    design = versions.published_design(dbsession, study)
    form = design.definition.form(EPRO_FORM) if design is not None else None
    if subject is None or form is None or not form.epro:
        return
    if exists(dbsession, EproOccurrence, subject_id=subject.id):
        return
    site = dbsession.get(Site, subject.site_id)
    zone = site.timezone or study.timezone
    opens, closes = epro.window(today_in(ZoneInfo(zone)), 0, EPRO_DAYS_OPEN, zone)
    epro.schedule_occurrence(
        dbsession,
        subject,
        design.definition,
        visit=EPRO_VISIT,
        form=EPRO_FORM,
        opens_at=opens,
        closes_at=closes,
        actor=DEMO,
    )


def demo(env: Environment, args: argparse.Namespace) -> int:
    with transaction_scope(env.registry) as dbsession:
        load_demo(dbsession, env)
    print(
        f"Demo tenant '{TENANT[0]}', study '{STUDY[0]}' with sites "
        f"{', '.join(site[0] for site in SITES)}. Every demo user's password: {DEMO_PASSWORD}"
    )
    width = max(len(u.email) for u in USERS)
    for user in USERS:
        scope = f" (sites: {', '.join(user.sites)})" if user.sites else ""
        print(f"  {user.email:<{width}}  {user.role}{scope}")
    print(
        f"Subject {EPRO_SUBJECT} has a questionnaire to fill: "
        f"datacapt epro link {TENANT[0]} {STUDY[0]} {EPRO_SUBJECT}"
    )
    return 0


def add_parsers(commands: Any) -> None:
    p = commands.add_parser("demo", help="load the demo tenant, study and users (idempotent)")
    p.set_defaults(handler=demo)
