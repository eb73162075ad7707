"""Automations end to end: a matching event writes a run in its own transaction, a job carries
it out after the commit once due, at most once; opted-out subjects get nothing; failures are
retried and shown on the run log; rules are kept through their pages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from datacapt import clock, jobs
from datacapt.automations import services
from datacapt.automations.jobs import run_job
from datacapt.automations.rules import Happening, Trigger
from datacapt.cli.demo_design import epro_definition
from datacapt.db import transaction_scope
from datacapt.ecrf.versions import draft
from datacapt.models import (
    AuditEvent,
    AutomationRule,
    AutomationRun,
    AutomationTask,
    EproOccurrence,
    RunState,
    Study,
    Subject,
    SubjectContact,
    SubjectMailLink,
    SubjectStatus,
)
from datacapt.subjects import contacts
from datacapt.subjects.services import change_status
from tests.factories import (
    CONSENT_RECORD_IDS,
    SETUP,
    add_consent,
    build_world,
    csrf_token,
    enter_values,
    login,
    publish_definition,
)

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(dbsession, registry, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    world = build_world(dbsession, registry)
    publish_definition(
        dbsession, world.study, draft(dbsession, world.study), epro_definition(), "ePRO"
    )
    dbsession.flush()
    return world


def add_rule(registry, world, **fields) -> int:
    with transaction_scope(registry) as dbsession:
        study = dbsession.get(Study, world.study.id)
        return services.create_rule(dbsession, study, services.RuleInput(**fields), actor=SETUP).id


def set_status(registry, world, label, status, on=date(2026, 6, 15), reason=""):
    with transaction_scope(registry) as dbsession:
        subject = dbsession.scalar(select(Subject).where(Subject.label == label))
        change_status(
            dbsession, subject, status, reason=reason, on=on, today=date(2026, 6, 15), actor=SETUP
        )


def runs(registry) -> list[AutomationRun]:
    with transaction_scope(registry) as dbsession:
        return list(dbsession.scalars(select(AutomationRun).order_by(AutomationRun.id)))


def set_contact(registry, world, label, **fields):
    with transaction_scope(registry) as dbsession:
        subject = dbsession.scalar(select(Subject).where(Subject.label == label))
        contacts.seal(registry, subject, contacts.Contact(**fields), dbsession)


def due_turn(registry):
    """One turn of the periodic job, as the worker (or the in-process runner) takes it."""
    jobs.run_periodic(registry, "datacapt.automations.due")


# --- once per event -------------------------------------------------------------------------


def test_a_rule_fires_once_per_event_even_when_its_job_runs_twice(registry, world, mailbox):
    add_rule(
        registry,
        world,
        name="Tell the sponsor",
        trigger="subject_included",
        action="mail_addresses",
        addresses="ops@example.org",
    )
    set_status(registry, world, "par01-0001", SubjectStatus.INCLUDED)
    [run] = runs(registry)
    assert run.state is RunState.DONE and run.attempts == 1, run.last_error
    assert [m["To"] for m in mailbox.messages()] == ["ops@example.org"]
    body = mailbox.messages()[0].get_content()
    assert "par01-0001" in body and "Tell the sponsor" in body

    # The job again (RQ delivering twice, the sweep resending): nothing more is mailed.
    for _ in range(2):
        with transaction_scope(registry) as dbsession:
            run_job(jobs.JobContext(registry, dbsession), run_id=run.id)
    # The same event published again finds its run: no second one.
    with transaction_scope(registry) as dbsession:
        happening = Happening(
            Trigger.SUBJECT_INCLUDED,
            world.tenant.id,
            world.study.id,
            run.event_key,
            subject_id=run.subject_id,
            site_id=run.site_id,
        )
        assert services.record_runs(dbsession, happening) == []
    due_turn(registry)
    assert len(runs(registry)) == 1
    assert len(mailbox.messages()) == 1


def test_a_disabled_rule_and_another_trigger_do_not_fire(registry, world, mailbox):
    rule_id = add_rule(
        registry,
        world,
        name="On inclusion",
        trigger="subject_included",
        action="mail_addresses",
        addresses="ops@example.org",
    )
    add_rule(
        registry,
        world,
        name="On exclusion",
        trigger="subject_excluded",
        action="mail_addresses",
        addresses="ops@example.org",
    )
    with transaction_scope(registry) as dbsession:
        rule = dbsession.get(AutomationRule, rule_id)
        services.set_enabled(dbsession, rule, False, actor=SETUP)
    set_status(registry, world, "par01-0001", SubjectStatus.INCLUDED)
    assert runs(registry) == [] and mailbox.messages() == []


def test_item_answered_with_a_condition(registry, world, mailbox):
    add_rule(
        registry,
        world,
        name="High blood pressure",
        trigger="item_answered",
        item="systolic",
        condition="[systolic] >= 180",
        action="mail_role",
        role="monitor",
    )
    with transaction_scope(registry) as dbsession:
        subject = dbsession.scalar(select(Subject).where(Subject.label == "par01-0001"))
        study = dbsession.get(Study, world.study.id)
        enter_values(
            dbsession, registry, study, subject, "screening", "vital_signs", {"systolic": "120"}
        )
    assert runs(registry) == []
    with transaction_scope(registry) as dbsession:
        subject = dbsession.scalar(select(Subject).where(Subject.label == "par01-0001"))
        study = dbsession.get(Study, world.study.id)
        enter_values(
            dbsession, registry, study, subject, "screening", "vital_signs", {"systolic": "190"}
        )
    [run] = runs(registry)
    assert run.state is RunState.DONE
    assert [m["To"] for m in mailbox.messages()] == ["monitor@example.org"]


# --- delays ---------------------------------------------------------------------------------


def test_a_delayed_action_waits_for_its_due_time(registry, world, mailbox, monkeypatch):
    add_rule(
        registry,
        world,
        name="A day later",
        trigger="subject_included",
        action="create_task",
        audience="site_staff",
        task="Call the subject",
        delay_minutes="1440",
    )
    set_status(registry, world, "par01-0001", SubjectStatus.INCLUDED)
    [run] = runs(registry)
    assert run.state is RunState.PENDING and run.due_at == NOW + timedelta(days=1)

    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(hours=23))
    due_turn(registry)
    assert runs(registry)[0].state is RunState.PENDING

    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(days=1, minutes=1))
    due_turn(registry)
    [run] = runs(registry)
    assert run.state is RunState.DONE and run.attempts == 1
    with transaction_scope(registry) as dbsession:
        [task] = dbsession.scalars(select(AutomationTask)).all()
        assert task.text == "Call the subject" and task.site_id == world.sites["par01"].id


def test_a_task_shows_on_the_audiences_worklist(registry, world, testapp):
    add_rule(
        registry,
        world,
        name="Task",
        trigger="subject_included",
        action="create_task",
        audience="site_staff",
        task="Book the baseline visit",
    )
    set_status(registry, world, "par01-0001", SubjectStatus.INCLUDED)
    login(testapp, "coordinator@example.org")
    page = testapp.get("/acme/demo/@@worklist/tasks-site-staff")
    assert "Book the baseline visit" in page.text and "par01-0001" in page.text
    testapp.reset()
    login(testapp, "monitor@example.org")
    page = testapp.get("/acme/demo/@@worklist/tasks-site-staff", status="*")
    assert "Book the baseline visit" not in page.text


# --- opt-out --------------------------------------------------------------------------------


def test_a_subject_who_left_or_opted_out_gets_nothing(registry, world, mailbox, sms_folder):
    add_rule(
        registry,
        world,
        name="Goodbye questionnaire",
        trigger="subject_excluded",
        action="send_epro",
        questionnaire="baseline/wellbeing",
        days_open="7",
    )
    add_rule(
        registry,
        world,
        name="Welcome",
        trigger="subject_included",
        action="mail_subject",
        message="questionnaires",
    )
    for label in ("par01-0001", "ber01-0001"):
        set_contact(registry, world, label, email=f"{label}@example.net", phone="+33 6 12 34 56 78")
    # ber01-0001 withdrew; par01-0001 is included but opted out of mail.
    set_status(registry, world, "ber01-0001", SubjectStatus.WITHDRAWN, reason="Moved away")
    with transaction_scope(registry) as dbsession:
        subject = dbsession.scalar(select(Subject).where(Subject.label == "par01-0001"))
        dbsession.add(
            SubjectMailLink(
                tenant_id=subject.tenant_id,
                subject_id=subject.id,
                token_hash="0" * 64,
                opted_out_at=NOW,
            )
        )
    set_status(registry, world, "par01-0001", SubjectStatus.INCLUDED)
    done = runs(registry)
    assert [run.state for run in done] == [RunState.SKIPPED, RunState.SKIPPED]
    assert all("opted out" in run.outcome for run in done)
    assert mailbox.messages() == []
    assert not sms_folder.exists() or list(sms_folder.iterdir()) == []
    with transaction_scope(registry) as dbsession:
        assert dbsession.scalars(select(EproOccurrence)).all() == []


def test_a_subject_who_withdrew_consent_gets_nothing(registry, world, mailbox):
    from datacapt.models import ConsentRecord

    add_rule(
        registry,
        world,
        name="Welcome",
        trigger="subject_included",
        action="mail_subject",
        message="questionnaires",
    )
    set_contact(registry, world, "par01-0001", email="par01-0001@example.net")
    with transaction_scope(registry) as dbsession:
        add_consent(dbsession, world)
        record = dbsession.get(ConsentRecord, CONSENT_RECORD_IDS["par01"])
        record.withdrawn_on, record.withdrawal_scope = NOW.date(), ["samples"]
    set_status(registry, world, "par01-0001", SubjectStatus.INCLUDED)
    [run] = runs(registry)
    assert (run.state, run.outcome) == (RunState.SKIPPED, "subject opted out or left the study")
    assert mailbox.messages() == []


def test_send_epro_schedules_and_mails_a_questionnaire(registry, world, mailbox, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime.now(UTC))
    add_rule(
        registry,
        world,
        name="Baseline questionnaire",
        trigger="subject_included",
        action="send_epro",
        questionnaire="baseline/wellbeing",
        days_open="3",
    )
    set_contact(registry, world, "par01-0001", email="subject@example.net")
    set_status(registry, world, "par01-0001", SubjectStatus.INCLUDED)
    [run] = runs(registry)
    assert run.state is RunState.DONE, run.last_error
    with transaction_scope(registry) as dbsession:
        [occurrence] = dbsession.scalars(select(EproOccurrence)).all()
        assert occurrence.form == "wellbeing"
    [message] = mailbox.messages()
    assert message["To"] == "subject@example.net"
    assert "/p/@@start/" in message.get_content()


# --- text messages --------------------------------------------------------------------------


def test_a_subject_who_prefers_sms_gets_a_text_without_health_information(
    registry, world, mailbox, sms_folder
):
    add_rule(
        registry,
        world,
        name="Welcome by SMS",
        trigger="subject_included",
        condition="[site] = 'par01'",
        action="mail_subject",
        message="questionnaires",
    )
    set_contact(
        registry,
        world,
        "par01-0001",
        name="Jeanne Martin",
        email="jeanne@example.net",
        phone="+33 6 12 34 56 78",
        channel="sms",
        language="fr",
    )
    set_status(registry, world, "par01-0001", SubjectStatus.INCLUDED)
    [run] = runs(registry)
    assert run.state is RunState.DONE and "sms" in run.outcome
    assert mailbox.messages() == []
    [path] = sms_folder.glob("*.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["to"] == "+33 6 12 34 56 78"
    assert datetime.fromisoformat(record["sent_at"]).tzinfo is not None
    body = record["body"]
    assert "http://localhost/p/@@start/" in body
    assert "questionnaires" in body or "questionnaire" in body  # French and English alike
    for phi in ("Jeanne", "Martin", "par01-0001", "par01", "demo", "Demo study", "hypertension"):
        assert phi not in body
    assert body.startswith("Votre équipe")  # the subject's language


def test_epro_invitations_go_by_sms_when_preferred(registry, world, sms_folder, mailbox):
    from datacapt.ecrf.versions import published_design
    from datacapt.epro import services as epro

    set_contact(registry, world, "par01-0001", phone="+48 600 100 200", channel="sms")
    with transaction_scope(registry) as dbsession:
        subject = dbsession.scalar(select(Subject).where(Subject.label == "par01-0001"))
        study = dbsession.get(Study, world.study.id)
        now = datetime.now(UTC)
        occurrence = epro.schedule_occurrence(
            dbsession,
            subject,
            published_design(dbsession, study).definition,
            visit="baseline",
            form="wellbeing",
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=2),
            actor=SETUP,
        )
        epro.request_sending(dbsession, subject, occurrence, SETUP, "http://localhost")
    [path] = sms_folder.glob("*.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["to"] == "+48 600 100 200" and "/p/@@start/" in record["body"]
    assert "wellbeing" not in record["body"] and "par01" not in record["body"]
    assert mailbox.messages() == []


def test_the_console_backend_masks_the_number_and_the_link(caplog):
    from datacapt.sms import ConsoleSms

    with caplog.at_level("INFO", logger="datacapt.sms"):
        ConsoleSms().send("+33 6 12 34 56 78", "Open: https://example.org/p/@@start/SECRET")
    text = caplog.text
    assert "78" in text and "12 34" not in text and "+33" not in text
    assert "SECRET" not in text and "<link>" in text


# --- failures -------------------------------------------------------------------------------


def test_a_failure_is_retried_with_backoff_and_shown_on_the_run_log(
    registry, world, mailbox, monkeypatch, testapp
):
    add_rule(
        registry,
        world,
        name="Tell the sponsor",
        trigger="subject_included",
        action="mail_addresses",
        addresses="ops@example.org",
    )

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("mail server unreachable")

    monkeypatch.setattr(services, "send_mail_in", refuse)
    set_status(registry, world, "par01-0001", SubjectStatus.INCLUDED)
    [run] = runs(registry)
    assert run.state is RunState.PENDING and run.attempts == 1
    assert "mail server unreachable" in run.last_error
    assert run.next_attempt_at == NOW + timedelta(minutes=1)

    login(testapp, "study-admin@example.org")
    log = testapp.get("/acme/demo/@@automation-runs", params={"state": "pending"})
    row = log.html.select_one("#automation-runs tbody tr")
    assert "mail server unreachable" in row.text and "Pending" in row.text

    # A second failure waits twice as long.
    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(minutes=1))
    due_turn(registry)
    [run] = runs(registry)
    assert run.attempts == 2 and run.next_attempt_at == NOW + timedelta(minutes=3)

    # The server is back: the next turn after the wait sends it, once.
    monkeypatch.undo()
    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(minutes=3))
    due_turn(registry)
    [run] = runs(registry)
    assert run.state is RunState.DONE and run.attempts == 3 and run.last_error is None
    assert len(mailbox.messages()) == 1
    log = testapp.get("/acme/demo/@@automation-runs", params={"state": "done"})
    assert "Done" in log.html.select_one("#automation-runs tbody tr").text
    failed = testapp.get("/acme/demo/@@automation-runs", params={"state": "failed"})
    assert failed.html.select("#automation-runs tbody tr") == []


def test_a_run_failing_five_times_is_failed(registry, world, monkeypatch):
    add_rule(
        registry,
        world,
        name="Tell",
        trigger="subject_included",
        action="mail_addresses",
        addresses="ops@example.org",
    )

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("down")

    monkeypatch.setattr(services, "send_mail_in", refuse)
    set_status(registry, world, "par01-0001", SubjectStatus.INCLUDED)
    for minutes in (1, 3, 7, 15):
        monkeypatch.setattr(clock, "now", lambda m=minutes: NOW + timedelta(minutes=m))
        due_turn(registry)
    [run] = runs(registry)
    assert run.state is RunState.FAILED and run.attempts == services.MAX_ATTEMPTS


# --- the pages ------------------------------------------------------------------------------


def test_a_study_admin_adds_edits_and_disables_a_rule(registry, world, testapp, dbsession):
    login(testapp, "study-admin@example.org")
    page = testapp.get("/acme/demo/@@automation-new")
    form = page.forms["rule-form"]
    form["name"] = "Tell the monitors"
    form["trigger"] = "query_created"
    form["action"] = "mail_role"
    # A field the chosen action asks for appears once it is chosen (htmx redraws the form).
    redrawn = testapp.get(
        "/acme/demo/@@automation-new",
        params={"trigger": "query_created", "action": "mail_role", "name": "x"},
        headers={"HX-Request": "true"},
    )
    assert redrawn.html.select_one("#field-role") is not None
    refused = testapp.post(
        "/acme/demo/@@automation-new",
        {
            "csrf_token": csrf_token(testapp),
            "name": "Tell the monitors",
            "trigger": "query_created",
            "action": "mail_role",
            "role": "nobody",
            "condition": "[site] = ",
        },
        status=422,
    )
    assert refused.html.select_one("#field-condition-error") is not None
    token = testapp.get("/acme/demo/@@automation-new").forms["rule-form"]["csrf_token"].value
    testapp.post(
        "/acme/demo/@@automation-new",
        {
            "csrf_token": token,
            "name": "Tell the monitors",
            "trigger": "query_created",
            "action": "mail_role",
            "role": "monitor",
            "condition": "[site] = 'par01'",
        },
        status=303,
    )
    rule = dbsession.scalar(select(AutomationRule))
    assert (rule.trigger, rule.action, rule.params) == (
        "query_created",
        "mail_role",
        {"role": "monitor"},
    )
    listing = testapp.get("/acme/demo/@@automations")
    assert "Tell the monitors" in listing.html.select_one("#automation-rules").text

    edit = testapp.get("/acme/demo/@@automation", params={"rule": rule.id}).forms["rule-form"]
    edit["delay_minutes"] = "30"
    edit.submit(status=303)
    disable = testapp.get("/acme/demo/@@automations").forms[f"rule-{rule.id}-enabled"]
    disable.submit(status=303)
    dbsession.expire_all()
    rule = dbsession.get(AutomationRule, rule.id)
    assert rule.delay_minutes == 30 and rule.enabled is False
    actions = dbsession.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.entity_type == "automation_rule")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "automation.rule_created",
        "automation.rule_changed",
        "automation.rule_disabled",
    ]


def test_a_rule_of_another_study_is_not_found(registry, world, testapp):
    rule_id = add_rule(
        registry,
        world,
        name="Mine",
        trigger="subject_included",
        action="mail_addresses",
        addresses="a@example.org",
    )
    login(testapp, "globex@example.org")
    testapp.get("/globex/other/@@automation", params={"rule": rule_id}, status=(403, 404))
    testapp.reset()
    login(testapp, "study-admin@example.org")
    testapp.get("/acme/demo/@@automation", params={"rule": "999999"}, status=404)
    testapp.get("/acme/demo/@@automation", params={"rule": str(rule_id)}, status=200)


def test_the_run_log_costs_the_same_for_many_runs(registry, world, testapp, query_counter):
    add_rule(
        registry,
        world,
        name="Many",
        trigger="subject_included",
        action="create_task",
        audience="monitors",
        task="Check",
    )
    login(testapp, "study-admin@example.org")

    def cost() -> int:
        query_counter.clear()
        testapp.get("/acme/demo/@@automation-runs")
        return len(query_counter)

    set_status(registry, world, "par01-0001", SubjectStatus.INCLUDED)
    one = cost()
    set_status(registry, world, "ber01-0001", SubjectStatus.INCLUDED)
    assert cost() == one


def test_the_trail_records_fixed_addresses_only_as_fingerprints(registry, world, dbsession):
    add_rule(
        registry,
        world,
        name="Sponsor",
        trigger="subject_included",
        action="mail_addresses",
        addresses="ops@example.org",
    )
    event = dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "automation.rule_created")
    )
    assert "ops@example.org" not in (event.new_value or "")
    assert "sha256:" in event.new_value and "mail_addresses" in event.new_value


# --- the other triggers ---------------------------------------------------------------------


def test_a_raised_query_and_a_missed_questionnaire_fire_their_rules(registry, world, mailbox):
    from datacapt.actor import Actor
    from datacapt.ecrf.versions import published_design
    from datacapt.entry.services import new_form_instance
    from datacapt.epro import services as epro
    from datacapt.models import FormStatus
    from datacapt.queries import services as queries
    from datacapt.subjects.services import new_visit_instance

    add_rule(
        registry,
        world,
        name="Queries at par01",
        trigger="query_created",
        condition="[site] = 'par01'",
        action="create_task",
        audience="site_staff",
        task="Answer the query",
    )
    add_rule(
        registry,
        world,
        name="Missed",
        trigger="epro_missed",
        condition="[form] = 'wellbeing'",
        action="mail_role",
        role="coordinator",
    )
    for label in ("par01-0001", "ber01-0001"):
        with transaction_scope(registry) as dbsession:
            subject = dbsession.scalar(select(Subject).where(Subject.label == label))
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
            queries.raise_query(
                dbsession, instance, None, "On file?", Actor(world.users["monitor"].id)
            )
    [run] = runs(registry)  # ber01's query does not meet the condition
    assert (run.trigger, run.state) == ("query_created", RunState.DONE)

    with transaction_scope(registry) as dbsession:
        subject = dbsession.scalar(select(Subject).where(Subject.label == "par01-0001"))
        study = dbsession.get(Study, world.study.id)
        epro.schedule_occurrence(
            dbsession,
            subject,
            published_design(dbsession, study).definition,
            visit="baseline",
            form="wellbeing",
            opens_at=NOW - timedelta(days=3),
            closes_at=NOW - timedelta(days=1),
            actor=SETUP,
        )
    with transaction_scope(registry) as dbsession:
        assert epro.mark_missed(dbsession, datetime.now(UTC), SETUP) == 1
    missed = runs(registry)[-1]
    assert (missed.trigger, missed.state) == ("epro_missed", RunState.DONE)
    # The coordinator is restricted to par01, the subject's site: told.
    assert [m["To"] for m in mailbox.messages()] == ["coordinator@example.org"]


def test_consent_signed_and_refused_fire_rules_once(registry, world):
    from datacapt.consent.events import ConsentRejected, ConsentSigned, ConsentWithdrawn
    from datacapt.models import ConsentRecord
    from datacapt.reactions import publish

    with transaction_scope(registry) as dbsession:
        add_consent(dbsession, world)
    add_rule(
        registry,
        world,
        name="Refused",
        trigger="consent_rejected",
        condition="[document] = 'Main' and [site] = 'par01'",
        action="create_task",
        audience="site_staff",
        task="Call the subject back",
        delay_minutes="10",
    )
    par01, ber01 = CONSENT_RECORD_IDS["par01"], CONSENT_RECORD_IDS["ber01"]
    with transaction_scope(registry) as dbsession:
        record, other = dbsession.get(ConsentRecord, par01), dbsession.get(ConsentRecord, ber01)
        publish(ConsentSigned(dbsession, SETUP, other))
        publish(ConsentRejected(dbsession, SETUP, other, "wrong person"))
        publish(ConsentWithdrawn(dbsession, SETUP, record, NOW.date(), ("treatment",)))
        publish(ConsentRejected(dbsession, SETUP, record, "wrong person"))
        publish(ConsentRejected(dbsession, SETUP, record, "published twice"))
    [run] = runs(registry)
    assert (run.trigger, run.event_key, run.payload) == (
        "consent_rejected",
        f"consent_rejected:{par01}",
        {"document": "Main", "consent_id": par01},
    )


def test_site_staff_choose_the_subjects_channel_and_language(registry, world, testapp):
    login(testapp, "coordinator@example.org")
    path = "/acme/demo/subjects/par01-0001/@@contact"
    form = testapp.get(path).forms["contact-form"]
    form["contact-email"] = "jeanne@example.net"
    form["contact-channel"] = "sms"
    form["contact-language"] = "pl"
    refused = form.submit(status=422)
    assert "text message" in refused.html.select_one("#field-contact-phone-error").text
    form = refused.forms["contact-form"]
    form["contact-phone"] = "+48 600 100 200"
    form.submit(status=303)
    with transaction_scope(registry) as dbsession:
        subject = dbsession.scalar(select(Subject).where(Subject.label == "par01-0001"))
        contact = contacts.open_row(dbsession, registry, dbsession.get(SubjectContact, subject.id))
    assert (contact.channel, contact.language, contact.phone) == ("sms", "pl", "+48 600 100 200")
    assert contacts.reach(contact) == contacts.Reach("sms", "+48 600 100 200")
