"""Payments as a study administrator and site staff use them: the plan (amounts and currency
checked beside their fields, 422), bank details sealed and masked, every showing recorded,
orders made from completed visits and completions, draft → validated → exported → paid, a line
changed with a reason, the ledger append-only on both databases, the SEPA file valid against
the official schema and free of clinical data, and everyone else refused."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from datacapt import sealing
from datacapt.actor import Actor
from datacapt.entry.services import new_form_instance
from datacapt.models import (
    AuditEvent,
    FormStatus,
    LedgerKind,
    OrderState,
    PaymentLedgerEntry,
    PaymentLine,
    PaymentOrder,
    PiiAccess,
    SubjectBankAccount,
    SubjectKey,
    SubjectStatus,
)
from datacapt.payments import bank, services
from datacapt.repository import keys
from datacapt.subjects.services import new_visit_instance
from tests.factories import SETUP, add_payment_order, build_world, login, make_subject

PAYMENTS = "/acme/demo/payments/"
SUBJECT = "/acme/demo/subjects/par01-0001/"
OTHER_SUBJECT = "/acme/demo/subjects/ber01-0001/"
HTMX = {"HX-Request": "true"}
XSD = Path(__file__).parents[1] / "data" / "sepa" / "pain.001.001.03.xsd"
IBAN_PARIS = "FR7630006000011234567890189"
IBAN_BERLIN = "DE89370400440532013000"
HOLDER = "Canary Holder-Zoë"


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def as_user(testapp, world, role):
    testapp.reset()
    assert login(testapp, world.users[role].email).status_int == 303
    return testapp


def complete_visit(dbsession, subject, visit, forms, status=FormStatus.COMPLETE, repeat=1):
    instance = new_visit_instance(dbsession, subject, visit, repeat, SETUP)
    for form in forms:
        new_form_instance(
            dbsession, subject, instance, form, 1, status=status, version_number=1, actor=SETUP
        )
    dbsession.flush()


def save_plan(app, **values):
    form = app.get(PAYMENTS).forms["plan-form"]
    defaults = {
        "currency": "EUR",
        "completion": "100",
        "visit-baseline": "25.50",
        "visit-week4": "",
        "visit-screening": "",
        "debtor_name": "Acme CRO",
        "debtor_iban": IBAN_BERLIN,
        "debtor_bic": "COBADEFFXXX",
        "reference": "Study compensation",
    }
    for name, value in {**defaults, **values}.items():
        form[name] = value
    return form.submit(status="*")


def save_bank(app, subject_url, iban, holder=HOLDER, status="*"):
    page = app.get(subject_url + "@@bank-details?edit=1")
    form = page.forms["bank-form"]
    form["iban"], form["holder"] = iban, holder
    return form.submit(headers=HTMX, status=status)


def test_the_plan_is_saved_and_audited_old_to_new(testapp, world, dbsession):
    admin = as_user(testapp, world, "study_admin")
    assert save_plan(admin).status_int == 303
    page = admin.get(PAYMENTS)
    assert page.forms["plan-form"]["visit-baseline"].value == "25.50"
    assert save_plan(admin, **{"visit-baseline": "30", "currency": "eur"}).status_int == 303
    changes = {
        event.field: (event.old_value, event.new_value)
        for event in dbsession.scalars(
            select(AuditEvent).where(AuditEvent.action == "payments.plan_changed")
        )
    }
    assert changes["visit:baseline"] == ("2550", "3000")
    assert changes["currency"] == (None, "EUR")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("currency", "EURO", "three-letter ISO 4217"),
        ("currency", "XYZ", "is not an ISO 4217 currency"),
        ("completion", "-5", "Enter an amount"),
        ("visit-baseline", "12.345", "2 decimal places at most"),
        ("debtor_iban", "FR7630006000011234567890188", "This IBAN is not valid"),
    ],
)
def test_wrong_plan_values_are_told_beside_their_field(testapp, world, field, value, message):
    admin = as_user(testapp, world, "study_admin")
    response = save_plan(admin, **{field: value})
    assert response.status_int == 422
    error = response.html.find(id=f"field-{field}-error")
    assert error is not None and message in error.text
    assert response.html.find(id=f"field-{field}")["aria-invalid"] == "true"


def test_bank_details_are_sealed_masked_and_each_showing_recorded(
    testapp, world, dbsession, registry
):
    coordinator = as_user(testapp, world, "coordinator")
    bad = save_bank(coordinator, SUBJECT, "FR76 3000 6000 0112 3456 7890 188")
    assert bad.status_int == 422
    assert "This IBAN is not valid" in bad.html.find(id="field-iban-error").text
    short = save_bank(coordinator, SUBJECT, "FR76 3000 6000 0112 3456 7890 1")
    assert "length" in short.html.find(id="field-iban-error").text
    assert save_bank(coordinator, SUBJECT, "fr76 3000 6000 0112 3456 7890 189").status_int == 204

    subject = world.subjects["par01-0001"]
    row = dbsession.get(SubjectBankAccount, subject.id)
    assert row.masked == "FR76 •••• •••• 0189"
    assert IBAN_PARIS.encode() not in row.ciphertext and HOLDER.encode() not in row.ciphertext

    panel = coordinator.get(SUBJECT + "@@bank-details")
    assert panel.html.find(id="bank-masked").text == "FR76 •••• •••• 0189"
    assert IBAN_PARIS not in panel.text and "3000 6000" not in panel.text
    shown = coordinator.get(SUBJECT + "@@bank-details-shown", headers=HTMX)
    assert "FR76 3000 6000 0112 3456 7890 189" in shown.text and HOLDER in shown.text

    # the monitor sees the subject, masked, and may not show it
    monitor = as_user(testapp, world, "monitor")
    panel = monitor.get(SUBJECT + "@@bank-details")
    assert panel.html.find(id="bank-masked") is not None
    assert panel.html.find(id="bank-reveal") is None and panel.html.find(id="bank-edit") is None
    assert "0112 3456" not in panel.text
    monitor.get(SUBJECT + "@@bank-details-shown", status=403)
    monitor.post(SUBJECT + "@@bank-details", {"iban": IBAN_PARIS}, status=403)

    events = list(
        dbsession.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "subject_bank_account")
        )
    )
    assert [e.action for e in events] == [
        "payments.bank_details_changed",
        "payments.bank_details_viewed",
    ]
    for event in events:
        assert event.subject_id == subject.id
        written = " ".join(str(v) for v in (event.old_value, event.new_value, event.reason))
        assert "0189" not in written and "Canary" not in written
    # the showing is in the personal-data access log too (which fields, never the values)
    reads = dbsession.execute(
        select(PiiAccess.subject_id, PiiAccess.action, PiiAccess.fields, PiiAccess.purpose)
    ).all()
    assert reads == [(subject.id, "view", "iban,holder", "payment")]


def test_the_subject_page_loads_the_bank_panel_it_does_not_know(testapp, world):
    coordinator = as_user(testapp, world, "coordinator")
    page = coordinator.get(SUBJECT)
    panel = page.html.find(id="panel-bank-details")
    assert panel["hx-get"] == SUBJECT + "@@bank-details"


def test_other_sites_and_roles_are_refused(testapp, world):
    coordinator = as_user(testapp, world, "coordinator")  # restricted to par01
    coordinator.get(OTHER_SUBJECT + "@@bank-details", status=404)
    coordinator.post(OTHER_SUBJECT + "@@bank-details", {"iban": IBAN_BERLIN}, status=404)
    coordinator.get(PAYMENTS, status=404)  # payments do not exist for site staff
    as_user(testapp, world, "data_manager").get(PAYMENTS, status=404)
    admin = as_user(testapp, world, "study_admin")
    admin.get(SUBJECT + "@@bank-details", status=404)  # no subject data for administrators
    testapp.reset()
    login(testapp, world.users["foreign"].email)
    testapp.get(PAYMENTS, status=404)


def _earn(dbsession, world):
    """par01-0001: baseline complete and the study completed; ber01-0001: baseline complete;
    a third subject's baseline still in progress (not earned)."""
    paris, berlin = world.subjects["par01-0001"], world.subjects["ber01-0001"]
    complete_visit(dbsession, paris, "baseline", ["vital_signs"])
    complete_visit(dbsession, berlin, "baseline", ["vital_signs"])
    third = make_subject(dbsession, world.sites["par01"], "par01-0002")
    complete_visit(dbsession, third, "baseline", ["vital_signs"], status=FormStatus.IN_PROGRESS)
    # screening is not fully complete for paris (one form of three): nothing for it anyway
    complete_visit(dbsession, paris, "screening", ["consent"])
    paris.status = SubjectStatus.COMPLETED
    dbsession.flush()


