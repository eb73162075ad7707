"""Subjects' links and questionnaires: token security, the subject session's reach, and a
questionnaire answered over two sessions, through the pages a subject and a site use."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from datacapt.calendar import opt_out
from datacapt.cli.demo_design import epro_definition
from datacapt.db import transaction_scope
from datacapt.ecrf import versions
from datacapt.ecrf.versions import draft, published_design
from datacapt.epro import services
from datacapt.models import (
    AuditEvent,
    EproOccurrence,
    FormInstance,
    FormStatus,
    ItemValue,
    LoginAttempt,
    OccurrenceStatus,
    OutboxJob,
    Signature,
    Subject,
    SubjectLink,
    SubjectMailLink,
    SubjectSession,
    SubjectStatus,
)
from datacapt.security import SUBJECT_COOKIE
from datacapt.subjects import contacts
from tests.factories import SETUP, build_world, login, publish_definition


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    publish_definition(
        dbsession, world.study, draft(dbsession, world.study), epro_definition(), "ePRO"
    )
    return world


def occurrence_for(dbsession, world, label="par01-0001", *, opens=-1, closes=7):
    now = datetime.now(UTC)
    design = published_design(dbsession, world.study)
    return services.schedule_occurrence(
        dbsession,
        world.subjects[label],
        design.definition,
        visit="baseline",
        form="wellbeing",
        opens_at=now + timedelta(days=opens),
        closes_at=now + timedelta(days=closes),
        actor=SETUP,
    )


def link_for(dbsession, world, label="par01-0001", **kw):
    return services.hand_link(dbsession, world.subjects[label], SETUP, **kw)


def start(testapp, token, status=303):
    page = testapp.get(f"/p/@@start/{token}")
    return page.forms["start-form"].submit(status=status)


# --- tokens ------------------------------------------------------------------------------------


def test_a_token_is_256_random_bits_and_only_its_hash_is_stored(dbsession, world):
    handed = link_for(dbsession, world)
    other = link_for(dbsession, world)
    assert len(handed.token) >= 43 and handed.token != other.token
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", handed.token)
    row = dbsession.get(SubjectLink, handed.link.id)
    assert row.token_hash == hashlib.sha256(handed.token.encode()).hexdigest()
    assert handed.token not in repr(row.__dict__)


def test_handing_a_link_is_audited_without_the_token(dbsession, world):
    handed = link_for(dbsession, world)
    event = dbsession.scalar(select(AuditEvent).where(AuditEvent.action == "epro.link_handed"))
    assert event.subject_id == world.subjects["par01-0001"].id
    assert handed.token not in f"{event.old_value}{event.new_value}{event.entity_id}"


def test_a_get_shows_start_and_consumes_nothing(testapp, dbsession, world):
    handed = link_for(dbsession, world)
    for _ in range(3):
        page = testapp.get(f"/p/@@start/{handed.token}")
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert SUBJECT_COOKIE not in testapp.cookies
    assert dbsession.get(SubjectLink, handed.link.id).used_at is None
    assert dbsession.scalar(select(SubjectSession)) is None
    assert "Start" in page.text


def test_start_exchanges_the_link_for_a_session_and_leaves_the_token_behind(
    testapp, dbsession, world
):
    handed = link_for(dbsession, world)
    response = start(testapp, handed.token)
    assert handed.token not in response.location
    assert response.location.endswith("/p/s/")
    assert SUBJECT_COOKIE in testapp.cookies
    assert testapp.cookies[SUBJECT_COOKIE] not in handed.token
    session = dbsession.scalar(select(SubjectSession))
    assert (
        session.token_hash == hashlib.sha256(testapp.cookies[SUBJECT_COOKIE].encode()).hexdigest()
    )
    home = response.follow()
    assert home.headers["Referrer-Policy"] == "no-referrer"
    # the link is spent: the same answer as for a token never issued
    again = testapp.get(f"/p/@@start/{handed.token}", status=404)
    never = testapp.get("/p/@@start/" + "x" * 43, status=404)
    assert again.html.find("main").text == never.html.find("main").text


def test_bad_and_expired_links_get_the_same_answer(testapp, dbsession, world):
    expired = link_for(dbsession, world, now=datetime.now(UTC) - timedelta(days=8))
    old = testapp.get(f"/p/@@start/{expired.token}", status=404)
    bad = testapp.get("/p/@@start/not-a-token", status=404)
    assert old.html.find("main").text == bad.html.find("main").text
    assert old.headers["Referrer-Policy"] == "no-referrer"
    page = testapp.get(f"/p/@@start/{link_for(dbsession, world).token}")
    form = page.forms["start-form"]
    form["token"] = expired.token
    assert form.submit(status=404).html.find("main").text == bad.html.find("main").text


def test_lookups_are_rate_limited_per_address(testapp, dbsession, world, registry):
    handed = link_for(dbsession, world)
    limit = 30  # datacapt.login_max_failures_per_ip's default
    for number in range(limit):
        testapp.get(f"/p/@@start/guess{number}", status=404)
    assert dbsession.scalar(select(LoginAttempt).where(LoginAttempt.succeeded.is_(False)))
    testapp.get(f"/p/@@start/{handed.token}", status=429)


# --- the session's reach -----------------------------------------------------------------------


def test_a_subject_session_reaches_its_own_questionnaire_only(testapp, dbsession, world):
    own = occurrence_for(dbsession, world)
    other = occurrence_for(dbsession, world, "ber01-0001")
    start(testapp, link_for(dbsession, world).token)
    testapp.get(f"/p/s/{own.id}/")
    testapp.get(f"/p/s/{other.id}/", status=404)
    # no staff page either: the subject session is nobody there
    testapp.get("/acme/demo/subjects/par01-0001/", status=303)
    testapp.get("/globex/", status=303)
    testapp.get("/acme/", status=303)


def test_without_a_session_the_questionnaires_are_not_found(testapp, dbsession, world):
    own = occurrence_for(dbsession, world)
    testapp.get(f"/p/s/{own.id}/", status=404)
    testapp.get("/p/s/", status=404)


def test_staff_cannot_answer_through_the_subject_area(testapp, dbsession, world):
    own = occurrence_for(dbsession, world)
    login(testapp, "coordinator@example.org")
    testapp.get(f"/p/s/{own.id}/", status=404)


# --- answering ---------------------------------------------------------------------------------


def test_a_questionnaire_over_two_sessions(testapp, dbsession, world):
    occurrence = occurrence_for(dbsession, world)
    start(testapp, link_for(dbsession, world, occurrence=occurrence).token).follow()
    page = testapp.get(f"/p/s/{occurrence.id}/")
    form = page.forms["questionnaire-form"]
    refused = form.submit("action", value="next", status=422)
    assert "Please answer this question." in refused.html.find(class_="error-summary").text
    field = refused.html.find(id="item-pain")
    assert field["aria-invalid"] == "true"  # and the message is next to it
    assert "Please answer this question." in refused.html.find(id="item-pain-message").text
    form = refused.forms["questionnaire-form"]
    form["pain"] = "1"
    page = form.submit("action", value="next").follow()
    assert "Page 2 of 2" in page.text
    assert page.html.find(id="block-I.PAIN_SCORE").get("hidden") is None
    form = page.forms["questionnaire-form"]
    form["pain_score"] = "2"
    form.submit("action", value="later").follow()
    dbsession.expire_all()
    assert dbsession.get(type(occurrence), occurrence.id).status is OccurrenceStatus.STARTED

    testapp.reset()
    page = start(testapp, link_for(dbsession, world, occurrence=occurrence).token).follow()
    page = testapp.get(f"/p/s/{occurrence.id}/")
    assert page.forms["questionnaire-form"]["pain"].value == "1"  # kept from the first session
    page = testapp.get(f"/p/s/{occurrence.id}/?page=1")
    assert page.forms["questionnaire-form"]["pain_score"].value == "2"
    form = page.forms["questionnaire-form"]
    form["sleep"] = "1"
    done = form.submit("action", value="submit").follow()
    assert "Thank you" in done.text
    dbsession.expire_all()
    assert dbsession.get(type(occurrence), occurrence.id).status is OccurrenceStatus.COMPLETED
    instance = dbsession.scalar(select(FormInstance).where(FormInstance.form == "wellbeing"))
    assert instance.status is FormStatus.COMPLETE
    values = {
        row.item_oid: row.value
        for row in dbsession.scalars(
            select(ItemValue).where(ItemValue.form_instance_id == instance.id)
        )
    }
    assert values == {"I.PAIN": "1", "I.PAIN_SCORE": "2", "I.SLEEP": "1"}
    changes = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "entry.value_changed")
    ).all()
    subject_id = world.subjects["par01-0001"].id
    assert changes and all(e.by_subject_id == subject_id and e.actor_id is None for e in changes)
    # staff see the answers in the casebook as usual
    testapp.reset()
    login(testapp, "coordinator@example.org")
    casebook = testapp.get("/acme/demo/subjects/par01-0001/baseline/wellbeing/")
    assert casebook.html.find("input", attrs={"name": "pain_score", "value": "2"}).has_attr(
        "checked"
    )


def test_outside_its_window_a_questionnaire_is_closed(testapp, dbsession, world):
    later = occurrence_for(dbsession, world, opens=2, closes=9)
    start(testapp, link_for(dbsession, world).token)
    page = testapp.get(f"/p/s/{later.id}/", status=403)
    assert "This questionnaire is closed" in page.text
    assert "How are you today?" not in testapp.get("/p/s/").text


def test_a_link_to_a_questionnaire_not_open_yet_says_it_is_closed_and_stays_unused(
    testapp, dbsession, world
):
    later = occurrence_for(dbsession, world, opens=2, closes=9)
    handed = link_for(dbsession, world, occurrence=later)
    page = testapp.get(f"/p/@@start/{handed.token}", status=403)
    assert "This questionnaire is closed" in page.text
    assert dbsession.get(SubjectLink, handed.link.id).used_at is None
    assert SUBJECT_COOKIE not in testapp.cookies


def test_the_subject_sees_times_in_their_site_zone(testapp, dbsession, world):
    world.sites["par01"].timezone = "America/New_York"
    occurrence = occurrence_for(dbsession, world)
    occurrence.closes_at = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)
    dbsession.flush()
    home = start(testapp, link_for(dbsession, world).token).follow()
    assert home.html.find("main").find("time").text == "20 Dec 2026 07:00"


def test_a_session_ends_with_its_lifetime(testapp, dbsession, world):
    own = occurrence_for(dbsession, world)
    start(testapp, link_for(dbsession, world).token)
    testapp.get(f"/p/s/{own.id}/")
    session = dbsession.scalar(select(SubjectSession))
    session.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    dbsession.flush()
    page = testapp.get(f"/p/s/{own.id}/", status=404)
    assert "Ask your study team for a new link" in page.text


def test_a_foreign_tenants_subject_session_reaches_nothing_here(testapp, dbsession, world):
    own = occurrence_for(dbsession, world)
    foreign = dbsession.scalar(select(Subject).where(Subject.label == "lyo01-0001"))
    start(testapp, services.hand_link(dbsession, foreign, SETUP).token)
    assert dbsession.scalar(select(SubjectSession)).tenant_id == world.foreign_tenant.id
    testapp.get("/p/s/")
    testapp.get(f"/p/s/{own.id}/", status=404)
    testapp.post(f"/p/s/{own.id}/@@save", {"page": "0", "pain": "1"}, status=404)


def test_a_subject_session_cannot_sign_or_enter_staff_data(testapp, dbsession, world):
    start(testapp, link_for(dbsession, world).token)
    csrf = testapp.get("/p/s/").html.find("body")["hx-headers"]
    token = csrf.split('"')[3]
    for path in (
        "/acme/demo/subjects/par01-0001/@@sign",
        "/acme/demo/subjects/par01-0001/screening/demographics/@@save",
    ):
        response = testapp.post(path, {"csrf_token": token}, status=303)
        assert "/login?came_from=" in response.location  # nobody, to the staff pages
    assert dbsession.scalar(select(Signature)) is None
    assert dbsession.scalar(select(FormInstance)) is None


def test_windows_closed_unanswered_become_missed(dbsession, world):
    late = occurrence_for(dbsession, world, opens=-9, closes=-2)
    done = occurrence_for(dbsession, world, opens=-9, closes=-2)
    done.status = OccurrenceStatus.COMPLETED
    current = occurrence_for(dbsession, world)
    assert services.mark_missed(dbsession, datetime.now(UTC), SETUP) == 1
    assert (late.status, done.status, current.status) == (
        OccurrenceStatus.MISSED,
        OccurrenceStatus.COMPLETED,
        OccurrenceStatus.SCHEDULED,
    )
    event = dbsession.scalar(select(AuditEvent).where(AuditEvent.action == "epro.status_changed"))
    assert (event.entity_id, event.old_value, event.new_value) == (
        str(late.id),
        "scheduled",
        "missed",
    )


# --- the site's page ----------------------------------------------------------------------------


def test_site_staff_hand_a_link_with_its_qr_code(testapp, dbsession, world):
    login(testapp, "coordinator@example.org")
    page = testapp.get("/acme/demo/subjects/par01-0001/@@epro-link")
    shown = page.forms["hand-link-form"].submit()
    url = shown.html.find(id="handed-url")["value"]
    assert "/p/@@start/" in url
    assert shown.html.find("img", class_="qr-code")["src"].startswith("data:image/svg+xml")
    token = url.rsplit("/", 1)[1]
    event = dbsession.scalar(select(AuditEvent).where(AuditEvent.action == "epro.link_handed"))
    assert event.actor_id == world.users["coordinator"].id
    assert token not in f"{event.new_value}"
    # another site's subject: not found for a coordinator restricted to par01
    testapp.get("/acme/demo/subjects/ber01-0001/@@epro-link", status=404)


# --- the command line ---------------------------------------------------------------------------


def test_the_command_prints_a_fresh_link_for_the_demo_subject(datacapt):
    assert datacapt("demo")[0] == 0
    code, out, _err = datacapt("epro", "link", "acme", "demo", "par01-0001", "--no-qr")
    assert code == 0
    assert re.search(r"/p/@@start/[A-Za-z0-9_-]{43}\n", out)
    again = datacapt("epro", "link", "acme", "demo", "par01-0001")[1]
    assert again.split()[0] != out.split()[0] and "█" in again
    code, _out, err = datacapt("epro", "link", "acme", "demo", "nobody-0001")
    assert code == 2 and "no subject 'nobody-0001'" in err


def test_site_staff_schedule_a_questionnaire_from_a_starting_day(testapp, dbsession, world):
    world.sites["par01"].timezone = "America/New_York"
    world.subjects["par01-0001"].included_on = date(2026, 3, 1)
    dbsession.flush()
    login(testapp, "coordinator@example.org")
    page = testapp.get("/acme/demo/subjects/par01-0001/@@epro-link")
    form = page.forms["schedule-form"]
    assert form["questionnaire"].options[0][0] == "baseline/wellbeing"
    form["anchor"] = "inclusion"
    form["offset"] = "1 week"
    refused = form.submit(status=422)
    assert refused.html.find(id="field-offset")["aria-invalid"] == "true"
    assert "Enter a whole number of days" in refused.html.find(id="field-offset-error").text
    form = refused.forms["schedule-form"]
    form["offset"] = "7"
    form["days_open"] = "3"
    form.submit().follow()
    occurrence = dbsession.scalar(select(EproOccurrence))
    assert (occurrence.visit, occurrence.form, occurrence.status) == (
        "baseline",
        "wellbeing",
        OccurrenceStatus.SCHEDULED,
    )
    # 8 March 2026 at midnight in New York (UTC-5), for three days (summer time on the 8th)
    assert occurrence.opens_at == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert occurrence.closes_at == datetime(2026, 3, 11, 4, tzinfo=UTC)
    shown = testapp.get("/acme/demo/subjects/par01-0001/@@epro-link")
    row = shown.html.find("table", class_="data").find("tbody").find("tr").text
    assert "How are you today?" in row and "scheduled" in row


# --- sending by mail ----------------------------------------------------------------------------


def send_form(page):
    return next(form for form in page.forms.values() if form.action.endswith("@@epro-send"))


def test_the_site_mails_a_link_after_commit_with_no_health_data(
    testapp, dbsession, world, registry, mailbox
):
    subject = world.subjects["par01-0001"]
    contacts.seal(registry, subject, contacts.Contact(email="pat@example.org"), dbsession)
    occurrence = occurrence_for(dbsession, world)
    login(testapp, "coordinator@example.org")
    send_form(testapp.get("/acme/demo/subjects/par01-0001/@@epro-link")).submit().follow()
    job = dbsession.scalar(select(OutboxJob).where(OutboxJob.name == services.SEND_JOB))
    assert job.arguments == {"occurrence_id": occurrence.id, "application_url": "http://localhost"}
    (mail,) = mailbox.messages()
    assert mail["To"] == "pat@example.org"
    assert mail["Subject"] == "Your questionnaire is ready"
    body = mail.get_content()
    token = re.search(r"/p/@@start/([A-Za-z0-9_-]{43})", body).group(1)
    assert "par01" not in body and "wellbeing" not in body and "pain" not in body.lower()
    dbsession.expire_all()
    assert dbsession.get(EproOccurrence, occurrence.id).status is OccurrenceStatus.SENT
    link = dbsession.scalar(select(SubjectLink).where(SubjectLink.occurrence_id == occurrence.id))
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    testapp.reset()
    page = start(testapp, token).follow()
    assert "Page 1 of 2" in page.text  # the link leads straight to its questionnaire


def test_no_mail_when_the_subject_has_no_address_or_the_questionnaire_is_done(
    dbsession, world, registry, mailbox
):
    occurrence = occurrence_for(dbsession, world)
    assert not services.send_link(dbsession, registry, occurrence.id, "http://localhost")
    contacts.seal(
        registry, world.subjects["par01-0001"], contacts.Contact(email="p@example.org"), dbsession
    )
    occurrence.status = OccurrenceStatus.COMPLETED
    assert not services.send_link(dbsession, registry, occurrence.id, "http://localhost")
    assert dbsession.scalar(select(SubjectLink)) is None


# --- designing ------------------------------------------------------------------------------------


def test_the_designer_marks_a_form_as_the_subjects_questionnaire(testapp, dbsession, registry):
    world = build_world(dbsession, registry)
    login(testapp, world.users["study_admin"].email)
    page = testapp.get("/acme/demo/design/forms/demographics/")
    form = page.forms["form-settings"]
    assert not form["epro"].checked
    form["epro"].checked = True
    form.submit().follow()
    saved = versions.definition_of(draft(dbsession, world.study))
    assert saved.form("demographics").epro
    assert not saved.form("vital_signs").epro
    event = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "design.form_changed")
    ).all()[-1]
    assert '"epro": true' in event.new_value and '"epro": false' in event.old_value


def test_a_questionnaire_page_takes_a_fixed_number_of_queries(
    testapp, dbsession, world, query_counter
):
    occurrence = occurrence_for(dbsession, world)
    start(testapp, link_for(dbsession, world, occurrence=occurrence).token)
    query_counter.clear()
    testapp.get(f"/p/s/{occurrence.id}/")
    empty = len(query_counter)
    form = testapp.get(f"/p/s/{occurrence.id}/").forms["questionnaire-form"]
    form["pain"] = "1"
    form.submit("action", value="next")
    query_counter.clear()
    testapp.get(f"/p/s/{occurrence.id}/")
    # the session with its subject's zone, the subject, the occurrence, the design, the saved
    # form, and once it exists its values: however many questions and answers
    assert (empty, len(query_counter)) == (5, 6), "\n".join(query_counter)


# --- the worker's sweep: first links and reminders -----------------------------------------------


def mail_jobs(dbsession):
    return [
        job.arguments["occurrence_id"]
        for job in dbsession.scalars(
            select(OutboxJob).where(OutboxJob.name == services.SEND_JOB).order_by(OutboxJob.id)
        )
    ]


def sweep(registry, at):
    """The worker's sweep at ``at``, in a transaction of its own (its mails queued on commit)."""
    with transaction_scope(registry) as session:
        return services.send_due_mails(session, at)


