"""Building test worlds through the same services the app and the command line use."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import webtest
from pyramid.registry import Registry
from sqlalchemy.orm import Session

from datacapt.accounts.services import create_user, grant_study_role, grant_tenant_role
from datacapt.actor import Actor
from datacapt.cli.demo_design import demo_definition
from datacapt.design import services
from datacapt.ecrf.definition import Definition
from datacapt.ecrf.versions import published_design
from datacapt.entry import services as entry
from datacapt.entry.services import new_form_instance
from datacapt.exports.options import ExportFormat, ExportOptions
from datacapt.exports.services import export_path
from datacapt.imports.report import Report
from datacapt.models import (
    Application,
    ConsentVersion,
    DataExport,
    DataImport,
    ExportState,
    FormStatus,
    ImportFormat,
    ImportState,
    MessageThread,
    Notification,
    NotificationKind,
    PaymentLine,
    PaymentOrder,
    PaymentPlan,
    PaymentPlanVisit,
    Product,
    ProductType,
    Query,
    Recruitment,
    Site,
    Study,
    StudyVersion,
    Subject,
    SubjectStatus,
    Tenant,
    User,
)
from datacapt.permissions import StudyRole, TenantRole
from datacapt.queries import services as queries
from datacapt.reactions import reactions_of
from datacapt.studies.services import create_site, create_study, create_tenant
from datacapt.subjects.services import new_visit_instance

PASSWORD = "correct horse battery staple"
#: Who builds the test worlds: a job, as the command line would.
SETUP = Actor.system("tests")


def make_user(
    dbsession: Session,
    registry: Registry,
    email: str,
    *,
    name: str = "Test User",
    system_admin: bool = False,
    password: str = PASSWORD,
) -> User:
    return create_user(dbsession, registry, email, name, password, system_admin=system_admin)


def make_subject(
    dbsession: Session, site: Site, label: str, status: SubjectStatus = SubjectStatus.SCREENING
) -> Subject:
    subject = Subject(
        tenant_id=site.tenant_id,
        study_id=site.study_id,
        site_id=site.id,
        label=label,
        status=status,
    )
    dbsession.add(subject)
    dbsession.flush()
    return subject


@dataclass
class World:
    """Two tenants. acme/demo has sites par01 and ber01 with a subject each, a user per role
    (investigator, sub-investigator and coordinator restricted to par01); globex/other has its
    own coordinator, who must never see acme."""

    tenant: Tenant
    study: Study
    sites: dict[str, Site]
    subjects: dict[str, Subject]
    users: dict[str, User] = field(default_factory=dict)
    foreign_tenant: Tenant | None = None


RESTRICTED_TO_PAR01 = {StudyRole.INVESTIGATOR, StudyRole.SUB_INVESTIGATOR, StudyRole.COORDINATOR}


def publish_definition(
    dbsession: Session, study: Study, version: StudyVersion, definition: Definition, reason: str
) -> None:
    """Save ``definition`` into the draft ``version`` as an import would, then publish it."""
    services.save_draft(
        dbsession,
        study,
        version,
        definition,
        expected_lock=version.lock_version,
        action="design.imported",
        element=None,
        old=None,
        new=None,
        actor=SETUP,
    )
    services.publish(
        dbsession, study, version, actor=SETUP, reason=reason, expected_lock=version.lock_version
    )


def make_design(dbsession: Session, study: Study, *, draft: bool = True) -> None:
    """Version 1 (the demo design) published, and with ``draft`` a version 2 started from it."""
    version = services.start_draft(dbsession, study, SETUP)
    publish_definition(dbsession, study, version, demo_definition(), "First version")
    if draft:
        services.start_draft(dbsession, study, SETUP)


def build_world(dbsession: Session, registry: Registry) -> World:
    tenant = create_tenant(dbsession, "acme", "Acme Research")
    study = create_study(dbsession, tenant, "demo", "Demo study")
    sites = {
        code: create_site(dbsession, study, code, name)
        for code, name in (("par01", "Paris"), ("ber01", "Berlin"))
    }
    subjects = {
        label: make_subject(dbsession, sites[label[:5]], label)
        for label in ("par01-0001", "ber01-0001")
    }
    world = World(tenant, study, sites, subjects)
    world.users["system_admin"] = make_user(
        dbsession, registry, "root@example.org", system_admin=True
    )
    world.users["tenant_admin"] = make_user(dbsession, registry, "tenant-admin@example.org")
    grant_tenant_role(dbsession, world.users["tenant_admin"], tenant, TenantRole.TENANT_ADMIN)
    for role in StudyRole:
        user = make_user(dbsession, registry, f"{role.value.replace('_', '-')}@example.org")
        restricted = [sites["par01"]] if role in RESTRICTED_TO_PAR01 else None
        grant_study_role(dbsession, user, study, role, restricted)
        world.users[role.value] = user
    world.users["nobody"] = make_user(dbsession, registry, "nobody@example.org")

    foreign = create_tenant(dbsession, "globex", "Globex")
    foreign_study = create_study(dbsession, foreign, "other", "Other study")
    foreign_site = create_site(dbsession, foreign_study, "lyo01", "Lyon")
    make_subject(dbsession, foreign_site, "lyo01-0001")
    world.users["foreign"] = make_user(dbsession, registry, "globex@example.org")
    grant_study_role(dbsession, world.users["foreign"], foreign_study, StudyRole.COORDINATOR)
    world.foreign_tenant = foreign
    make_design(dbsession, study)
    dbsession.flush()
    return world


#: The references of :func:`add_persons`' persons of the repository, registered at each site.
PERSONS = {"par01": "P-MATRIXPAR", "ber01": "P-MATRIXBER"}


def add_persons(dbsession: Session, registry: Registry, world: World) -> None:
    """A person of the repository registered at each acme site, and the tenant's DPO
    (``dpo@example.org``, no study role)."""
    from datacapt.repository import services as repository

    for code, reference in PERSONS.items():
        data = repository.PersonData(first_name="Ada", last_name=f"Person {code}")
        person = repository.register(
            dbsession, registry, SETUP, world.study, world.sites[code], data
        )
        person.reference = reference
    dpo = make_user(dbsession, registry, "dpo@example.org")
    grant_tenant_role(dbsession, dpo, world.tenant, TenantRole.DPO)
    world.users["dpo"] = dpo
    dbsession.flush()


def login(testapp: webtest.TestApp, email: str, password: str = PASSWORD) -> webtest.TestResponse:
    """Sign in through the real form (CSRF token included), as a person would."""
    form = testapp.get("/login").forms["login-form"]
    form["email"] = email
    form["password"] = password
    return form.submit(status="*")


def csrf_token(testapp: webtest.TestApp) -> str:
    """The session's CSRF token, read from a page as the browser would."""
    page = testapp.get("/login", status="*")
    if page.status_int == 303:  # signed in already
        page = testapp.get("/logout")
    return page.html.find("input", attrs={"name": "csrf_token"})["value"]