def test_an_order_from_earnings_to_paid(testapp, world, dbsession, registry, caplog):
    caplog.set_level(logging.DEBUG)
    _earn(dbsession, world)
    coordinator = as_user(testapp, world, "coordinator")
    save_bank(coordinator, SUBJECT, IBAN_PARIS, status=204)
    admin = as_user(testapp, world, "study_admin")
    save_plan(admin, **{"visit-screening": "10"})

    created = admin.get(PAYMENTS).forms["create-order-form"].submit()
    assert created.location.endswith(PAYMENTS + "1/")
    order = dbsession.scalar(select(PaymentOrder))
    lines = {
        (line.subject_id, line.earning): line.amount_cents
        for line in dbsession.scalars(select(PaymentLine))
    }
    paris, berlin = world.subjects["par01-0001"].id, world.subjects["ber01-0001"].id
    assert lines == {
        (paris, "visit:baseline:1"): 2550,
        (berlin, "visit:baseline:1"): 2550,
        (paris, "completion"): 10000,
    }
    # nothing new earned: a second order is refused, on the page
    refused = admin.get(PAYMENTS).forms["create-order-form"].submit(status=422)
    assert "No subject has earned" in refused.html.find(id="order-refusal").text

    page = admin.get(PAYMENTS + "1/")
    assert "FR76 •••• •••• 0189" in page.text and IBAN_PARIS not in page.text
    # berlin has no bank details: validating is refused, naming the subject
    refused = page.forms["validate-form"].submit(headers=HTMX, status=422)
    assert "ber01-0001" in refused.html.find(id="order-refusal").text

    # a line changed: a reason is required; then berlin's amount set to 0 (paid later)
    berlin_line = dbsession.scalar(select(PaymentLine).where(PaymentLine.subject_id == berlin))
    edit = admin.get(PAYMENTS + f"1/?edit={berlin_line.id}").forms["line-form"]
    edit["amount"] = "0"
    no_reason = edit.submit(status=422)
    assert "Give the reason" in no_reason.html.find(id="field-reason-error").text
    edit = admin.get(PAYMENTS + f"1/?edit={berlin_line.id}").forms["line-form"]
    edit["amount"], edit["reason"] = "12,345", "x"
    assert "decimal places" in edit.submit(status=422).html.find(id="field-amount-error").text
    edit["amount"], edit["reason"] = "0", "No bank details yet: next order"
    assert edit.submit().status_int == 303
    change = dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "payments.line_changed")
    )
    assert (change.old_value, change.new_value) == ("2550", "0")
    assert change.reason == "No bank details yet: next order"

    page = admin.get(PAYMENTS + "1/")
    assert page.forms["validate-form"].submit(headers=HTMX).status_int == 204
    dbsession.refresh(order)
    assert order.state == OrderState.VALIDATED
    credited = dbsession.scalars(select(PaymentLedgerEntry.amount_cents)).all()
    assert sorted(credited) == [2550, 10000]
    # a validated order's lines are fixed
    admin.post(
        PAYMENTS + "1/@@line",
        {"line": str(berlin_line.id), "amount": "5", "reason": "r", "csrf_token": _token(page)},
        status=422,
    )

    export = admin.get(PAYMENTS + "1/").forms["export-form"]
    export["format"] = "xml"
    download = export.submit()
    assert download.content_type == "application/xml"
    assert "attachment" in download.headers["Content-Disposition"]
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    document = etree.fromstring(download.body)
    schema.assertValid(document)
    body = download.body.decode()
    assert IBAN_PARIS in body and "Canary Holder-Zoe" in body
    assert "125.50" in body  # 25.50 + 100.00, one transfer for the subject
    for clinical in ("par01-0001", "ber01-0001", "baseline", "vital", "Paris", "demo"):
        assert clinical not in body
    dbsession.refresh(order)
    assert order.state == OrderState.EXPORTED

    export = admin.get(PAYMENTS + "1/").forms["export-form"]
    export["format"] = "csv"
    csv_body = export.submit().body.decode("utf-8-sig")
    assert csv_body.splitlines()[1].startswith("DC-")
    assert "par01-0001" not in csv_body
    downloads = dbsession.scalars(
        select(AuditEvent.new_value).where(AuditEvent.action == "payments.file_downloaded")
    ).all()
    assert downloads == ["xml (1)", "csv (1)"]

    paid = admin.get(PAYMENTS + "1/").forms["paid-form"]
    paid["paid_on"] = "2999-01-01"
    assert "future" in paid.submit(headers=HTMX, status=422).text
    paid["paid_on"] = date.today().isoformat()
    assert paid.submit(headers=HTMX).status_int == 204
    dbsession.refresh(order)
    assert order.state == OrderState.PAID
    kinds = dbsession.execute(
        select(PaymentLedgerEntry.kind, func.sum(PaymentLedgerEntry.amount_cents)).group_by(
            PaymentLedgerEntry.kind
        )
    ).all()
    assert dict(kinds) == {LedgerKind.CREDITED: 12550, LedgerKind.PAID: 12550}
    states = dbsession.execute(
        select(AuditEvent.old_value, AuditEvent.new_value)
        .where(AuditEvent.entity_type == "payment_order", AuditEvent.field == "state")
        .order_by(AuditEvent.id)
    ).all()
    assert states == [
        (None, "draft"),
        ("draft", "validated"),
        ("validated", "exported"),
        ("exported", "paid"),
    ]
    # the subject's page shows what the ledger credited and paid them
    coordinator = as_user(testapp, world, "coordinator")
    balance = coordinator.get(SUBJECT + "@@bank-details").html.find(id="bank-balance")
    assert [dd.text for dd in balance.find_all("dd")] == ["€125.50", "€125.50"]
    admin = as_user(testapp, world, "study_admin")
    page = admin.get(PAYMENTS + "1/")
    # paid is the end: nothing moves it back
    admin.post(PAYMENTS + "1/@@validate", {"csrf_token": _token(page)}, status=422)

    # each export of the bank details is in the payee's own trail, without them
    exported = dbsession.execute(
        select(AuditEvent.subject_id, AuditEvent.new_value).where(
            AuditEvent.action == "payments.bank_details_exported"
        )
    ).all()
    assert exported == [(paris, "xml"), (paris, "csv")]
    # and each opening of them for a file in the personal-data access log
    reads = dbsession.execute(
        select(PiiAccess.subject_id, PiiAccess.action, PiiAccess.purpose).order_by(PiiAccess.id)
    ).all()
    assert reads == [(paris, "export", "payment"), (paris, "export", "payment")]
    # the planted canaries (IBAN, holder) are in no audit text and no log line
    canaries = (IBAN_PARIS, "0112 3456", "Canary", "Zoë")
    for event in dbsession.scalars(select(AuditEvent)):
        written = " ".join(
            str(value) for value in (event.field, event.old_value, event.new_value, event.reason)
        )
        assert not any(canary in written for canary in canaries), event.action
    assert not any(canary in caplog.text for canary in canaries)


