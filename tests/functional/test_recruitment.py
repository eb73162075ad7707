"""Recruitment as its staff and applicants use it: a recruitment created and changed (checked
beside its fields, audited), the public page (branching, consent, 422 keeping what was typed,
one 404 page for unknown and closed, rate-limited per address, a thank-you page telling no
verdict), the applicant sealed in the repository, eligibility with its reason and a person's
override, the pipeline (counts, filters, sites, names only with VIEW_PII and every read logged,
a fixed number of queries), moves with their history, and enrolment linking a new subject."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from datacapt.accounts.services import BUCKET_FACTORS, Bucket, check_address, record_attempt
from datacapt.actor import Actor
from datacapt.models import (
    Application,
    ApplicationMove,
    ApplicationState,
    AuditEvent,
    LoginAttempt,
    Person,
    PersonKey,
    PersonLink,
    PiiAccess,
    Recruitment,
    RecruitmentState,
    Subject,
)
from datacapt.recruitment.services import listing
from datacapt.repository import services as repository
from tests.factories import (
    APPLICATION_IDS,
    ELIGIBLE_ANSWERS,
    RECRUITMENT_TOKEN,
    SETUP,
    add_recruitment,
    build_world,
    login,
)

RECRUITMENTS = "/acme/demo/recruitment/"
PIPELINE = "/acme/demo/recruitment/1/"
APPLY = f"/apply/{RECRUITMENT_TOKEN}"
CANARY_EMAIL = "canary.zoe@example.org"
CANARY_NAME = "Canarÿ"


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    add_recruitment(dbsession, registry, world)
    return world


def as_user(testapp, world, role):
    testapp.reset()
    assert login(testapp, world.users[role].email).status_int == 303
    return testapp


def fill(form, answers=None, **identity):
    answers = ELIGIBLE_ANSWERS if answers is None else answers
    for name, values in answers.items():
        form[name] = values[0]
    details = {
        "first_name": CANARY_NAME,
        "last_name": "Tester",
        "email": CANARY_EMAIL,
        "site": "",
        "consent": True,
    } | identity
    for name, value in details.items():
        if name != "site" or value:
            form["applicant_" + name] = value
    return form


def site_value(world, code):
    return str(world.sites[code].id)


def apply(testapp, world, answers=None, status="*", **identity):
    page = testapp.get(APPLY)
    form = fill(page.forms["apply-form"], answers, site=site_value(world, "par01"), **identity)
    return form.submit(status=status)


def newest(dbsession):
    """The application sent last through the page (the factory's have ids far above)."""
    return dbsession.scalar(
        select(Application)
        .where(Application.id.not_in(APPLICATION_IDS.values()))
        .order_by(Application.id.desc())
        .limit(1)
    )


# --- the staff's recruitments ----------------------------------------------------------------


def test_a_recruitment_is_created_checked_and_audited(testapp, world, dbsession):
    admin = as_user(testapp, world, "study_admin")
    form = admin.get(RECRUITMENTS + "@@new").forms["recruitment-form"]
    form["title"] = "Asthma study"
    form["target"] = "12"
    form["opens_on"] = "2026-01-10"
    form["closes_on"] = "2026-01-01"
    form["form"] = "demographics"
    form["criteria"] = "[no_such_item] > 1"
    refused = form.submit(status=422)
    assert refused.html.find(id="field-closes_on-error") is not None
    assert refused.html.find(id="field-criteria-error") is not None
    assert refused.html.find(id="field-sites-error") is not None
    assert refused.forms["recruitment-form"]["title"].value == "Asthma study"
    form = refused.forms["recruitment-form"]
    form["closes_on"] = "2026-03-01"
    form["criteria"] = "[height_cm] >= 140"
    form.get("sites", index=0).checked = True
    saved = form.submit(status=303)
    assert saved.location.endswith("/acme/demo/recruitment/2/@@edit")
    assert admin.get(saved.location).html.find(id="public-url") is not None
    admin.get("/acme/demo/recruitment/2/", status=403)  # the applications are not theirs
    row = dbsession.scalar(select(Recruitment).where(Recruitment.number == 2))
    assert (row.title, row.target, row.form) == ("Asthma study", 12, "demographics")
    event = dbsession.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "recruitment.created")
        .order_by(AuditEvent.id.desc())
    )
    assert event.entity_id == str(row.id)
    form = admin.get("/acme/demo/recruitment/2/@@edit").forms["recruitment-form"]
    form["state"] = "closed"
    form.submit(status=303)
    dbsession.refresh(row)
    assert row.state is RecruitmentState.CLOSED
    changed = dbsession.scalar(select(AuditEvent).where(AuditEvent.action == "recruitment.changed"))
    assert '"open"' in changed.old_value and '"closed"' in changed.new_value


