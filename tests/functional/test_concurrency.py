"""Requests racing each other for real: threads, each with its own WSGI request and committed
transaction, on a database of their own (the per-test rolled-back transaction would serialise
them). On PostgreSQL they overlap; on SQLite writers take turns, and the answers must be the
same."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from datacapt import audit
from datacapt.accounts.services import grant_study_role
from datacapt.actor import Actor
from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.design import services as design
from datacapt.entry import services as entry_services
from datacapt.entry.services import new_form_instance
from datacapt.models import (
    AuditEvent,
    FormInstance,
    FormStatus,
    ItemValue,
    LockState,
    Query,
    QueryMessage,
    Signature,
    SignatureScope,
    SignatureState,
    StudyVersion,
    Subject,
    User,
    VersionState,
    VisitInstance,
)
from datacapt.permissions import StudyRole
from datacapt.review import services as review
from datacapt.subjects import services as subjects_services
from datacapt.subjects.services import new_visit_instance
from tests.conftest import TEST_DATABASE_URL, app_settings, create_database, migrate
from tests.factories import (
    SETUP,
    build_world,
    csrf_token,
    login,
    make_user,
    publish_consent,
)

THREADS = 8
ROUNDS = 3
DEMOGRAPHICS = "/acme/demo/subjects/par01-0001/screening/demographics/"
VITALS = "/acme/demo/subjects/par01-0001/screening/vital_signs/"
WEEK4_VITALS = "/acme/demo/subjects/par01-0001/week4/vital_signs/"


@dataclass
class Committed:
    app: Router
    study_id: int
    monitors: list[str]
    study_admin: str
    coordinator: str


def drop_database(url: str) -> None:
    if not TEST_DATABASE_URL:
        return  # a SQLite file in the test's temporary folder
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        database = make_url(url).database
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def committed(tmp_path: Path) -> Iterator[Committed]:
    """The demo world committed to a new database (dropped afterwards): 8 monitors, a started
    demographics form to query, and no draft of the design."""
    yield from committed_world(tmp_path)


@pytest.fixture
def committed_once(tmp_path: Path) -> Iterator[Committed]:
    """:func:`committed` with every request run once (no retry): what the save itself answers."""
    yield from committed_world(tmp_path, {"retry.attempts": "1"})


def committed_world(tmp_path: Path, settings: dict[str, str] | None = None) -> Iterator[Committed]:
    url = create_database("concurrency", tmp_path)
    migrate(url)
    app = configure(app_settings(url) | (settings or {})).make_wsgi_app()
    with transaction_scope(app.registry) as dbsession:
        world = build_world(dbsession, app.registry)
        monitors = [world.users["monitor"].email]
        for number in range(2, THREADS + 1):
            user = make_user(dbsession, app.registry, f"monitor{number}@example.org")
            grant_study_role(dbsession, user, world.study, StudyRole.MONITOR, None)
            monitors.append(user.email)
        subject = world.subjects["par01-0001"]
        visit = new_visit_instance(dbsession, subject, "screening", 1, SETUP)
        new_form_instance(
            dbsession,
            subject,
            visit,
            "demographics",
            1,
            status=FormStatus.IN_PROGRESS,
            version_number=1,
            actor=SETUP,
        )
        draft = design.draft(dbsession, world.study)
        design.discard_draft(dbsession, world.study, draft, SETUP)
        found = Committed(
            app,
            world.study.id,
            monitors,
            world.users["study_admin"].email,
            world.users["coordinator"].email,
        )
    yield found
    app.registry["db.engine"].dispose()
    drop_database(url)


def client(app: Router, email: str) -> webtest.TestApp:
    signed_in = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(signed_in, email).status_int == 303
    return signed_in


def all_at_once(calls: list[Callable[[], list[Any]]]) -> list[Any]:
    """Run each call in its own thread, released together; what they return, in order."""
    barrier = threading.Barrier(len(calls))
    results: list[list[Any]] = [[] for _ in calls]
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = calls[index]()
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    assert not any(thread.is_alive() for thread in threads)
    return [result for batch in results for result in batch]


def raising(monitor: webtest.TestApp, number: int) -> Callable[[], list[Any]]:
    token = csrf_token(monitor)

    def raise_queries() -> list[Any]:
        answers = []
        for round_ in range(ROUNDS):
            message = f"Monitor {number}, round {round_}: is the height on file? ✓"
            response = monitor.post(
                DEMOGRAPHICS + "@@raise-query",
                {"csrf_token": token, "item": "I.HEIGHT_CM", "message": message},
                status="*",
            )
            answers.append((response.status_int, message))
        return answers

    return raise_queries


def test_monitors_raising_queries_at_once_each_get_the_next_number(committed):
    monitors = [client(committed.app, email) for email in committed.monitors]
    answers = all_at_once([raising(m, n) for n, m in enumerate(monitors, start=1)])
    assert [status for status, _message in answers] == [303] * THREADS * ROUNDS
    with transaction_scope(committed.app.registry) as dbsession:
        numbers = dbsession.scalars(
            select(Query.number).where(Query.study_id == committed.study_id)
        ).all()
        messages = dbsession.scalars(select(QueryMessage.body)).all()
    assert sorted(numbers) == list(range(1, THREADS * ROUNDS + 1))
    assert sorted(messages) == sorted(message for _status, message in answers)


def test_drafts_started_at_once_give_one_draft_and_a_clear_409_to_the_others(committed):
    admins = [client(committed.app, committed.study_admin) for _ in range(THREADS)]

    def starting(admin: webtest.TestApp) -> Callable[[], list[Any]]:
        token = csrf_token(admin)
        return lambda: [
            admin.post("/acme/demo/design/@@start-draft", {"csrf_token": token}, status="*")
        ]

    responses = all_at_once([starting(admin) for admin in admins])
    statuses = sorted(response.status_int for response in responses)
    assert statuses == [303] + [409] * (THREADS - 1)
    for response in responses:
        if response.status_int == 409:
            assert "A draft was already started" in response.text
    with transaction_scope(committed.app.registry) as dbsession:
        drafts = dbsession.scalars(
            select(StudyVersion.number).where(
                StudyVersion.study_id == committed.study_id,
                StudyVersion.state == VersionState.DRAFT,
            )
        ).all()
    assert drafts == [3]  # after version 1 published and draft 2 discarded


# --- a unique violation: retried, then a 409 ------------------------------------------------


@pytest.fixture
def coordinator(app, dbsession, registry) -> webtest.TestApp:
    world = build_world(dbsession, registry)
    subject = world.subjects["par01-0001"]
    new_visit_instance(dbsession, subject, "unscheduled", 1, SETUP)
    dbsession.flush()
    return client(app, world.users["coordinator"].email)


def add_visit(coordinator: webtest.TestApp) -> webtest.TestResponse:
    form = coordinator.get("/acme/demo/subjects/par01-0001/").forms["add-visit-form"]
    form["visit"] = "unscheduled"
    return form.submit(status="*")


def visits_added(dbsession) -> tuple[list[int], int]:
    repeats = dbsession.scalars(
        select(VisitInstance.repeat).where(VisitInstance.visit == "unscheduled")
    ).all()
    audited = dbsession.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "entry.visit_added")
    )
    return sorted(repeats), audited


def test_a_number_taken_meanwhile_is_retried_and_the_next_one_given(
    coordinator, dbsession, monkeypatch
):
    """As if another coordinator had added visit 1 between this one's read and insert."""
    real, calls = subjects_services.new_visit_instance, []

    def racing(dbsession, subject, visit, repeat, actor_id):
        calls.append(repeat)
        return real(dbsession, subject, visit, 1 if len(calls) == 1 else repeat, actor_id)

    monkeypatch.setattr(subjects_services, "new_visit_instance", racing)
    response = add_visit(coordinator)
    assert response.status_int == 303 and response.location.endswith("/unscheduled-2/")
    assert calls == [2, 2]
    assert visits_added(dbsession) == ([1, 2], 1)