def _token(page):
    return page.html.find("input", attrs={"name": "csrf_token"})["value"]


def test_the_state_machine_only_moves_forward(testapp, world, dbsession):
    _earn(dbsession, world)
    admin = as_user(testapp, world, "study_admin")
    save_plan(admin, completion="")
    admin.get(PAYMENTS).forms["create-order-form"].submit()
    page = admin.get(PAYMENTS + "1/")
    token = _token(page)
    # a draft cannot be exported or paid
    assert admin.post(PAYMENTS + "1/@@export", {"format": "xml", "csrf_token": token}, status=422)
    admin.post(PAYMENTS + "1/@@paid", {"paid_on": "2026-01-01", "csrf_token": token}, status=422)
    admin.post(PAYMENTS + "1/@@export", {"format": "pdf", "csrf_token": token}, status=422)
    assert dbsession.scalar(select(PaymentOrder.state)) == OrderState.DRAFT


def test_an_order_in_another_currency_exports_as_csv_only(testapp, world, dbsession):
    _earn(dbsession, world)
    coordinator = as_user(testapp, world, "coordinator")
    save_bank(coordinator, SUBJECT, IBAN_PARIS, status=204)
    admin = as_user(testapp, world, "study_admin")
    save_plan(admin, currency="CHF", completion="")
    admin.get(PAYMENTS).forms["create-order-form"].submit()
    berlin = world.subjects["ber01-0001"].id
    berlin_line = dbsession.scalar(select(PaymentLine).where(PaymentLine.subject_id == berlin))
    edit = admin.get(PAYMENTS + f"1/?edit={berlin_line.id}").forms["line-form"]
    edit["amount"], edit["reason"] = "0", "later"
    edit.submit()
    admin.get(PAYMENTS + "1/").forms["validate-form"].submit(headers=HTMX)
    export = admin.get(PAYMENTS + "1/").forms["export-form"]
    export["format"] = "xml"
    refused = export.submit(status=422)
    assert "SEPA transfers are in euros" in refused.html.find(id="order-refusal").text
    assert dbsession.scalar(select(PaymentOrder.state)) == OrderState.VALIDATED
    export["format"] = "csv"
    assert "25.50,CHF" in export.submit().body.decode("utf-8-sig")