def test_site_staff_and_monitors_do_not_manage_recruitments(testapp, world):
    coordinator = as_user(testapp, world, "coordinator")
    assert coordinator.get(RECRUITMENTS).status_int == 200
    coordinator.get(RECRUITMENTS + "@@new", status=403)
    monitor = as_user(testapp, world, "monitor")
    assert "Healthy volunteers" in monitor.get(RECRUITMENTS).text
    monitor.get(PIPELINE, status=403)


# --- the public page -------------------------------------------------------------------------


def test_applying_seals_the_person_and_tells_no_verdict(testapp, world, dbsession):
    page = testapp.get(APPLY)
    assert "Healthy volunteers" in page.text
    assert "subject-area" in page.html.body["class"]  # no staff menus; no referrer sent
    assert page.forms["apply-form"]["pregnant"]  # in the page, hidden by branching until asked
    done = apply(testapp, world, opt_in=True, status=303)
    thanks = testapp.get(done.location)
    assert thanks.html.find(id="thanks") is not None
    for word in ("eligible", "Eligible", "criteria"):
        assert word not in thanks.html.find("main").text
    application = newest(dbsession)
    assert application.eligible is True and application.state is ApplicationState.APPLIED
    assert application.answers["height_cm"] == ["165"]
    person = dbsession.get(Person, application.person_id)
    assert person.contact_opt_in is True
    assert CANARY_EMAIL.encode() not in person.ciphertext
    assert CANARY_EMAIL not in str(application.answers)
    audited = " ".join(
        f"{e.old_value} {e.new_value} {e.reason}" for e in dbsession.scalars(select(AuditEvent))
    )
    assert CANARY_EMAIL not in audited and CANARY_NAME not in audited


def test_hidden_answers_are_not_kept_and_criteria_give_the_reason(testapp, world, dbsession):
    male = {"sex": ["1"], "pregnant": ["1"], "height_cm": ["180"], "birth_date": ["01/02/1980"]}
    apply(testapp, world, male, status=303)
    application = newest(dbsession)
    assert "pregnant" not in application.answers  # asked of women only
    assert application.eligible is True
    pregnant = {**ELIGIBLE_ANSWERS, "pregnant": ["1"], "height_cm": ["140"]}
    apply(testapp, world, pregnant, status=303)
    application = newest(dbsession)
    assert application.eligible is False
    assert application.eligibility_reason.splitlines() == [
        "[height_cm] >= 150",
        "[sex] = '1' or [pregnant] = '0'",
    ]


def test_bad_input_is_refused_beside_its_field_and_nothing_is_lost(testapp, world, dbsession):
    before = dbsession.scalar(select(func.count(Application.id)))
    answers = {k: v for k, v in ELIGIBLE_ANSWERS.items() if k != "pregnant"}
    refused = apply(testapp, world, answers, status=422, email="not-an-address", consent=False)
    assert refused.html.find(id="field-applicant_consent-error") is not None
    assert refused.html.find(id="field-applicant_email-error") is not None
    assert "Please answer this question." in refused.text  # pregnant: asked, left blank
    form = refused.forms["apply-form"]
    assert form["height_cm"].value == "165"
    assert form["applicant_first_name"].value == CANARY_NAME
    assert form["applicant_email"].value == "not-an-address"
    assert dbsession.scalar(select(func.count(Application.id))) == before