def test_a_number_taken_at_every_attempt_is_a_clear_409_and_nothing_is_written(
    coordinator, dbsession, monkeypatch
):
    real = subjects_services.new_visit_instance
    monkeypatch.setattr(
        subjects_services,
        "new_visit_instance",
        lambda dbsession, subject, visit, _repeat, actor_id: real(
            dbsession, subject, visit, 1, actor_id
        ),
    )
    response = add_visit(coordinator)
    assert response.status_int == 409
    assert "Someone else saved the same thing at the same moment" in response.text
    assert visits_added(dbsession) == ([1], 0)


# --- a form saved by two people at once: the second retried, never a 500 ---------------------


def save_demographics(coordinator: webtest.TestApp) -> webtest.TestResponse:
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["birth_date"] = "31/01/1980"
    form["sex"] = "2"
    return form.submit(status="*")


def stale_first(calls: list[int], times: int) -> Callable[..., Any]:
    """``apply_save`` as when another save committed between this one's read and its UPDATE."""
    real = entry_services.apply_save

    def racing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= times:
            raise StaleDataError("UPDATE statement on table 'form_instance' matched 0 rows")
        return real(*args, **kwargs)

    return racing


def test_a_save_overtaken_at_its_update_is_run_again(coordinator, dbsession, monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(entry_services, "apply_save", stale_first(calls, 1))
    response = save_demographics(coordinator)
    assert response.status_int == 303 and len(calls) == 2
    assert dbsession.scalar(select(func.count()).select_from(FormInstance).where(
        FormInstance.form == "demographics")) == 1  # fmt: skip


def test_a_save_overtaken_at_every_attempt_is_a_clear_409(coordinator, dbsession, monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(entry_services, "apply_save", stale_first(calls, 99))
    response = save_demographics(coordinator)
    assert response.status_int == 409 and len(calls) == 3
    assert "Someone else saved the same thing at the same moment" in response.text


# --- one form saved from two pages showing the same lock, at once ----------------------------


def meeting_at_apply(monkeypatch: pytest.MonkeyPatch, parties: int) -> None:
    """Hold the first ``parties`` saves just before they write, until all have read and planned
    from the same lock (PostgreSQL; on SQLite a writer's transaction excludes the others')."""
    real = entry_services.apply_save
    barrier = threading.Barrier(parties)
    waiting = itertools.count()

    def meeting(dbsession: Any, *args: Any, **kwargs: Any) -> Any:
        if dbsession.get_bind().dialect.name == "postgresql" and next(waiting) < parties:
            barrier.wait(timeout=60)
        return real(dbsession, *args, **kwargs)

    monkeypatch.setattr(entry_services, "apply_save", meeting)


def form_lock(world: Committed) -> int:
    with transaction_scope(world.app.registry) as dbsession:
        return dbsession.scalars(
            select(FormInstance.lock_version).where(FormInstance.form == "demographics")
        ).one()


def filled(user: webtest.TestApp, birth_date: str, sex: str) -> Callable[[], list[Any]]:
    form = user.get(DEMOGRAPHICS).forms["entry-form"]
    form["birth_date"], form["sex"] = birth_date, sex
    return lambda: [form.submit(status="*")]


def test_two_saves_of_one_form_at_one_lock_give_one_save_and_the_conflict_page(
    committed_once, monkeypatch
):
    coordinator = committed_once.coordinator
    pages = [client(committed_once.app, coordinator), client(committed_once.app, coordinator)]
    typed = [("31/01/1980", "1"), ("28/02/1981", "2")]
    stored_as = ["1980-01-31", "1981-02-28"]
    calls = [filled(page, day, sex) for page, (day, sex) in zip(pages, typed, strict=True)]
    before = form_lock(committed_once)
    meeting_at_apply(monkeypatch, len(calls))
    responses = all_at_once(calls)
    assert sorted(r.status_int for r in responses) == [303, 409], [r.text for r in responses]
    won = [r.status_int for r in responses].index(303)
    lost = responses[1 - won]
    shown = lost.html.find(id="conflict")
    assert shown is not None, lost.text
    assert typed[1 - won][0][-4:] in shown.text and typed[won][0][-4:] in shown.text
    with transaction_scope(committed_once.app.registry) as dbsession:
        instance = dbsession.scalars(
            select(FormInstance).where(FormInstance.form == "demographics")
        ).one()
        stored = {
            row.item_oid: row.value
            for row in dbsession.scalars(
                select(ItemValue).where(ItemValue.form_instance_id == instance.id)
            )
        }
        changed = dbsession.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "entry.value_changed",
                AuditEvent.entity_id == str(instance.id),
            )
        ).all()
        assert all(report.intact for report in audit.verify_all(dbsession))
    assert stored == {"I.BIRTH_DATE": stored_as[won], "I.SEX": typed[won][1]}
    assert sorted((e.field, e.new_value) for e in changed) == sorted(stored.items())
    assert instance.lock_version > before