@pytest.mark.parametrize(
    "statement", ["UPDATE payment_ledger SET amount_cents = 1", "DELETE FROM payment_ledger"]
)
def test_the_database_refuses_to_change_the_ledger(testapp, world, dbsession, statement):
    _earn(dbsession, world)
    coordinator = as_user(testapp, world, "coordinator")
    save_bank(coordinator, SUBJECT, IBAN_PARIS, status=204)
    save_bank(coordinator, SUBJECT.replace("0001", "0002"), IBAN_PARIS, status=204)
    testapp.reset()
    login(testapp, world.users["study_admin"].email)
    save_plan(testapp, **{"visit-baseline": ""})
    testapp.get(PAYMENTS).forms["create-order-form"].submit()
    testapp.get(PAYMENTS + "1/").forms["validate-form"].submit(headers=HTMX)
    assert dbsession.scalar(select(func.count()).select_from(PaymentLedgerEntry)) == 1
    nested = dbsession.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        dbsession.execute(text(statement))
    nested.rollback()
    assert dbsession.scalar(select(PaymentLedgerEntry.amount_cents)) == 10000


def test_the_orders_page_reads_a_fixed_number_of_statements(
    testapp, world, dbsession, query_counter
):
    _earn(dbsession, world)
    admin = as_user(testapp, world, "study_admin")
    save_plan(admin)
    admin.get(PAYMENTS).forms["create-order-form"].submit()
    query_counter.clear()
    admin.get(PAYMENTS + "1/")
    one = len(query_counter)
    for number in range(2, 6):
        subject = make_subject(dbsession, world.sites["par01"], f"par01-00{number + 10}")
        complete_visit(dbsession, subject, "baseline", ["vital_signs"])
        subject.status = SubjectStatus.COMPLETED
    dbsession.flush()
    admin.get(PAYMENTS).forms["create-order-form"].submit()
    query_counter.clear()
    admin.get(PAYMENTS + "2/")  # 8 lines rather than 3
    assert len(query_counter) == one
    query_counter.clear()
    admin.get(PAYMENTS)
    listing = len(query_counter)
    admin.get(PAYMENTS).forms["create-order-form"].submit(status=422)
    query_counter.clear()
    admin.get(PAYMENTS)
    assert len(query_counter) == listing