def test_unknown_and_closed_recruitments_show_one_page(testapp, world, dbsession):
    unknown = testapp.get("/apply/no-such-recruitment-token", status=404)
    recruitment = dbsession.scalar(select(Recruitment))
    recruitment.state = RecruitmentState.CLOSED
    dbsession.flush()
    closed = testapp.get(APPLY, status=404)
    assert unknown.html.find("main").text == closed.html.find("main").text
    recruitment.state = RecruitmentState.OPEN
    recruitment.closes_on = datetime.now(UTC).date() - timedelta(days=2)
    dbsession.flush()
    assert testapp.get(APPLY, status=404).html.find("main").text == unknown.html.find("main").text


def test_the_page_is_rate_limited_per_address(testapp, world, dbsession):
    for number in range(30):  # datacapt.login_max_failures_per_ip in testing.ini
        testapp.get(f"/apply/guessing-token-{number:08d}", status=404)
    assert dbsession.scalar(select(func.count(LoginAttempt.id))) >= 30
    testapp.get(APPLY, status=429)


def test_applications_have_their_own_bucket_and_leave_sign_in_alone(
    testapp, world, dbsession, registry
):
    limit = registry["datacapt.settings"].login_max_failures_per_ip
    for number in range(limit):
        testapp.get(f"/apply/guessing-token-{number:08d}", status=404)
    testapp.get(APPLY, status=429)
    address = dbsession.scalar(select(LoginAttempt.ip))
    assert set(dbsession.scalars(select(LoginAttempt.bucket))) == {Bucket.APPLICATION}
    assert not check_address(dbsession, registry, address, Bucket.SUBJECT_LINK).blocked
    as_user(testapp, world, "coordinator")  # signs in at once, no 429


def test_failed_sign_ins_leave_the_application_page_alone(testapp, world, registry):
    for number in range(registry["datacapt.settings"].login_max_failures_per_ip):
        login(testapp, f"guess{number}@example.org", "wrong password!!")
    assert login(testapp, world.users["coordinator"].email).status_int == 429
    testapp.reset()
    apply(testapp, world, status=303)


def evaluation(testapp, url=APPLY, **fields):
    token = testapp.get(APPLY).forms["apply-form"]["csrf_token"].value
    return {"csrf_token": token, **fields}, url + "/@@evaluate"


def test_live_branching_is_counted_in_its_own_bucket(testapp, world, dbsession, registry):
    data, url = evaluation(testapp, sex="2")
    answered = testapp.post(url, data, status=200)
    assert "datacapt:form-state" in answered.headers["HX-Trigger"]
    buckets = dbsession.scalars(select(LoginAttempt.bucket)).all()
    assert buckets == [Bucket.EVALUATION]
    address = dbsession.scalar(select(LoginAttempt.ip))
    settings = registry["datacapt.settings"]
    generous = settings.login_max_failures_per_ip * BUCKET_FACTORS[Bucket.EVALUATION]
    assert generous > settings.login_max_failures_per_ip
    for _ in range(generous - 1):
        record_attempt(dbsession, registry, "x", address, succeeded=False, bucket=Bucket.EVALUATION)
    dbsession.flush()
    refused = testapp.post(url, data, status=429)
    assert int(refused.headers["Retry-After"]) > 0
    testapp.get(APPLY, status=200)  # the page itself and sign-in keep their own counts
    as_user(testapp, world, "coordinator")