def add_queries(dbsession: Session, world: World) -> dict[str, Query]:
    """A form-level query on the screening consent form of each acme subject, raised by the
    data manager: query 1 at par01, query 2 at ber01."""
    actor = Actor(world.users["data_manager"].id)
    found = {}
    for label in ("par01-0001", "ber01-0001"):
        subject = world.subjects[label]
        visit = new_visit_instance(dbsession, subject, "screening", 1, SETUP)
        instance = new_form_instance(
            dbsession,
            subject,
            visit,
            "consent",
            1,
            status=FormStatus.IN_PROGRESS,
            version_number=1,
            actor=SETUP,
        )
        found[label] = queries.raise_query(
            dbsession, instance, None, f"Is the consent of {label} on file?", actor
        )
    dbsession.flush()
    return found


#: The id of :func:`add_export`'s export, far above what a sequence gives during a test run.
EXPORT_ID = 900001


def add_export(dbsession: Session, registry: Registry, world: World) -> DataExport:
    """A finished export of acme/demo by its data manager, with its file in the export folder."""
    export = DataExport(
        id=EXPORT_ID,
        tenant_id=world.tenant.id,
        study_id=world.study.id,
        requested_by_id=world.users["data_manager"].id,
        options=ExportOptions(format=ExportFormat.CSV).describe(),
        state=ExportState.DONE,
        progress=100,
        values=0,
        size=4,
        sha256=hashlib.sha256(b"test").hexdigest(),
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    dbsession.add(export)
    dbsession.flush()
    path = export_path(registry, export)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"test")
    return export


#: The id of :func:`add_import`'s import, far above what a sequence gives during a test run.
IMPORT_ID = 900002


def add_import(dbsession: Session, world: World) -> DataImport:
    """An import of acme/demo by its data manager whose dry run refused its rows (so it cannot
    be confirmed)."""
    report = Report(rows=1, refused=1)
    report.refuse(2, "No visit week9 in the study's design.", "par01-0001 / week9 / vital_signs")
    data_import = DataImport(
        id=IMPORT_ID,
        tenant_id=world.tenant.id,
        study_id=world.study.id,
        requested_by_id=world.users["data_manager"].id,
        file_name="values.csv",
        format=ImportFormat.CSV,
        size=4,
        sha256=hashlib.sha256(b"test").hexdigest(),
        state=ImportState.REFUSED,
        progress=100,
        report=report.as_json(),
        rows=1,
        refused=1,
    )
    dbsession.add(data_import)
    dbsession.flush()
    return data_import