def overtaken_at_apply(
    calls: list[int], stored: dict[str, str] | None = None
) -> Callable[..., Any]:
    """``apply_save`` as when another save of the form committed after this one read its lock:
    the lock raised underneath, and the values of ``stored`` (item OID → value) written, in the
    same transaction, behind the rows this session loaded (every database, no thread needed)."""
    real = entry_services.apply_save

    def overtaken(dbsession: Any, plan: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        instance = plan.reads.instance
        dbsession.execute(
            text("UPDATE form_instance SET lock_version = lock_version + 1 WHERE id = :id"),
            {"id": instance.id},
        )
        for oid, value in (stored or {}).items():
            dbsession.execute(
                text(
                    "UPDATE item_value SET value = :value "
                    "WHERE form_instance_id = :id AND item_oid = :oid"
                ),
                {"id": instance.id, "oid": oid, "value": value},
            )
        return real(dbsession, plan, *args, **kwargs)

    return overtaken


def test_a_save_overtaken_before_it_writes_writes_nothing_and_shows_the_conflict(
    coordinator, dbsession, monkeypatch
):
    assert save_demographics(coordinator).status_int == 303
    events_before = dbsession.scalar(select(func.count()).select_from(AuditEvent))
    calls: list[int] = []
    monkeypatch.setattr(entry_services, "apply_save", overtaken_at_apply(calls))
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["sex"] = "1"
    response = form.submit(status="*")
    assert response.status_int == 409 and len(calls) == 1  # answered at once, not retried
    assert "someone saved this form after you opened it" in response.html.find(id="conflict").text
    assert dbsession.scalar(select(func.count()).select_from(AuditEvent)) == events_before
    stored = dbsession.scalars(select(ItemValue).where(ItemValue.item_oid == "I.SEX")).one()
    assert stored.value == "2"


def test_a_casebook_signed_after_the_save_read_its_subject_is_broken_by_the_save(
    coordinator, dbsession, monkeypatch
):
    """As if an investigator signed the casebook after this save read the subject (not signed
    then) and planned: the save reads whether the subject holds a valid signature with its
    claim of the form, under the subject's lock, and breaks the signature."""
    assert save_demographics(coordinator).status_int == 303
    real = entry_services.apply_save

    def signed_meanwhile(dbsession: Any, plan: Any, *args: Any, **kwargs: Any) -> Any:
        subject = plan.scope.subject
        investigator = dbsession.scalars(
            select(User.id).where(User.email.startswith("investigator"))
        ).one()
        review.sign(
            dbsession,
            Actor(investigator, tenant_id=subject.tenant_id),
            [review.SignTarget(SignatureScope.CASEBOOK, subject.id)],
            signer_name="Investigator",
            meaning="I approve the data in this casebook.",
        )
        set_committed_value(subject, "signed", False)  # as the save read it
        return real(dbsession, plan, *args, **kwargs)

    monkeypatch.setattr(entry_services, "apply_save", signed_meanwhile)
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["sex"] = "1"
    assert form.submit(status="*").status_int == 303
    dbsession.expire_all()
    signature = dbsession.scalars(select(Signature)).one()
    assert signature.broken_at is not None
    assert dbsession.scalar(select(Subject.signed).where(Subject.label == "par01-0001")) is False
    instance = dbsession.scalars(select(FormInstance).where(FormInstance.form == "demographics"))
    assert instance.one().signature_state is SignatureState.BROKEN


@pytest.mark.parametrize("path", [VITALS, WEEK4_VITALS], ids=["visit started", "visit not"])
def test_two_first_saves_of_one_form_at_once_give_one_save_and_the_conflict_page(
    committed_once, monkeypatch, path
):
    """Without retry: the second inserts nothing (``ON CONFLICT DO NOTHING``, the visit's as
    the form's) and its claim of the form the first started fails, so its first attempt
    answers the form's conflict page."""
    committed = committed_once
    pages = [client(committed.app, committed.coordinator) for _ in range(2)]
    typed = ["121", "132"]

    def typing(page: webtest.TestApp, value: str) -> Callable[[], list[Any]]:
        form = page.get(path).forms["entry-form"]
        form["systolic"] = value
        return lambda: [form.submit(status="*")]

    calls = [typing(page, value) for page, value in zip(pages, typed, strict=True)]
    meeting_at_apply(monkeypatch, len(calls))
    responses = all_at_once(calls)
    assert sorted(r.status_int for r in responses) == [303, 409], [r.text for r in responses]
    won = [r.status_int for r in responses].index(303)
    shown = responses[1 - won].html.find(id="conflict")
    assert typed[0] in shown.text and typed[1] in shown.text
    with transaction_scope(committed.app.registry) as dbsession:
        changed = dbsession.scalars(
            select(AuditEvent.new_value).where(
                AuditEvent.action == "entry.value_changed", AuditEvent.field == "I.SYSTOLIC"
            )
        ).all()
        visits = dbsession.scalars(select(VisitInstance.visit).order_by(VisitInstance.id)).all()
    assert changed == [typed[won]]
    assert visits == ["screening"] + (["week4"] if path == WEEK4_VITALS else [])


def test_a_double_submit_overtaken_at_its_write_is_saved_with_no_events_of_its_own(
    coordinator, dbsession, monkeypatch
):
    assert save_demographics(coordinator).status_int == 303
    events_before = dbsession.scalar(select(func.count()).select_from(AuditEvent))
    calls: list[int] = []
    monkeypatch.setattr(entry_services, "apply_save", overtaken_at_apply(calls, {"I.SEX": "1"}))
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["sex"] = "1"
    response = form.submit(status="*")
    assert response.status_int == 303 and len(calls) == 1
    assert response.follow().html.find(class_="flash").text.strip() == "Saved."
    assert dbsession.scalar(select(func.count()).select_from(AuditEvent)) == events_before


def test_a_save_overtaken_by_a_different_one_lists_what_the_other_stored(
    coordinator, dbsession, monkeypatch
):
    """The same value of the item it changed, but another item changed: the conflict page,
    showing what is stored now, not the rows this save had loaded."""
    assert save_demographics(coordinator).status_int == 303
    calls: list[int] = []
    overtaken = overtaken_at_apply(calls, {"I.SEX": "1", "I.BIRTH_DATE": "1990-05-06"})
    monkeypatch.setattr(entry_services, "apply_save", overtaken)
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["sex"] = "1"
    response = form.submit(status="*")
    assert response.status_int == 409 and len(calls) == 1
    shown = response.html.find(id="conflict").text
    assert "1990" in shown and "1980" in shown


def test_the_same_values_sent_twice_at_once_are_saved_twice_with_one_set_of_events(
    committed_once, monkeypatch
):
    """A double submit of a form never started, then of the started form: both answers are
    "Saved.", as when sent one after the other; the events are the first one's."""
    committed = committed_once
    pages = [client(committed.app, committed.coordinator) for _ in range(2)]

    def typing(page: webtest.TestApp, value: str) -> Callable[[], list[Any]]:
        form = page.get(VITALS).forms["entry-form"]
        form["systolic"] = value
        return lambda: [form.submit(status="*")]

    for value in ["121", "132"]:
        calls = [typing(page, value) for page in pages]
        meeting_at_apply(monkeypatch, len(calls))
        responses = all_at_once(calls)
        assert [r.status_int for r in responses] == [303, 303], [r.text for r in responses]
        for response in responses:
            assert response.follow().html.find(class_="flash").text.strip() == "Saved."
    with transaction_scope(committed.app.registry) as dbsession:
        events = dbsession.execute(
            select(AuditEvent.action, AuditEvent.new_value)
            .where(AuditEvent.action.in_(["entry.form_started", "entry.value_changed"]))
            .where(AuditEvent.field.is_(None) | (AuditEvent.field == "I.SYSTOLIC"))
            .order_by(AuditEvent.id)
        ).all()
        stored = dbsession.scalars(
            select(ItemValue.value).where(ItemValue.item_oid == "I.SYSTOLIC")
        ).all()
        assert all(report.intact for report in audit.verify_all(dbsession))
    started = [action for action, _new in events if action == "entry.form_started"]
    assert len(started) == 1
    assert [new for action, new in events if action == "entry.value_changed"] == ["121", "132"]
    assert stored == ["132"]


def published_consent(dbsession: Any, study: Any) -> Any:
    """A consent document of ``study`` published in English for all its sites."""
    from datacapt.models import Site

    sites = list(dbsession.scalars(select(Site).where(Site.study_id == study.id)))
    return publish_consent(dbsession, study, sites)


def started_consent(
    dbsession: Any, registry: Any, subject: Subject, document: Any, status: Any = None
) -> Any:
    """The subject's consent to ``document``, given in person, in ``status`` (signed)."""
    from datacapt.consent import services as consent
    from datacapt.models import ConsentStatus, IdentityMethod

    record, _token = consent.start(
        dbsession,
        registry,
        SETUP,
        subject,
        document,
        method=IdentityMethod.IN_PERSON,
        language="en",
        identity_confirmed=True,
        birth_date="",
    )
    record.status = status or ConsentStatus.SIGNED
    return record


def test_a_withdrawal_and_a_re_consent_of_one_subject_at_once_keep_its_hold_right(committed):
    """One transaction withdraws a consent from further data and holds the subject's lock; a
    countersignature clearing a re-consent pending of the same subject, run meanwhile, keeps the
    hold only after the withdrawal committed, and reads it: the subject stays held (not cleared
    by a hold computed from records as they stood before the withdrawal)."""
    from datacapt.consent import documents
    from datacapt.consent import services as consent
    from datacapt.models import ConsentRecord, ConsentStatus, Study

    registry = committed.app.registry
    with transaction_scope(registry) as dbsession:
        subject = dbsession.scalars(select(Subject).where(Subject.label == "par01-0001")).one()
        study = dbsession.get(Study, subject.study_id)
        first = published_consent(dbsession, study)
        records = [started_consent(dbsession, registry, subject, first) for _ in range(2)]
        dbsession.flush()
        second = documents.new_version(dbsession, SETUP, first)
        second.ethics_approved_on = first.ethics_approved_on
        documents.publish(dbsession, SETUP, second)  # both records now need re-consent
        dbsession.flush()
        pending, withdrawing = (r.id for r in records)
        dbsession.execute(
            text("UPDATE consent_record SET requires_reconsent = false WHERE id = :id"),
            {"id": withdrawing},
        )
        again = started_consent(
            dbsession, registry, subject, second, ConsentStatus.NEEDS_COUNTERSIGNATURE
        )
        again_id, subject_id = again.id, subject.id
    withdrawn = threading.Event()
    done: list[BaseException | None] = []

    def countersign() -> None:
        try:
            withdrawn.wait(timeout=60)
            with transaction_scope(registry) as dbsession:
                consent.countersign(
                    dbsession,
                    SETUP,
                    dbsession.get(ConsentRecord, again_id),
                    signer_name="I",
                    meaning="m",
                    render_pdf=lambda *_: b"%PDF",
                )
            done.append(None)
        except BaseException as error:  # reported in the test's thread
            done.append(error)

    other = threading.Thread(target=countersign)
    other.start()
    with transaction_scope(registry) as dbsession:
        today = date.today()
        consent.withdraw(
            dbsession,
            SETUP,
            dbsession.get(ConsentRecord, withdrawing),
            on=today.isoformat(),
            scope=["further_data"],
            reason="",
            today=today,
        )
        dbsession.flush()
        withdrawn.set()
        other.join(timeout=1)  # the countersignature waits for the subject's lock
        assert other.is_alive() or not TEST_DATABASE_URL
    other.join(timeout=60)
    assert done == [None]
    with transaction_scope(registry) as dbsession:
        assert not dbsession.get(ConsentRecord, pending).requires_reconsent
        assert dbsession.scalar(select(Subject.consent_hold).where(Subject.id == subject_id)) == (
            "withdrawn"
        )


def meanwhile(write: Callable[[], None]) -> Callable[[], None]:
    """Run ``write`` (a transaction of its own) in a thread while the caller's transaction has
    read but not written: on PostgreSQL it commits at once (the caller holds no lock yet); on
    SQLite it waits for the caller's transaction, which holds the write lock from its BEGIN.
    Returns the wait for its end."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            write()
        except BaseException as error:  # reported in the test's thread
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60 if TEST_DATABASE_URL else 1)
    assert thread.is_alive() is not bool(TEST_DATABASE_URL)

    def ended() -> None:
        thread.join(timeout=60)
        assert not thread.is_alive() and not errors, errors

    return ended


def entered_after(dbsession: Any, subject_id: int, action: str) -> list[str]:
    """The entry events of the subject's chain recorded after its first ``action`` event."""
    events = dbsession.execute(
        select(AuditEvent.seq, AuditEvent.action)
        .where(AuditEvent.chain == audit.chain_of(None, None, subject_id))
        .order_by(AuditEvent.seq)
    ).all()
    at = next(seq for seq, name in events if name == action)
    return [name for seq, name in events if seq > at and name.startswith("entry.")]


def test_a_save_that_read_the_subject_before_a_withdrawal_committed_is_refused(committed):
    """A save reads its subject (no consent withdrawn), then a withdrawal from further data
    commits before the save takes the subject's lock: the save, asking again under the lock,
    is refused and writes nothing. On SQLite the withdrawal waits for the save's transaction
    instead, and the save comes first: either way no value is recorded after the withdrawal."""
    from datacapt.consent import services as consent
    from datacapt.ecrf.versions import published_design
    from datacapt.models import ConsentRecord, Study
    from datacapt.reactions import reactions_of

    registry = committed.app.registry
    with transaction_scope(registry) as dbsession:
        subject = dbsession.scalars(select(Subject).where(Subject.label == "par01-0001")).one()
        study = dbsession.get(Study, subject.study_id)
        document = published_consent(dbsession, study)
        record = started_consent(dbsession, registry, subject, document)
        dbsession.flush()
        record_id, subject_id = record.id, subject.id

    def withdraw() -> None:
        with transaction_scope(registry) as dbsession:
            today = date.today()
            consent.withdraw(
                dbsession,
                SETUP,
                dbsession.get(ConsentRecord, record_id),
                on=today.isoformat(),
                scope=["further_data"],
                reason="",
                today=today,
            )

    with transaction_scope(registry) as dbsession:
        subject = dbsession.get(Subject, subject_id)
        assert subject.consent_hold is None  # read before the withdrawal, as traversal reads it
        study = dbsession.get(Study, subject.study_id)
        design = published_design(dbsession, study)
        form = next(f for f in design.definition.forms if f.name == "demographics")
        scope = entry_services.EntryScope(
            study=study,
            subject=subject,
            visit="screening",
            visit_repeat=1,
            form=form,
            form_repeat=1,
            version_number=design.number,
        )
        ended = meanwhile(withdraw)

        def save() -> None:
            entry_services.save_form(
                dbsession,
                scope,
                design.definition,
                entry_services.EntryRequest(
                    {"sex": ["1"], "height_cm": ["175"]}, {}, False, "", 1, date(2026, 6, 15)
                ),
                missing_codes=set(),
                actor=Actor(dbsession.scalars(select(User.id).limit(1)).one()),
                reactions=reactions_of(registry),
            )

        if TEST_DATABASE_URL:
            with pytest.raises(entry_services.EntryBlocked):
                save()
        else:
            save()
    ended()
    with transaction_scope(registry) as dbsession:
        assert dbsession.scalar(select(Subject.consent_hold).where(Subject.id == subject_id)) == (
            "withdrawn"
        )
        assert entered_after(dbsession, subject_id, "consent.withdrawn") == []
        values = dbsession.scalar(select(func.count()).select_from(ItemValue))
        assert values == (0 if TEST_DATABASE_URL else 2)


@pytest.mark.parametrize(
    ("form", "frozen"),
    [
        ("demographics", "form"),  # started: its status row claimed
        ("demographics", "casebook"),
        ("vital_signs", "casebook"),  # never started: its first save inserts it
    ],
)
def test_a_save_that_read_the_form_open_before_a_freeze_committed_is_refused(
    committed, form, frozen
):
    """A save reads its form open and plans, then a monitor's freeze of the form (or of the
    whole casebook) commits before the save takes the subject's lock; freezing does not raise
    the form's lock, yet the save writes nothing and is refused as a closed form. On SQLite the
    freeze waits for the save's transaction: either way nothing is entered after the freeze."""
    from datacapt.ecrf.versions import published_design
    from datacapt.models import Study
    from datacapt.reactions import reactions_of

    registry = committed.app.registry
    with transaction_scope(registry) as dbsession:
        subject_id = dbsession.scalars(
            select(Subject.id).where(Subject.label == "par01-0001")
        ).one()
        monitor_id = dbsession.scalars(
            select(User.id).where(User.email == committed.monitors[0])
        ).one()
        coordinator_id = dbsession.scalars(
            select(User.id).where(User.email == committed.coordinator)
        ).one()

    def freeze() -> None:
        with transaction_scope(registry) as dbsession:
            started = list(
                dbsession.scalars(select(FormInstance).where(FormInstance.subject_id == subject_id))
            )
            whole = review.Whole(subject_ids=frozenset({subject_id}))
            review.freeze(
                dbsession,
                Actor(monitor_id),
                [] if frozen == "casebook" else started,
                "checked",
                whole=whole if frozen == "casebook" else review.Whole(),
            )

    with transaction_scope(registry) as dbsession:
        subject = dbsession.get(Subject, subject_id)
        study = dbsession.get(Study, subject.study_id)
        design = published_design(dbsession, study)
        scope = entry_services.EntryScope(
            study=study,
            subject=subject,
            visit="screening",
            visit_repeat=1,
            form=next(f for f in design.definition.forms if f.name == form),
            form_repeat=1,
            version_number=design.number,
        )
        reads = entry_services.read_for_save(dbsession, scope, design.definition)
        values = {"sex": ["1"], "height_cm": ["175"]}
        if form == "vital_signs":
            values = {"systolic": ["121"], "diastolic": ["80"]}
        plan = entry_services.plan_save(
            scope,
            design.definition,
            entry_services.EntryRequest(
                values,
                {},
                False,
                "",
                reads.instance.lock_version if reads.instance else None,
                date(2026, 6, 15),
            ),
            reads,
            missing_codes=set(),
        )
        assert plan.changes
        ended = meanwhile(freeze)
        coordinator = Actor(coordinator_id)
        if TEST_DATABASE_URL:
            with pytest.raises(entry_services.FormClosed):
                entry_services.apply_save(dbsession, plan, coordinator, reactions_of(registry))
        else:
            entry_services.apply_save(dbsession, plan, coordinator, reactions_of(registry))
    ended()
    with transaction_scope(registry) as dbsession:
        assert entered_after(dbsession, subject_id, "data.frozen") == []
        values = dbsession.scalar(select(func.count()).select_from(ItemValue))
        assert values == (0 if TEST_DATABASE_URL else 2)


def test_a_query_raised_after_a_lock_read_its_forms_keeps_the_form_open(committed):
    """A data manager's lock reads the demographics form without open queries, then a
    monitor's query on it commits before the lock takes the subject's lock: the lock counts
    the queries again under it and is refused, and the form stays open. On SQLite the query
    waits for the lock's transaction instead (it holds the write lock from its BEGIN) and comes
    after it: either way no form is locked with a query it did not count."""
    from datacapt.queries import services as queries

    registry = committed.app.registry
    with transaction_scope(registry) as dbsession:
        instance_id = dbsession.scalars(
            select(FormInstance.id).where(FormInstance.form == "demographics")
        ).one()
        monitor_id, manager_id = (
            dbsession.scalars(select(User.id).where(User.email == email)).one()
            for email in (committed.monitors[0], committed.study_admin)
        )

    def raise_one() -> None:
        with transaction_scope(registry) as dbsession:
            instance = dbsession.get(FormInstance, instance_id)
            queries.raise_query(dbsession, instance, None, "Source?", Actor(monitor_id))

    with transaction_scope(registry) as dbsession:
        instances = [dbsession.get(FormInstance, instance_id)]
        assert instances[0].open_queries == 0
        ended = meanwhile(raise_one)
        if TEST_DATABASE_URL:
            with pytest.raises(review.Refused):
                review.lock(dbsession, Actor(manager_id), instances, "done")
        else:
            review.lock(dbsession, Actor(manager_id), instances, "done")
    ended()
    with transaction_scope(registry) as dbsession:
        instance = dbsession.get(FormInstance, instance_id)
        lock_state = LockState.OPEN if TEST_DATABASE_URL else LockState.LOCKED
        assert (instance.lock_state, instance.open_queries) == (lock_state, 1)


def test_a_save_sent_while_a_signature_reads_the_casebook_waits_then_breaks_it(
    committed, monkeypatch
):
    """The investigator's signature reads the forms and values it hashes holding the subject's
    lock (on SQLite, the write lock from its BEGIN): a save sent meanwhile waits for the
    signature to commit, then breaks it. Never a signature over values a save changed before
    it was recorded."""
    registry = committed.app.registry
    coordinator = client(committed.app, committed.coordinator)
    assert save_demographics(coordinator).status_int == 303
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["sex"] = "1"
    answers: list[int] = []
    saving = threading.Thread(target=lambda: answers.append(form.submit(status="*").status_int))
    real = review._rows

    def save_sent_meanwhile(dbsession: Any, instances: Any) -> Any:
        rows = real(dbsession, instances)
        saving.start()
        saving.join(timeout=2)
        return rows

    monkeypatch.setattr(review, "_rows", save_sent_meanwhile)
    with transaction_scope(registry) as dbsession:
        subject = dbsession.scalars(select(Subject).where(Subject.label == "par01-0001")).one()
        investigator = dbsession.scalars(
            select(User.id).where(User.email.startswith("investigator"))
        ).one()
        review.sign(
            dbsession,
            Actor(investigator, tenant_id=subject.tenant_id),
            [review.SignTarget(SignatureScope.CASEBOOK, subject.id)],
            signer_name="Investigator",
            meaning="I approve the data in this casebook.",
        )
        assert saving.is_alive()  # the save waits for the subject's lock
    saving.join(timeout=60)
    with transaction_scope(registry) as dbsession:
        signature = dbsession.scalars(select(Signature)).one()
        sex = dbsession.scalars(select(ItemValue.value).where(ItemValue.item_oid == "I.SEX"))
        if TEST_DATABASE_URL:  # the save read the form unsigned, waited, then broke the signature
            assert answers == [303] and signature.broken_at is not None and sex.one() == "1"
        else:  # the save waited for the transaction, then read the form signed: refused
            assert answers == [403] and signature.broken_at is None and sex.one() == "2"