def test_live_branching_refuses_big_bodies_and_closed_recruitments(testapp, world, dbsession):
    data, url = evaluation(testapp, sex="2")
    testapp.post(url, {**data, "height_cm": "1" * 70_000}, status=413)
    unknown = testapp.post("/apply/no-such-recruitment-token/@@evaluate", data, status=404)
    assert "form-state" not in unknown.headers.get("HX-Trigger", "")
    recruitment = dbsession.scalar(select(Recruitment))
    recruitment.state = RecruitmentState.CLOSED
    dbsession.flush()
    testapp.post(url, data, status=404)


def test_the_form_needs_its_csrf_token(testapp, world):
    testapp.post(APPLY, {"first_name": "X"}, status=400)


# --- the pipeline ----------------------------------------------------------------------------


def test_the_pipeline_shows_names_only_with_the_pii_permission(testapp, world, dbsession):
    coordinator = as_user(testapp, world, "coordinator")  # par01 only
    page = coordinator.get(PIPELINE)
    rows = page.html.find(id="applications").find_all("tr")[1:]
    assert len(rows) == 1 and "Cant par01" in rows[0].text
    assert "Cant ber01" not in page.text
    logged = dbsession.scalars(
        select(PiiAccess).where(PiiAccess.user_id == world.users["coordinator"].id)
    ).all()
    assert [(row.action, row.purpose) for row in logged] == [("view", "eligibility")]
    counts = page.html.find(id="pipeline-counts")
    assert counts.find(attrs={"data-state": "applied"}).find(class_="count").text == "1"
    assert counts.find(attrs={"data-state": "withdrawn"}).find(class_="count").text == "0"
    filtered = coordinator.get(PIPELINE + "?state=withdrawn")
    assert filtered.html.find(id="applications") is None
    assert coordinator.get(PIPELINE + "?eligible=yes").html.find(id="applications")
    assert coordinator.get(PIPELINE + "?eligible=no").html.find(id="applications") is None


def test_the_pipeline_runs_a_fixed_number_of_queries(
    testapp, world, dbsession, registry, query_counter
):
    coordinator = as_user(testapp, world, "coordinator")
    coordinator.get(PIPELINE)
    query_counter.clear()
    one = len(coordinator.get(PIPELINE).html.find(id="applications").find_all("tr")) - 1
    few = len(query_counter)
    for _ in range(5):
        apply(testapp, world, status=303)
    coordinator = as_user(testapp, world, "coordinator")
    coordinator.get(PIPELINE)
    query_counter.clear()
    page = coordinator.get(PIPELINE).html
    six = len(page.find(id="applications").find_all("tr")) - 1
    assert (one, six) == (1, 6)
    assert len(page.find_all(attrs={"data-duplicate-of": True})) == 4  # one e-mail, five times
    assert len(query_counter) == few


# --- possible duplicates ---------------------------------------------------------------------


def test_an_applicant_known_by_email_is_flagged_never_merged(testapp, world, dbsession, registry):
    apply(testapp, world, status=303)
    first = newest(dbsession)
    apply(testapp, world, first_name="Someone", last_name="Else", status=303)
    second = newest(dbsession)
    assert second.person_id != first.person_id  # two persons: nothing merged
    assert (first.duplicate_of_id, second.duplicate_of_id) == (None, first.person_id)
    known = dbsession.get(Person, first.person_id)
    event = dbsession.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "application.submitted", AuditEvent.entity_id == str(second.id)
        )
    )
    assert known.reference in event.new_value and CANARY_EMAIL not in event.new_value
    coordinator = as_user(testapp, world, "coordinator")
    row = coordinator.get(PIPELINE).html.find(attrs={"data-duplicate-of": known.reference})
    assert row is not None and row.find_parent("tr").find("a").text == str(second.id)
    logged = dbsession.scalars(
        select(PiiAccess.fields).where(
            PiiAccess.user_id == world.users["coordinator"].id,
            PiiAccess.person_id == known.id,
        )
    ).all()
    listed, matched = repository.LISTED_FIELDS, repository.MATCHED_FIELDS
    assert sorted(logged) == sorted([",".join(listed), ",".join(matched)])  # shown, and flagged
    recruitment = dbsession.get(Recruitment, first.recruitment_id)
    blind = listing.pipeline(
        dbsession,
        registry,
        Actor.system("test", tenant_id=recruitment.tenant_id),
        recruitment,
        listing.Filters(),
        1,
        sites=None,
        pii_sites=frozenset(),
    )
    assert blind.duplicates == {} and blind.names == {}


