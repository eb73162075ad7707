"""Values of items flagged as personal data: sealed at rest and in the audit trail, opened only
for roles holding VIEW_PII, re-sealed by a key rotation, compared by fingerprint."""

from __future__ import annotations

import pytest
import webtest
from sqlalchemy import select, text, update

from datacapt import personal_values, sealing
from datacapt.accounts.services import grant_study_role
from datacapt.config import get_app_settings
from datacapt.ecrf.versions import published_design
from datacapt.entry import personal
from datacapt.entry import services as entry
from datacapt.models import AuditEvent, FormInstance, ItemValue, Subject
from datacapt.permissions import StudyRole
from tests.factories import build_world, login, make_subject

SUBJECT = "/acme/demo/subjects/par01-0001/"
DEMOGRAPHICS = SUBJECT + "screening/demographics/"
HISTORY = DEMOGRAPHICS + "@@history?item=I.INITIALS"


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def coordinator(testapp, world):
    assert login(testapp, world.users["coordinator"].email).status_int == 303
    return testapp


def save(app, path=DEMOGRAPHICS, **values):
    form = app.get(path).forms["entry-form"]
    for name, value in values.items():
        form[name] = value
    assert form.submit().status_int == 303


def initials_row(dbsession, label="par01-0001"):
    dbsession.expire_all()
    return dbsession.scalar(
        select(ItemValue)
        .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(Subject.label == label, ItemValue.item_oid == "I.INITIALS")
    )


def raw_text(dbsession, table):
    """Every row of ``table`` as the database holds it, as one text."""
    rows = dbsession.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
    return " ".join(repr(tuple(row)) for row in rows)


def swapped_keys(registry):
    """Put the second configured key first (a rotation); returns the keys to restore."""
    settings = get_app_settings(registry)
    keys = settings.encryption_keys
    object.__setattr__(settings, "encryption_keys", (keys[1], keys[0]))
    return keys


def test_a_personal_value_is_stored_and_audited_only_sealed(coordinator, dbsession):
    save(coordinator, initials="JMQ", height_cm="180", birth_date="31/01/1980")
    row = initials_row(dbsession)
    assert row.value is None and row.value_number is None and row.value_date is None
    assert row.sealed_value is not None and b"JMQ" not in row.sealed_value
    assert len(row.value_fingerprint) == 64
    assert "JMQ" not in raw_text(dbsession, "item_value")
    assert "JMQ" not in raw_text(dbsession, "audit_event")
    assert "180" in raw_text(dbsession, "item_value")  # other values stay plain
    page = coordinator.get(DEMOGRAPHICS)
    assert page.html.find(id="item-initials")["value"] == "JMQ"  # reads back for site staff


def test_a_personal_value_reads_back_in_expressions_and_signatures(coordinator, dbsession, world):
    save(coordinator, initials="JM")
    design = published_design(dbsession, world.study)
    subject = world.subjects["par01-0001"]
    values = entry.subject_values(dbsession, design.definition, subject)
    assert values[("screening", 1)]["initials"] == "JM"
    instance = dbsession.scalar(select(FormInstance).where(FormInstance.subject_id == subject.id))
    assert entry.stored_values(dbsession, instance)["I.INITIALS"].value == "JM"
    dbsession.flush()
    assert initials_row(dbsession).value is None  # opened in memory only, never written


def test_a_sealed_value_does_not_open_on_another_subject(coordinator, dbsession, registry, world):
    save(coordinator, initials="JM")
    row = initials_row(dbsession)
    other = make_subject(dbsession, world.sites["par01"], "par01-0002")
    with pytest.raises(sealing.Unreadable):
        personal_values.open_value(registry, other.id, row)
    assert personal_values.open_value(registry, world.subjects["par01-0001"].id, row) == "JM"


def test_roles_without_the_permission_see_neither_value_nor_history(testapp, world, dbsession):
    coordinator = login_as(testapp, world, "coordinator")
    save(coordinator, initials="JM")
    assert "JM" in coordinator.get(HISTORY).text
    sponsor = login_as(testapp, world, "sponsor_viewer")
    page = sponsor.get(DEMOGRAPHICS)
    assert "not shown to your role" in page.html.find(id="block-I.INITIALS").text
    history = sponsor.get(HISTORY)
    assert "JM" not in history.text and "personal data" in history.text


def login_as(testapp, world, role):
    """A browser of its own, signed in as ``role``."""
    other = webtest.TestApp(testapp.app, extra_environ=testapp.extra_environ)
    assert login(other, world.users[role].email).status_int == 303
    return other