ACTS = ("validate", "export", "paid")


def _act(act, dbsession, registry, order, actor):
    if act == "validate":
        services.validate(dbsession, order, actor)
    elif act == "export":
        payees = services.payees(registry, dbsession, order, actor)
        services.record_export(dbsession, order, "csv", payees, actor)
    else:
        paid_on = (order.exported_at or datetime.now(UTC)).date()  # never before the export
        services.mark_paid(dbsession, order, paid_on, date(2999, 1, 1), actor)


@pytest.mark.parametrize("reached", list(OrderState))
def test_from_each_state_only_the_next_step_is_possible(world, dbsession, registry, reached):
    """Service level: an order brought to ``reached``, then every act tried on it (each in its
    own savepoint): only the one leading to the next state succeeds (and downloading an
    exported order's file again, which leaves it exported), and the ledger grows only by
    validating and paying."""
    actor = Actor(world.users["study_admin"].id)
    subject = world.subjects["par01-0001"]
    bank.seal(registry, subject, bank.BankDetails(IBAN_PARIS, HOLDER), dbsession)
    order = add_payment_order(dbsession, world)
    order.exported_at = None
    steps = list(OrderState).index(reached)
    for act in ACTS[:steps]:
        _act(act, dbsession, registry, order, actor)
    assert order.state == reached
    for act in ACTS:
        nested = dbsession.begin_nested()
        before = dbsession.scalar(select(func.count()).select_from(PaymentLedgerEntry))
        try:
            _act(act, dbsession, registry, order, actor)
        except services.Refused:
            moved = False
        else:
            moved = True
        downloaded_again = act == "export" and reached == OrderState.EXPORTED
        assert moved == (ACTS.index(act) == steps or downloaded_again), (reached, act)
        if downloaded_again:
            assert order.state == OrderState.EXPORTED
        elif moved:
            assert order.state == services.TRANSITIONS[reached]
            after = dbsession.scalar(select(func.count()).select_from(PaymentLedgerEntry))
            assert after - before == (1 if act in ("validate", "paid") else 0)
        nested.rollback()
        dbsession.refresh(order)
        assert order.state == reached