def test_names_and_birth_date_flag_a_duplicate_without_the_email(testapp, world, dbsession):
    born = {"first_name": "Ana", "last_name": "Lyse", "birth_date": "1990-02-01"}
    apply(testapp, world, email="ana.one@example.org", **born, status=303)
    first = newest(dbsession)
    apply(testapp, world, email="ana.two@example.org", **born, status=303)
    assert newest(dbsession).duplicate_of_id == first.person_id
    other = born | {"birth_date": "1991-02-01"}
    apply(testapp, world, email="ana.three@example.org", **other, status=303)
    assert newest(dbsession).duplicate_of_id is None


def test_staff_link_an_application_to_the_person_already_known(testapp, world, dbsession):
    apply(testapp, world, status=303)
    first = newest(dbsession)
    apply(testapp, world, opt_in=True, status=303)
    second = newest(dbsession)
    registered = dbsession.get(Person, second.person_id)
    known = dbsession.get(Person, first.person_id)
    assert known.contact_opt_in is False
    url = f"{PIPELINE}{second.id}/"
    coordinator = as_user(testapp, world, "coordinator")
    page = coordinator.get(url)
    assert known.reference in page.html.find(id="duplicate").text
    assert CANARY_EMAIL in page.html.find(id="duplicate-identity").text
    assert dbsession.scalar(
        select(PiiAccess).where(
            PiiAccess.person_id == known.id,
            PiiAccess.user_id == world.users["coordinator"].id,
        )
    )
    refused = page.forms["link-person-form"].submit(status=422)
    assert refused.html.find(id="field-duplicate_reason-error") is not None
    form = refused.forms["link-person-form"]
    form["duplicate_reason"] = "Same person, called to check"
    form.submit(status=303)
    dbsession.expire_all()
    assert (second.person_id, second.duplicate_of_id) == (known.id, None)
    assert registered.shredded_at is not None and registered.ciphertext is None
    assert registered.email_index is None and registered.name_birth_index is None
    assert dbsession.get(PersonKey, registered.id) is None
    assert known.shredded_at is None and known.contact_opt_in is True  # carried over
    linked = dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "application.person_linked")
    )
    assert (linked.old_value, linked.new_value) == (registered.reference, known.reference)
    assert linked.reason == "Same person, called to check"
    assert dbsession.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "person.duplicate_shredded",
            AuditEvent.entity_id == str(registered.id),
        )
    )
    after = coordinator.get(url)
    assert after.html.find(id="duplicate") is None
    assert CANARY_EMAIL in after.html.find(id="identity").text
    token = after.forms["move-form"]["csrf_token"].value
    coordinator.post(
        url + "@@link-person", {"duplicate_reason": "again", "csrf_token": token}, status=422
    )


def test_an_enrolled_application_keeps_its_person(testapp, world, dbsession):
    apply(testapp, world, status=303)
    apply(testapp, world, status=303)
    second = newest(dbsession)
    second.subject_id = dbsession.scalar(select(Subject.id).limit(1))
    dbsession.flush()
    coordinator = as_user(testapp, world, "coordinator")
    form = coordinator.get(f"{PIPELINE}{second.id}/").forms["link-person-form"]
    form["duplicate_reason"] = "Same person"
    assert "enrolled" in form.submit(status=422).html.find(class_="error-summary").text
    dbsession.refresh(second)
    assert second.duplicate_of_id is not None