def test_the_sweep_mails_when_a_window_opens_then_reminds_daily_at_most_five_times(
    dbsession, world, registry
):
    occurrence = occurrence_for(dbsession, world)
    later = occurrence_for(dbsession, world, opens=30, closes=40)
    handed_only = occurrence_for(dbsession, world)
    for row in (occurrence, later):
        row.application_url = "https://edc.example"
    dbsession.flush()
    now = datetime.now(UTC)
    assert sweep(registry, now) == 1
    assert sweep(registry, now + timedelta(hours=23)) == 0
    for day in range(1, 8):
        sweep(registry, now + timedelta(days=day, minutes=1))
    assert mail_jobs(dbsession).count(occurrence.id) == 1 + services.MAX_REMINDERS
    assert later.id not in mail_jobs(dbsession) and handed_only.id not in mail_jobs(dbsession)


def test_reminders_stop_when_completed_or_the_subject_left_the_study(dbsession, world, registry):
    completed = occurrence_for(dbsession, world)
    withdrawn = occurrence_for(dbsession, world, "ber01-0001")
    for row in (completed, withdrawn):
        row.application_url = "https://edc.example"
    dbsession.flush()
    now = datetime.now(UTC)
    assert sweep(registry, now) == 2
    dbsession.expire_all()
    dbsession.get(EproOccurrence, completed.id).status = OccurrenceStatus.COMPLETED
    dbsession.get(Subject, world.subjects["ber01-0001"].id).status = SubjectStatus.WITHDRAWN
    dbsession.flush()
    assert sweep(registry, now + timedelta(days=2)) == 0
    # and a mail already queued re-checks at sending
    assert not services.send_link(dbsession, registry, withdrawn.id, "https://edc.example")