def test_bank_details_under_a_tenant_key_move_under_the_subjects_data_key(
    world, dbsession, registry
):
    """A row sealed before subjects had data keys (under a tenant-wide key) still opens, and
    ``keys rekey`` (run by ``db upgrade``) re-seals it under the subject's own data key, the
    one their contact details are under."""
    subject = world.subjects["par01-0001"]
    associated = f"datacapt:subject:{subject.id}:bank-account".encode()
    plaintext = json.dumps({"iban": IBAN_PARIS, "holder": HOLDER}).encode()
    legacy = sealing.seal(registry, plaintext, associated)
    row = SubjectBankAccount(
        subject_id=subject.id,
        tenant_id=subject.tenant_id,
        key_id=legacy.key_id,
        nonce=legacy.nonce,
        ciphertext=legacy.ciphertext,
        masked=bank.mask(IBAN_PARIS),
    )
    dbsession.add(row)
    dbsession.flush()
    details = bank.BankDetails(IBAN_PARIS, HOLDER)
    assert bank.open_row(dbsession, registry, row) == details
    assert bank.count_tenant_sealed(dbsession) == 1
    assert dbsession.get(SubjectKey, subject.id) is None

    assert bank.rekey(registry, dbsession) == 1
    assert row.key_id is None and row.ciphertext != legacy.ciphertext
    assert dbsession.get(SubjectKey, subject.id) is not None
    assert bank.open_row(dbsession, registry, row) == details
    with pytest.raises(sealing.Unreadable):  # no tenant-wide key opens it any more
        sealing.unseal(
            registry, sealing.Sealed(legacy.key_id, row.nonce, row.ciphertext), associated
        )
    assert bank.count_tenant_sealed(dbsession) == 0
    assert bank.rekey(registry, dbsession) == 0