#: The id of :func:`add_notification`'s notification, far above what a sequence gives.
def add_product(dbsession: Session, world: World) -> Product:
    """Product P1 in acme's catalogue."""
    product = Product(
        tenant_id=world.tenant.id, code="P1", name="Active 10 mg", type=ProductType.INVESTIGATIONAL
    )
    dbsession.add(product)
    dbsession.flush()
    return product


NOTIFICATION_ID = 900003


def add_notification(dbsession: Session, world: World) -> Notification:
    """An unread notification to the par01 coordinator that query 1 was raised."""
    notification = Notification(
        id=NOTIFICATION_ID,
        tenant_id=world.tenant.id,
        study_id=world.study.id,
        site_id=world.sites["par01"].id,
        user_id=world.users["coordinator"].id,
        kind=NotificationKind.QUERY_RAISED,
        parameters={"study": "demo", "subject": "par01-0001", "where": "", "query": 1},
        path="/acme/demo/queries/1/",
        in_app=True,
        by_mail=False,
        created_at=datetime.now(UTC),
    )
    dbsession.add(notification)
    dbsession.flush()
    return notification


#: The ids of :func:`add_threads`'s threads (par01, ber01), far above what a sequence gives.
THREAD_IDS = {"par01": 900004, "ber01": 900005}


def add_threads(dbsession: Session, world: World) -> None:
    """A message thread at each acme site, started by the monitor (no message yet)."""
    now = datetime.now(UTC)
    for code, thread_id in THREAD_IDS.items():
        dbsession.add(
            MessageThread(
                id=thread_id,
                tenant_id=world.tenant.id,
                study_id=world.study.id,
                site_id=world.sites[code].id,
                topic=f"About {code}",
                started_by_id=world.users["monitor"].id,
                started_at=now,
                updated_at=now,
            )
        )
    dbsession.flush()


def enter_values(
    dbsession: Session,
    registry: Registry,
    study: Study,
    subject: Subject,
    visit: str,
    form_name: str,
    values: dict[str, str],
    *,
    complete: bool = False,
    reason: str = "",
) -> None:
    """Values entered through the save, as a coordinator's form would send them (a complete
    form changes only with a ``reason``)."""
    definition = published_design(dbsession, study).definition
    form = next(f for f in definition.forms if f.name == form_name)
    scope = entry.EntryScope(study, subject, visit, 1, form, 1, 1)
    reads = entry.read_for_save(dbsession, scope, definition)
    request = entry.EntryRequest(
        posted={name: [value] for name, value in values.items()},
        missing={},
        complete=complete,
        reason=reason,
        lock=reads.instance.lock_version if reads.instance else None,
        today=date(2026, 6, 15),
    )
    plan = entry.plan_save(scope, definition, request, reads, missing_codes=set())
    entry.apply_save(dbsession, plan, SETUP, reactions_of(registry))
    dbsession.flush()


#: The ids of :func:`add_consent`'s live version and its two records (par01, ber01).
CONSENT_VERSION_ID = 900010
CONSENT_RECORD_IDS = {"par01": 900011, "ber01": 900012}


def add_consent(dbsession: Session, world: World) -> None:
    """A live consent version of acme/demo, and a consent waiting for the investigator's
    countersignature for each acme subject."""
    from datacapt.models import (
        ConsentDocument,
        ConsentRecord,
        ConsentStatus,
        IdentityMethod,
    )
    from datacapt.models.consent import VersionState

    document = ConsentDocument(tenant_id=world.tenant.id, study_id=world.study.id, title="Main")
    dbsession.add(document)
    dbsession.flush()
    text = {"title": "Main", "sections": [{"title": "", "html": "<p>Text</p>"}], "questions": []}
    dbsession.add(
        ConsentVersion(
            id=CONSENT_VERSION_ID,
            tenant_id=world.tenant.id,
            study_id=world.study.id,
            document_id=document.id,
            number="1",
            state=VersionState.LIVE,
            version_date=date(2026, 11, 1),
            content={"en": text},
            published_at=datetime.now(UTC),
        )
    )
    dbsession.flush()
    for code, record_id in CONSENT_RECORD_IDS.items():
        subject = world.subjects[f"{code}-0001"]
        dbsession.add(
            ConsentRecord(
                id=record_id,
                tenant_id=world.tenant.id,
                study_id=world.study.id,
                site_id=subject.site_id,
                subject_id=subject.id,
                version_id=CONSENT_VERSION_ID,
                language="en",
                status=ConsentStatus.NEEDS_COUNTERSIGNATURE,
                identity_method=IdentityMethod.IN_PERSON,
                progress={},
            )
        )
    dbsession.flush()


