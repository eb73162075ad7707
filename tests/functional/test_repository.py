"""The subject repository: persons registered, found (on blind indexes), read (always logged),
changed and linked through its pages; tenant and site isolation; keys rotated and shredded;
the DPO's access log, erasure decisions and retention; Art. 15 bundles."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import webtest
from sqlalchemy import func, select

import datacapt.exports
from datacapt import jobs
from datacapt.accounts.services import grant_tenant_role
from datacapt.actor import Actor
from datacapt.models import (
    AccessBundle,
    AuditEvent,
    BundleState,
    ErasureRequest,
    ErasureState,
    FormInstance,
    JobState,
    OutboxJob,
    Person,
    PersonKey,
    PiiAccess,
    RepositoryKek,
    RetentionRun,
    Subject,
    SubjectContact,
    SubjectKey,
)
from datacapt.permissions import TenantRole
from datacapt.repository import keys, rights, services
from datacapt.subjects import contacts
from tests.factories import SETUP, build_world, enter_values, login, make_user

REPOSITORY = "/acme/repository/"
ELOISE = {
    "first_name": "Éloïse",
    "last_name": "Dupont-Mérieux",
    "birth_date": "1958-03-14",
    "email": "Eloise.Dupont@example.org",
    "phone": "+33 6 12 34 56 78",
}


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    dpo = make_user(dbsession, registry, "dpo@example.org")
    grant_tenant_role(dbsession, dpo, world.tenant, TenantRole.DPO)
    world.users["dpo"] = dpo
    dbsession.flush()
    return world


def as_user(app, world, role) -> webtest.TestApp:
    browser = webtest.TestApp(
        app, extra_environ={"HTTP_HOST": "localhost:80", "REMOTE_ADDR": "10.0.0.1"}
    )
    login(browser, world.users[role].email)
    return browser


def form_with(page, field):
    return next(form for form in page.forms.values() if field in form.fields)


def register_through_form(browser, site_id: int, values=ELOISE) -> webtest.TestResponse:
    form = browser.get(REPOSITORY + "@@register").forms["register-form"]
    form["site"] = str(site_id)
    for name, value in values.items():
        form[name] = value
    return form.submit()


def add_person(dbsession, registry, world, site="par01", values=ELOISE) -> Person:
    data = services.clean(values, date(2026, 12, 1))
    person = services.register(dbsession, registry, SETUP, world.study, world.sites[site], data)
    dbsession.flush()
    return person


def test_a_coordinator_registers_finds_and_reads_a_person_every_read_logged(app, world, dbsession):
    coordinator = as_user(app, world, "coordinator")
    page = register_through_form(coordinator, world.sites["par01"].id).follow()
    person = dbsession.scalars(select(Person)).one()
    assert person.reference in page.text
    assert "Éloïse" not in page.text  # nothing shown until a purpose is given
    # at rest: ciphertext and digests only
    assert b"Dupont" not in person.ciphertext and b"eloise" not in person.ciphertext.lower()
    assert len(person.name_index) == 64 and "dupont" not in person.name_index
    assert dbsession.get(PersonKey, person.id) is not None

    # search on encrypted data: case, accents and spacing do not matter; no substring search
    found = coordinator.get(REPOSITORY, {"q": "  eloise   DUPONT-merieux "})
    assert person.reference in found.text and "eloise.dupont@example.org" in found.text
    assert person.reference in coordinator.get(REPOSITORY, {"q": "ELOISE.DUPONT@example.org"})
    assert person.reference in coordinator.get(REPOSITORY, {"q": "dupont-mérieux"})
    assert person.reference not in coordinator.get(REPOSITORY, {"q": "Dupont"}).text

    shown = coordinator.get(REPOSITORY + person.reference + "/", {"purpose": "contact"})
    assert "+33 6 12 34 56 78" in shown.text and "1958-03-14" in shown.text

    reads = dbsession.scalars(
        select(PiiAccess).where(PiiAccess.person_id == person.id).order_by(PiiAccess.id)
    ).all()
    assert [(r.action, r.purpose) for r in reads] == [
        ("search", "identification"),
        ("search", "identification"),
        ("search", "identification"),
        ("view", "contact"),
    ]
    assert reads[-1].user_id == world.users["coordinator"].id
    assert reads[-1].fields == "first_name,last_name,birth_date,email,phone"
    assert reads[0].fields == "first_name,last_name,email"


def test_changing_a_person_needs_a_reason_and_audits_field_names_only(app, world, dbsession):
    person = add_person(dbsession, app.registry, world)
    coordinator = as_user(app, world, "coordinator")
    form = coordinator.get(REPOSITORY + person.reference + "/@@edit").forms["edit-form"]
    form["phone"] = "+33 7 00 00 00 01"
    page = form.submit(status=422)
    assert "Say why the details change." in page.text
    form = page.forms["edit-form"]
    form["reason"] = "Person gave a new number"
    form.submit().follow()
    event = dbsession.scalars(select(AuditEvent).where(AuditEvent.action == "person.changed")).one()
    assert event.field == "phone" and event.reason == "Person gave a new number"
    assert "+33" not in (event.old_value or "") + (event.new_value or "")
    dbsession.refresh(person)
    data = services.read(dbsession, app.registry, SETUP, person, purpose="contact")
    assert data.phone == "+33 7 00 00 00 01"
    invalid = coordinator.get(REPOSITORY + person.reference + "/@@edit").forms["edit-form"]
    invalid["email"], invalid["reason"] = "not-an-address", "typo"
    assert "Enter a valid e-mail address." in invalid.submit(status=422).text


def test_persons_are_tenant_and_site_isolated_and_pii_needs_its_permission(app, world, dbsession):
    berlin = add_person(dbsession, app.registry, world, site="ber01")
    path = REPOSITORY + berlin.reference + "/"
    # restricted to par01: not listed, not found
    coordinator = as_user(app, world, "coordinator")
    assert berlin.reference not in coordinator.get(REPOSITORY).text
    coordinator.get(path, status=404)
    # another tenant's user: the repository itself is not found
    as_user(app, world, "foreign").get(REPOSITORY, status=404)
    as_user(app, world, "foreign").get(path, status=404)
    # no PII permission (monitor, organisation admin, DPO): no person found
    for role in ("monitor", "tenant_admin", "dpo", "study_admin"):
        browser = as_user(app, world, role)
        assert berlin.reference not in browser.get(REPOSITORY).text
        browser.get(path, status=404)
        browser.get(path + "@@edit", status=404)
    # a study-wide role with VIEW_PII... none exists in the table; the par01 investigator
    # (restricted) sees par01 only
    assert dbsession.scalar(select(PiiAccess.id).where(PiiAccess.person_id == berlin.id)) is None


def test_linking_to_a_study_subject_of_a_visible_site(app, world, dbsession):
    person = add_person(dbsession, app.registry, world)
    coordinator = as_user(app, world, "coordinator")
    page = coordinator.get(REPOSITORY + person.reference + "/")
    form = page.forms["link-form"]
    form["label"] = "ber01-0001"  # another site's subject: as unknown as a missing one
    assert "No subject with this ID in the study." in form.submit(status=422).text
    form = coordinator.get(REPOSITORY + person.reference + "/").forms["link-form"]
    form["label"] = "par01-0001"
    assert "demo · par01-0001" in form.submit().follow().text
    assert services.is_enrolled(dbsession, person)


def test_rotation_rewraps_every_data_key_and_keeps_everything_readable(app, world, dbsession):
    registry = app.registry
    first = add_person(dbsession, registry, world)
    second = add_person(dbsession, registry, world, values={**ELOISE, "first_name": "Jean"})
    before = {row.person_id: row.wrapped for row in dbsession.scalars(select(PersonKey))}
    generation, count = keys.rotate(dbsession, registry, world.tenant.id)
    assert (generation, count) == (2, 2)
    dbsession.expire_all()
    rows = dbsession.scalars(select(PersonKey)).all()
    assert all(row.kek_generation == 2 and row.wrapped != before[row.person_id] for row in rows)
    keks = dbsession.scalars(select(RepositoryKek).order_by(RepositoryKek.generation)).all()
    assert [kek.retired_at is None for kek in keks] == [False, True]
    assert services.read(dbsession, registry, SETUP, first, purpose="contact").first_name == (
        "Éloïse"
    )
    assert services.read(dbsession, registry, SETUP, second, purpose="contact").first_name == (
        "Jean"
    )


def test_shredding_makes_pii_unreadable_and_leaves_trial_data_intact(app, world, dbsession):
    registry = app.registry
    person = add_person(dbsession, registry, world)
    subject = world.subjects["par01-0001"]
    services.link(dbsession, SETUP, person, "par01-0001", lambda s: True)
    trial_events = dbsession.scalar(
        select(AuditEvent.id).where(AuditEvent.subject_id == subject.id).limit(1)
    )
    keys.shred(dbsession, person)
    dbsession.expire_all()
    with pytest.raises(keys.Shredded):
        services.read(dbsession, registry, SETUP, person, purpose="contact")
    with pytest.raises(keys.Shredded):
        keys.data_key(dbsession, registry, person)
    assert person.ciphertext is None and person.name_index is None
    assert dbsession.get(Subject, subject.id).label == "par01-0001"
    assert services.links_of(dbsession, person)[0][1].id == subject.id
    assert (
        dbsession.scalar(select(AuditEvent.id).where(AuditEvent.subject_id == subject.id).limit(1))
        == trial_events
    )
    page = as_user(app, world, "coordinator").get(
        REPOSITORY + person.reference + "/", {"purpose": "contact"}
    )
    assert "erased" in page.text and "Éloïse" not in page.text


def test_a_subjects_contacts_are_under_their_own_data_key_rotated_and_shredded(
    app, world, dbsession
):
    """A study subject's contact details are sealed under a data key of their own, wrapped by
    the tenant's KEK: rotation re-wraps it, reads are logged, and shredding it (directly, or
    by shredding the person linked to the subject) leaves the details unreadable, even from a
    copy kept elsewhere, and the trial data whole."""
    registry = app.registry
    subject, other = world.subjects["par01-0001"], world.subjects["ber01-0001"]
    enter_values(
        dbsession, registry, world.study, subject, "screening", "demographics", {"sex": "2"}
    )
    ana = contacts.Contact(name="Ana Sousa", email="ana@example.org")
    contacts.seal(registry, subject, ana, dbsession)
    contacts.seal(registry, other, contacts.Contact(name="Bo Li"), dbsession)
    dbsession.flush()
    row = dbsession.get(SubjectContact, subject.id)
    assert row.key_id is None and b"Sousa" not in row.ciphertext
    wrapped = dbsession.get(SubjectKey, subject.id).wrapped

    generation, count = keys.rotate(dbsession, registry, world.tenant.id)
    assert count == len(dbsession.scalars(select(SubjectKey)).all()) == 2
    rewrapped = dbsession.get(SubjectKey, subject.id)
    assert rewrapped.kek_generation == generation and rewrapped.wrapped != wrapped
    opened = contacts.open_logged(dbsession, registry, row, SETUP, purpose="contact")
    assert opened == ana
    [read] = dbsession.scalars(select(PiiAccess).where(PiiAccess.subject_id == subject.id))
    assert (read.action, read.purpose) == ("decrypt", "contact")

    def trial_data(subject_id: int) -> tuple[int, int]:
        return (
            dbsession.scalar(select(func.count()).where(FormInstance.subject_id == subject_id)),
            dbsession.scalar(select(func.count()).where(AuditEvent.subject_id == subject_id)),
        )

    before = trial_data(subject.id)
    backup = SubjectContact(
        subject_id=subject.id, tenant_id=row.tenant_id, nonce=row.nonce, ciphertext=row.ciphertext
    )
    assert keys.shred_subject(dbsession, world.tenant.id, subject.id)
    dbsession.expire_all()
    assert dbsession.get(SubjectKey, subject.id) is None
    assert dbsession.get(SubjectContact, subject.id) is None
    with pytest.raises(contacts.ContactUnreadable):
        contacts.open_row(dbsession, registry, backup)
    assert trial_data(subject.id) == before and before[0] and before[1] > 0
    assert dbsession.get(Subject, subject.id).label == "par01-0001"
    assert contacts.open_row(dbsession, registry, dbsession.get(SubjectContact, other.id)).name == (
        "Bo Li"
    )

    person = add_person(dbsession, registry, world)
    services.link(dbsession, SETUP, person, "ber01-0001", lambda s: True)
    keys.shred(dbsession, person)
    assert dbsession.get(SubjectKey, other.id) is None
    assert dbsession.get(SubjectContact, other.id) is None
    assert dbsession.get(Subject, other.id).label == "ber01-0001"


def test_erasure_of_a_prospect_decided_by_the_dpo_shreds_them(app, world, dbsession):
    person = add_person(dbsession, app.registry, world)
    coordinator = as_user(app, world, "coordinator")
    form = coordinator.get(REPOSITORY + person.reference + "/").forms["erasure-form"]
    form["note"] = "Asked by phone on 3 December"
    form.submit().follow()
    request = dbsession.scalars(select(ErasureRequest)).one()
    assert request.state == ErasureState.PENDING
    # the coordinator may not decide
    coordinator.get(REPOSITORY + "@@erasure-requests", status=403)

    dpo = as_user(app, world, "dpo")
    page = dpo.get(REPOSITORY + "@@erasure-requests")
    assert person.reference in page.text and "Éloïse" not in page.text
    form = form_with(page, "decision")
    form["decision"] = "erase"
    assert "Give the reason" in form.submit(status=422).text
    form = form_with(dpo.get(REPOSITORY + "@@erasure-requests"), "decision")
    form["decision"], form["reason"] = "erase", "Art. 17(1)(b): consent withdrawn, not enrolled"
    form.submit().follow()
    dbsession.expire_all()
    assert request.state == ErasureState.ERASED and request.enrolled is False
    assert dbsession.get(PersonKey, person.id) is None
    assert dbsession.get(Person, person.id).shredded_at is not None
    event = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "person.erasure_decided")
    ).one()
    assert event.actor_id == world.users["dpo"].id and "Art. 17(1)(b)" in event.reason


def test_an_enrolled_persons_erasure_is_refused_with_its_reason_and_trial_data_kept(
    app, world, dbsession
):
    person = add_person(dbsession, app.registry, world)
    services.link(dbsession, SETUP, person, "par01-0001", lambda s: True)
    rights.request_erasure(dbsession, SETUP, person)
    dbsession.flush()
    dpo = as_user(app, world, "dpo")
    form = form_with(dpo.get(REPOSITORY + "@@erasure-requests"), "decision")
    assert "Enrolled in a study." in dpo.get(REPOSITORY + "@@erasure-requests").text
    form["decision"], form["reason"] = "refuse", "Art. 17(3)(c) and CTR Art. 58: trial archive"
    form.submit().follow()
    request = dbsession.scalars(select(ErasureRequest)).one()
    dbsession.refresh(request)
    assert request.state == ErasureState.REFUSED and request.enrolled is True
    assert "CTR Art. 58" in request.decision_reason
    assert dbsession.get(PersonKey, person.id) is not None
    # and erasing is refused by the service itself
    second = rights.request_erasure(
        dbsession, SETUP, add_person(dbsession, app.registry, world, values={**ELOISE})
    )
    other = dbsession.get(Person, second.person_id)
    services.link(dbsession, SETUP, other, "ber01-0001", lambda s: True)
    with pytest.raises(Exception, match="enrolled"):
        rights.decide_erasure(dbsession, SETUP, other, second, erase=True, reason="asked")


def test_the_dpo_reads_the_access_log_filtered_and_as_csv(app, world, dbsession):
    person = add_person(dbsession, app.registry, world)
    other = add_person(dbsession, app.registry, world, values={**ELOISE, "first_name": "Jean"})
    coordinator = as_user(app, world, "coordinator")
    coordinator.get(REPOSITORY + person.reference + "/", {"purpose": "eligibility"})
    coordinator.get(REPOSITORY + other.reference + "/", {"purpose": "contact"})
    coordinator.get(REPOSITORY + "@@access-log", status=403)
    dpo = as_user(app, world, "dpo")
    page = dpo.get(REPOSITORY + "@@access-log", {"person": person.reference})
    rows = page.html.select("#access-log tbody tr")
    assert len(rows) == 1
    assert "coordinator@example.org" in rows[0].text and "Checking eligibility" in rows[0].text
    assert "Éloïse" not in page.text
    listed = dpo.get(
        REPOSITORY + "@@access-log", {"user": "coordinator@example.org", "action": "view"}
    )
    assert len(listed.html.select("#access-log tbody tr")) == 2
    response = dpo.get(REPOSITORY + "@@access-log.csv", {"person": other.reference})
    assert response.content_type == "text/csv"
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0] == ["at", "user", "actor", "person", "subject", "action", "fields", "purpose"]
    assert [line[3:] for line in lines[1:]] == [
        [other.reference, "", "view", "first_name,last_name,birth_date,email,phone", "contact"]
    ]


def test_reading_a_subjects_contact_details_is_in_the_access_log(app, world, dbsession):
    coordinator = as_user(app, world, "coordinator")
    form = coordinator.get("/acme/demo/subjects/par01-0001/@@contact").forms["contact-form"]
    form["contact-email"] = "someone@example.org"
    form.submit()
    coordinator.get("/acme/demo/subjects/par01-0001/@@contact")
    row = dbsession.scalars(select(PiiAccess).where(PiiAccess.subject_id.is_not(None))).one()
    assert (row.user_id, row.action, row.purpose) == (
        world.users["coordinator"].id,
        "view",
        "contact",
    )
    dpo = as_user(app, world, "dpo")
    page = dpo.get(REPOSITORY + "@@access-log")
    assert "par01-0001" in page.html.select_one("#access-log tbody").text
    assert "someone@example.org" not in page.text


def test_an_access_bundle_is_built_as_a_job_released_and_downloaded(app, world, dbsession):
    person = add_person(dbsession, app.registry, world)
    services.link(dbsession, SETUP, person, "par01-0001", lambda s: True)
    dbsession.flush()
    coordinator = as_user(app, world, "coordinator")
    coordinator.get(REPOSITORY + person.reference + "/").forms["bundle-form"].submit().follow()
    bundle = dbsession.scalars(select(AccessBundle)).one()
    [job] = dbsession.scalars(select(OutboxJob).where(OutboxJob.name == rights.BUNDLE_JOB)).all()
    assert job.arguments == {"bundle_id": bundle.id}
    jobs.execute(app.registry, job.id)  # the worker's part (nothing, if it ran after commit)
    dbsession.expire_all()
    assert dbsession.get(OutboxJob, job.id).state == JobState.DONE
    assert bundle.state == BundleState.READY and b"Dupont" not in bundle.json_sealed
    path = REPOSITORY + person.reference + "/@@bundle-file"
    coordinator.get(path, {"id": bundle.id, "kind": "json"}, status=404)  # not released yet
    page = coordinator.get(REPOSITORY + person.reference + "/")
    next(f for f in page.forms.values() if f.action.endswith("@@release")).submit().follow()
    document = json.loads(coordinator.get(path, {"id": bundle.id, "kind": "json"}).text)
    assert document["identity"]["last_name"] == "Dupont-Mérieux"
    assert document["studies"] == [
        {"study": "demo", "subject": "par01-0001", "status": "screening"}
    ]
    assert {"export"} <= {read["action"] for read in document["reads"]}
    pdf = coordinator.get(path, {"id": bundle.id, "kind": "pdf"})
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF")


def test_retention_dry_run_legal_hold_and_run_log(app, world, dbsession):
    registry = app.registry
    old = add_person(dbsession, registry, world)
    held = add_person(dbsession, registry, world, values={**ELOISE, "first_name": "Jean"})
    fresh = add_person(dbsession, registry, world, values={**ELOISE, "first_name": "Ana"})
    long_ago = datetime.now(UTC) - timedelta(days=1000)
    old.updated_at = held.updated_at = long_ago
    dbsession.flush()

    dpo = as_user(app, world, "dpo")
    hold = dpo.get(REPOSITORY + "@@retention").forms["hold-form"]
    hold["reference"], hold["hold"] = held.reference, "on"
    assert "Give the reason" in hold.submit(status=422).text
    hold = dpo.get(REPOSITORY + "@@retention").forms["hold-form"]
    hold["reference"], hold["hold_reason"] = "P-NOSUCH", "Litigation 2026-17"
    assert "No person with this reference." in hold.submit(status=422).text
    hold = dpo.get(REPOSITORY + "@@retention").forms["hold-form"]
    hold["reference"], hold["hold_reason"] = held.reference.lower(), "Litigation 2026-17"
    page = hold.submit().follow()
    assert f"{held.reference} — Litigation 2026-17" in page.html.select_one("#held").text
    page.forms["retention-run"].submit("run", value="dry").follow()
    dbsession.expire_all()
    assert dbsession.get(Person, old.id).shredded_at is None
    run = dbsession.scalars(select(RetentionRun)).one()
    assert run.dry_run and run.results["prospects"] == {"due": 1, "held": 1}

    dpo.get(REPOSITORY + "@@retention").forms["retention-run"].submit("run", value="apply").follow()
    dbsession.expire_all()
    assert dbsession.get(Person, old.id).shredded_at is not None
    assert dbsession.get(Person, held.id).shredded_at is None
    assert dbsession.get(Person, fresh.id).shredded_at is None
    runs = dbsession.scalars(select(RetentionRun).order_by(RetentionRun.id)).all()
    assert [r.dry_run for r in runs] == [True, False]
    # a policy change is audited; a bad one is refused beside its field
    form = form_with(dpo.get(REPOSITORY + "@@retention"), "days")
    form["days"] = "0"
    assert "between 1 and 73050" in form.submit(status=422).text
    coordinator = as_user(app, world, "coordinator")
    coordinator.get(REPOSITORY + "@@retention", status=403)


def test_the_persons_list_runs_a_fixed_number_of_queries(app, world, dbsession, query_counter):
    for n in range(3):
        add_person(dbsession, app.registry, world, values={**ELOISE, "first_name": f"P{n}"})
    coordinator = as_user(app, world, "coordinator")
    coordinator.get(REPOSITORY)
    query_counter.clear()
    coordinator.get(REPOSITORY)
    few = len(query_counter)
    for n in range(3, 12):
        add_person(dbsession, app.registry, world, values={**ELOISE, "first_name": f"P{n}"})
    query_counter.clear()
    coordinator.get(REPOSITORY)
    # every person's data key is loaded in one query with the page: nothing grows
    assert len(query_counter) == few


def test_no_export_module_reads_the_repository():
    folder = Path(datacapt.exports.__file__).parent
    for path in sorted(folder.rglob("*.py")):
        source = path.read_text()
        module = path.name
        assert "datacapt.repository" not in source, module
        for name in (
            "Person",
            "PersonLink",
            "PersonKey",
            "PiiAccess",
            "SubjectContact",
            "SubjectKey",
        ):
            assert f" {name}," not in source and f" {name}\n" not in source, (module, name)


def test_an_export_runs_no_sql_on_the_repository(app, world, dbsession, tmp_path, query_counter):
    from datacapt.exports.options import ExportFormat, ExportOptions
    from datacapt.exports.services import export

    add_person(dbsession, app.registry, world)
    query_counter.clear()
    for fmt in (ExportFormat.CSV, ExportFormat.ODM):
        export(dbsession, world.study, ExportOptions(format=fmt), tmp_path / fmt.value, actor=SETUP)
    assert query_counter
    for statement in query_counter:
        lowered = statement.lower()
        for table in ("person", "pii_access", "subject_contact", "subject_key", "access_bundle"):
            assert f" {table} " not in lowered and f" {table}\n" not in lowered, statement


def test_form_instances_are_untouched_by_the_repository(app, world, dbsession):
    """The trial store knows nothing of persons: no column of it names one."""
    assert "person" not in " ".join(c.name for c in FormInstance.__table__.columns)
    assert "person" not in " ".join(c.name for c in Subject.__table__.columns)
    assert Actor.system("x").user_id is None


def test_the_access_log_pages_from_the_newest(app, world, dbsession):
    tenant_id = world.study.tenant_id
    for number in range(130):
        dbsession.add(
            PiiAccess(
                tenant_id=tenant_id,
                actor="system",
                action="view",
                fields=f"field{number}",
                purpose="contact",
            )
        )
    dbsession.flush()
    dpo = as_user(app, world, "dpo")

    def fields(number: int) -> list[str]:
        page = dpo.get(REPOSITORY + "@@access-log", {"page": number})
        return [row.select("td")[4].text for row in page.html.select("#access-log tbody tr")]

    assert fields(1) == [f"field{number}" for number in range(129, 29, -1)]
    assert fields(2) == [f"field{number}" for number in range(29, -1, -1)]


def test_the_persons_list_pages_from_the_newest(app, world, dbsession):
    references = [add_person(dbsession, app.registry, world).reference for _ in range(55)]
    coordinator = as_user(app, world, "coordinator")

    def listed(number: int) -> list[str]:
        page = coordinator.get(REPOSITORY, {"page": number})
        return [ref for ref in references if ref in page.text]

    assert set(listed(1)) == set(references[5:])
    assert set(listed(2)) == set(references[:5])