def test_override_and_moves_are_audited_and_enrolment_links_a_subject(testapp, world, dbsession):
    url = f"{PIPELINE}{APPLICATION_IDS['par01']}/"
    coordinator = as_user(testapp, world, "coordinator")
    page = coordinator.get(url)
    assert "Cant par01" in page.html.find(id="identity").text
    form = page.forms["override-form"]
    form["override"] = "no"
    assert form.submit(status=422).html.find(id="field-reason-error") is not None
    form["reason"] = "Known allergy"
    form.submit(status=303)
    dbsession.expire_all()
    application = dbsession.get(Application, APPLICATION_IDS["par01"])
    assert application.override is False and application.decided is False
    event = dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "application.eligibility_overridden")
    )
    assert (event.reason, event.new_value) == ("Known allergy", "false")
    form = coordinator.get(url).forms["move-form"]
    form["state"] = "withdrawn"
    assert form.submit(status=422).html.find(id="field-reason-error") is not None
    for state in ("prescreened", "contacted", "screening_booked"):
        form = coordinator.get(url).forms["move-form"]
        form["state"] = state
        form.submit(status=303)
    coordinator.post(
        url + "@@move", {"state": "applied", "csrf_token": form["csrf_token"].value}, status=422
    )
    form = coordinator.get(url).forms["move-form"]
    form["state"] = "enrolled"
    form.submit(status=303)
    dbsession.refresh(application)
    assert application.state is ApplicationState.ENROLLED
    subject = dbsession.get(Subject, application.subject_id)
    assert subject.site_id == world.sites["par01"].id
    link = dbsession.scalar(select(PersonLink).where(PersonLink.subject_id == subject.id))
    assert link.person_id == application.person_id
    moves = dbsession.scalars(
        select(ApplicationMove.to_state)
        .where(ApplicationMove.application_id == application.id)
        .order_by(ApplicationMove.id)
    ).all()
    assert moves == ["prescreened", "contacted", "screening_booked", "enrolled"]
    history = coordinator.get(url).html.find(id="history").find_all("li")
    assert len(history) == 4


def test_applications_of_another_site_are_not_found(testapp, world):
    url = f"{PIPELINE}{APPLICATION_IDS['ber01']}/"
    coordinator = as_user(testapp, world, "coordinator")
    coordinator.get(url, status=404)
    as_user(testapp, world, "study_admin").get(url, status=404)
    as_user(testapp, world, "monitor").get(url, status=404)


def test_the_pipeline_pages_from_the_newest(testapp, world, dbsession, registry):
    first = dbsession.get(Application, APPLICATION_IDS["par01"])
    rows = [(first.id, "")]  # the coordinator's site's applications: (id, name)
    for number in range(listing.PER_PAGE + 4):
        person = repository.register(
            dbsession,
            registry,
            SETUP,
            world.study,
            world.sites["par01"],
            repository.PersonData(first_name="Page", last_name=f"Volunteer {number:03d}"),
        )
        application = Application(
            tenant_id=first.tenant_id,
            study_id=first.study_id,
            recruitment_id=first.recruitment_id,
            site_id=first.site_id,
            person_id=person.id,
            answers=first.answers,
            eligible=first.eligible,
            eligibility_reason=first.eligibility_reason,
            consented_at=first.consented_at,
        )
        dbsession.add(application)
        dbsession.flush()
        rows.append((application.id, f"Volunteer {number:03d}"))
    newest = [name for _id, name in sorted(rows, reverse=True)]
    coordinator = as_user(testapp, world, "coordinator")

    def listed(number: int) -> list[str]:
        table = coordinator.get(PIPELINE, {"page": number}).html.find(id="applications")
        found = table.find_all("tr")[1:]
        return [next((n for n in newest if n and n in row.text), "") for row in found]

    assert listed(1) == newest[: listing.PER_PAGE]
    assert listed(2) == newest[listing.PER_PAGE :]