def test_a_shredded_subjects_bank_details_are_unreadable_and_their_ledger_intact(
    world, dbsession, registry
):
    """Rotation re-wraps the subject's data key and the details still open; shredding the
    subject deletes their data key and bank details: a copy of the sealed row (a backup) no
    longer opens, while their orders, lines and ledger stay as they were, and a later bank file
    is refused (no bank details), not built from nothing."""
    actor = Actor(world.users["study_admin"].id)
    paris, berlin = world.subjects["par01-0001"], world.subjects["ber01-0001"]
    bank.seal(registry, paris, bank.BankDetails(IBAN_PARIS, HOLDER), dbsession)
    bank.seal(registry, berlin, bank.BankDetails(IBAN_BERLIN, "Bo Li"), dbsession)
    order = add_payment_order(dbsession, world)
    services.validate(dbsession, order, actor)
    row = dbsession.get(SubjectBankAccount, paris.id)
    assert row.key_id is None and IBAN_PARIS.encode() not in row.ciphertext
    keys.rotate(dbsession, registry, paris.tenant_id)  # re-wraps the data key, not the details
    assert bank.open_row(dbsession, registry, row) == bank.BankDetails(IBAN_PARIS, HOLDER)
    backup = SubjectBankAccount(
        subject_id=paris.id,
        tenant_id=paris.tenant_id,
        nonce=row.nonce,
        ciphertext=row.ciphertext,
        masked=row.masked,
    )

    def ledger() -> list[tuple]:
        return dbsession.execute(
            select(
                PaymentLedgerEntry.order_id,
                PaymentLedgerEntry.kind,
                PaymentLedgerEntry.amount_cents,
            ).where(PaymentLedgerEntry.subject_id == paris.id)
        ).all()

    before = ledger()
    assert before == [(order.id, LedgerKind.CREDITED, 2500)]
    assert keys.shred_subject(dbsession, paris.tenant_id, paris.id)
    dbsession.expire_all()
    assert dbsession.get(SubjectKey, paris.id) is None
    assert dbsession.get(SubjectBankAccount, paris.id) is None
    with pytest.raises(bank.BankUnreadable):
        bank.open_row(dbsession, registry, backup)
    assert ledger() == before
    assert services.ledger_balance(dbsession, paris.id) == {"EUR": (2500, 0)}
    assert dbsession.get(PaymentOrder, order.id).state == OrderState.VALIDATED
    assert (
        dbsession.scalar(select(PaymentLine.amount_cents).where(PaymentLine.order_id == order.id))
        == 2500
    )
    with pytest.raises(services.Refused):
        services.payees(registry, dbsession, order, actor)
    assert bank.open_row(dbsession, registry, dbsession.get(SubjectBankAccount, berlin.id)) == (
        bank.BankDetails(IBAN_BERLIN, "Bo Li")
    )


def test_sealed_details_copied_onto_another_subject_do_not_open(world, dbsession, registry):
    paris, berlin = world.subjects["par01-0001"], world.subjects["ber01-0001"]
    bank.seal(registry, paris, bank.BankDetails(IBAN_PARIS, HOLDER), dbsession)
    source = dbsession.get(SubjectBankAccount, paris.id)
    copied = SubjectBankAccount(
        subject_id=berlin.id,
        tenant_id=berlin.tenant_id,
        key_id=source.key_id,
        nonce=source.nonce,
        ciphertext=source.ciphertext,
        masked=source.masked,
    )
    with pytest.raises(sealing.Unreadable):
        bank.open_row(dbsession, registry, copied)