def publish_consent(
    dbsession: Session,
    study: Study,
    sites: list[Site],
    *,
    title: str = "Consent",
    text: str = "Text",
    questions: str = "",
    site_ids: list[int] | None = None,
) -> ConsentVersion:
    """A consent document of ``study`` (``sites``: its sites) written in English and published
    through the service, as its study administrator does: version 1, approved by ethics."""
    from datacapt.consent import documents

    version = documents.create_document(dbsession, SETUP, study, title, "en")
    documents.save_draft(
        dbsession,
        SETUP,
        version,
        language="en",
        languages=["en"],
        title=title,
        text=text,
        questions=questions,
        number="1",
        version_date="2026-11-01",
        ethics_approved_on="2026-11-15",
        site_ids=site_ids,
        study_sites=sites,
    )
    documents.publish(dbsession, SETUP, version)
    dbsession.flush()
    return version


def add_payment_order(dbsession: Session, world: World) -> PaymentOrder:
    """acme/demo's compensation plan (EUR 25.00 per completed baseline) and its draft order 1,
    paying par01-0001's baseline; no subject has bank details, so it cannot be validated."""
    study = world.study
    dbsession.add(PaymentPlan(study_id=study.id, tenant_id=study.tenant_id, currency="EUR"))
    dbsession.flush()
    dbsession.add(PaymentPlanVisit(study_id=study.id, visit="baseline", amount_cents=2500))
    order = PaymentOrder(tenant_id=study.tenant_id, study_id=study.id, number=1, currency="EUR")
    dbsession.add(order)
    dbsession.flush()
    dbsession.add(
        PaymentLine(
            tenant_id=study.tenant_id,
            study_id=study.id,
            order_id=order.id,
            subject_id=world.subjects["par01-0001"].id,
            earning="visit:baseline:1",
            planned_cents=2500,
            amount_cents=2500,
        )
    )
    dbsession.flush()
    return order


#: The public page's token of :func:`add_recruitment`'s recruitment.
RECRUITMENT_TOKEN = "matrix-recruitment-token-0001"
#: Its criteria: a height of at least 150 cm, and not pregnant (asked of women only).
RECRUITMENT_CRITERIA = "[height_cm] >= 150\n[sex] = '1' or [pregnant] = '0'"


#: :func:`add_recruitment`'s applications, by site.
APPLICATION_IDS = {"par01": 9001, "ber01": 9002}
#: Answers meeting :data:`RECRUITMENT_CRITERIA`.
ELIGIBLE_ANSWERS = {
    "birth_date": ["01/02/1990"],
    "sex": ["2"],
    "pregnant": ["0"],
    "height_cm": ["165"],
}


def add_recruitment(dbsession: Session, registry: Registry, world: World) -> Recruitment:
    """acme/demo's recruitment 1 at both sites, open for a month either side of today, asking
    the demographics form; an application at each site (:data:`APPLICATION_IDS`)."""
    from datacapt.recruitment.services import applying, configuring
    from datacapt.repository import services as repository

    today = datetime.now(UTC).date()
    data = configuring.RecruitmentData(
        title="Healthy volunteers",
        target=20,
        opens_on=today - timedelta(days=30),
        closes_on=today + timedelta(days=30),
        form="demographics",
        criteria=RECRUITMENT_CRITERIA,
        site_ids=tuple(site.id for site in world.sites.values()),
        open=True,
    )
    row = configuring.save(dbsession, world.study, None, data, SETUP)
    row.token = RECRUITMENT_TOKEN
    design = published_design(dbsession, world.study)
    assert design is not None
    form = design.definition.form("demographics")
    assert form is not None
    state = applying.questionnaire_state(form, ELIGIBLE_ANSWERS, today)
    eligible, reasons = applying.eligibility(row.criteria, state, today)
    for code, number in APPLICATION_IDS.items():
        person = repository.register(
            dbsession,
            registry,
            SETUP,
            world.study,
            world.sites[code],
            repository.PersonData(
                first_name="Appli", last_name=f"Cant {code}", email=f"applicant-{code}@example.org"
            ),
        )
        dbsession.add(
            Application(
                id=number,
                tenant_id=row.tenant_id,
                study_id=row.study_id,
                recruitment_id=row.id,
                site_id=world.sites[code].id,
                person_id=person.id,
                answers=ELIGIBLE_ANSWERS,
                eligible=eligible,
                eligibility_reason="\n".join(reasons),
                consented_at=datetime.now(UTC),
            )
        )
    dbsession.flush()
    return row