def test_the_audit_trail_opens_personal_values_only_for_the_permission(testapp, world, dbsession):
    save(login_as(testapp, world, "coordinator"), initials="JM", height_cm="180")
    auditor = login_as(testapp, world, "auditor")
    page = auditor.get("/acme/demo/@@audit")
    assert "personal data: hidden" in page.text and "JM" not in page.text
    assert "180" in page.text
    export = auditor.get("/acme/demo/@@audit-export")
    assert "(personal data: hidden)" in export.text and "JM" not in export.text
    grant_study_role(dbsession, world.users["auditor"], world.study, StudyRole.INVESTIGATOR)
    dbsession.flush()
    auditor = login_as(testapp, world, "auditor")  # signed in again: the new role applies
    page = auditor.get("/acme/demo/@@audit")
    assert "JM" in page.text and "personal data: hidden" not in page.text
    assert "JM" in auditor.get("/acme/demo/@@audit-export").text
    shown = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "audit.personal_data_shown")
    ).all()
    assert len(shown) == 1 and shown[0].actor_id == world.users["auditor"].id


def test_rekey_reseals_personal_values_under_the_new_key(coordinator, dbsession, registry, world):
    save(coordinator, initials="JM")
    before = initials_row(dbsession)
    old_key, fingerprint = before.sealed_key_id, before.value_fingerprint
    keys = swapped_keys(registry)
    try:
        assert personal_values.rekey(registry, dbsession) == 1
        row = initials_row(dbsession)
        assert row.sealed_key_id == keys[1][0] != old_key
        assert row.value is None and row.value_fingerprint == fingerprint
        dbsession.flush()
        assert coordinator.get(DEMOGRAPHICS).html.find(id="item-initials")["value"] == "JM"
        assert personal_values.rekey(registry, dbsession) == 0
    finally:
        object.__setattr__(get_app_settings(registry), "encryption_keys", keys)


def test_values_stored_in_plain_text_are_found_and_sealed(coordinator, dbsession, registry):
    save(coordinator, initials="JM")
    row = initials_row(dbsession)
    dbsession.execute(  # as saved before sealing existed
        update(ItemValue)
        .where(ItemValue.id == row.id)
        .values(
            value="JM",
            sealed_key_id=None,
            sealed_nonce=None,
            sealed_value=None,
            value_fingerprint=None,
        )
    )
    assert personal.count_plain(dbsession) == 1
    assert personal.seal_plain(registry, dbsession) == 1
    assert personal.count_plain(dbsession) == 0
    row = initials_row(dbsession)
    assert row.value is None and row.sealed_value is not None
    dbsession.flush()
    assert coordinator.get(DEMOGRAPHICS).html.find(id="item-initials")["value"] == "JM"


def test_equal_values_are_found_by_fingerprint(coordinator, dbsession, world):
    make_subject(dbsession, world.sites["par01"], "par01-0002")
    dbsession.flush()
    save(coordinator, initials="JM")
    save(coordinator, "/acme/demo/subjects/par01-0002/screening/demographics/", initials="JM")
    first, second = initials_row(dbsession), initials_row(dbsession, "par01-0002")
    assert first.value_fingerprint == second.value_fingerprint
    assert first.sealed_value != second.sealed_value  # a fresh nonce each time
    tenant = world.tenant.id
    same = personal_values.same_value(dbsession, world.study.id, tenant, "I.INITIALS", "JM")
    assert same == sorted([first.form_instance_id, second.form_instance_id])
    assert personal_values.same_value(dbsession, world.study.id, tenant, "I.INITIALS", "AB") == []


def test_sealing_adds_no_statement_to_a_save(coordinator, query_counter):
    save(coordinator, initials="AB", height_cm="170")

    def statements(**values):
        form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
        for name, value in values.items():
            form[name] = value
        query_counter.clear()
        assert form.submit().status_int == 303
        return len(query_counter)

    assert statements(initials="CD") == statements(height_cm="171")


def test_a_changed_value_is_stored_as_the_same_value_entered_first(
    coordinator, dbsession, registry, world
):
    """A change is written in one batch (on PostgreSQL one JSON parameter, each column read by
    its type), a first value by an INSERT: both store the same columns, sealed or typed."""
    make_subject(dbsession, world.sites["par01"], "par01-0002")
    dbsession.flush()
    values = {"initials": "KLM", "birth_date": "29/02/1984", "weight_kg": "72.5"}
    save(coordinator, initials="JM", birth_date="31/01/1980", weight_kg="80")
    save(coordinator, **values)  # changed: an update
    save(coordinator, "/acme/demo/subjects/par01-0002/screening/demographics/", **values)
    dbsession.expire_all()

    def stored(label):
        rows = dbsession.scalars(
            select(ItemValue)
            .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
            .join(Subject, Subject.id == FormInstance.subject_id)
            .where(Subject.label == label)
            .order_by(ItemValue.item_oid)
        ).all()
        subject = dbsession.scalar(select(Subject.id).where(Subject.label == label))
        return [
            (
                row.item_oid,
                row.value,
                row.value_number,
                row.value_date,
                row.missing_code,
                row.sealed_key_id,
                len(row.sealed_nonce or b""),
                row.value_fingerprint,
                row.sealed_value and personal_values.open_value(registry, subject, row),
                row.updated_by_id,
            )
            for row in rows
        ]

    changed, entered = stored("par01-0001"), stored("par01-0002")
    assert changed == entered
    initials = next(row for row in changed if row[0] == "I.INITIALS")
    assert initials[1] is None and initials[8] == "KLM"  # sealed, and opens