def test_an_opt_out_from_any_mail_stops_the_epro_links_and_reminders(dbsession, world, registry):
    """The opt-out link of an appointment mail stops every send (issue 17: opt-out stops all
    sends), the first link and the reminders alike, re-checked by a mail already queued."""
    occurrence = occurrence_for(dbsession, world)
    occurrence.application_url = "https://edc.example"
    subject = world.subjects["par01-0001"]
    opt_out.new_token(dbsession, subject)
    dbsession.flush()
    now = datetime.now(UTC)
    assert sweep(registry, now) == 1
    link = dbsession.scalar(select(SubjectMailLink).where(SubjectMailLink.subject_id == subject.id))
    opt_out.opt_out(dbsession, link, now, SETUP)
    dbsession.flush()
    assert sweep(registry, now + timedelta(days=2)) == 0
    assert not services.send_link(dbsession, registry, occurrence.id, "https://edc.example")


def test_scheduling_on_the_site_page_lets_the_worker_mail_at_opening(testapp, dbsession, world):
    login(testapp, "coordinator@example.org")
    form = testapp.get("/acme/demo/subjects/par01-0001/@@epro-link").forms["schedule-form"]
    form.submit().follow()
    occurrence = dbsession.scalar(select(EproOccurrence))
    assert occurrence.application_url == "http://localhost"


def test_branching_is_evaluated_while_answering(testapp, dbsession, world):
    occurrence = occurrence_for(dbsession, world)
    start(testapp, link_for(dbsession, world, occurrence=occurrence).token)
    page = testapp.get(f"/p/s/{occurrence.id}/")
    token = page.forms["questionnaire-form"]["csrf_token"].value
    answers = {"csrf_token": token, "page": "0"}
    shown = testapp.post(
        f"/p/s/{occurrence.id}/@@evaluate", answers | {"pain": "1"}, headers={"HX-Request": "true"}
    )
    hidden = testapp.post(
        f"/p/s/{occurrence.id}/@@evaluate", answers | {"pain": "0"}, headers={"HX-Request": "true"}
    )
    assert (
        "block-I.PAIN_SCORE"
        in json.loads(shown.headers["HX-Trigger"])["datacapt:form-state"]["shown"]
    )
    assert (
        "block-I.PAIN_SCORE"
        in json.loads(hidden.headers["HX-Trigger"])["datacapt:form-state"]["hidden"]
    )
    assert dbsession.scalar(select(FormInstance)) is None  # nothing saved
