"""Monitoring as its users do it: a monitor verifies values against the source, data management
reviews, freezes and locks, an investigator signs with their password; changes undo what they
must, and every step is in the audit trail."""

from __future__ import annotations

import pytest
import webtest
from sqlalchemy import func, select, update

from datacapt import audit
from datacapt.actor import Actor
from datacapt.models import (
    AuditEvent,
    FormInstance,
    ItemValue,
    LockState,
    ReviewStatus,
    SdvStatus,
    Signature,
    SignatureState,
    Subject,
    VisitInstance,
)
from datacapt.review import services
from tests.factories import PASSWORD, build_world, login, make_subject

SUBJECT = "/acme/demo/subjects/par01-0001/"
SCREENING = SUBJECT + "screening/"
DEMOGRAPHICS = SCREENING + "demographics/"
VITALS = SCREENING + "vital_signs/"
SITE = "/acme/demo/sites/par01/"
DEMOGRAPHICS_VALUES = {
    "initials": "JM",
    "birth_date": "31/01/1980",
    "sex": "1",
    "height_cm": "180",
    "weight_kg": "72.5",
}


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def user_app(app, world, role):
    testapp = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(testapp, world.users[role].email).status_int == 303
    return testapp


@pytest.fixture
def coordinator(app, world):
    return user_app(app, world, "coordinator")


@pytest.fixture
def monitor(app, world):
    return user_app(app, world, "monitor")


@pytest.fixture
def manager(app, world):
    return user_app(app, world, "data_manager")


@pytest.fixture
def investigator(app, world):
    return user_app(app, world, "investigator")


def enter(testapp, url=DEMOGRAPHICS, reason="", **values):
    form = testapp.get(url).forms["entry-form"]
    for name, value in values.items():
        form[name] = value
    if reason:
        form["reason"] = reason
    return form.submit(status="*")


def instance_of(dbsession, form="demographics", label="par01-0001"):
    dbsession.expire_all()
    return dbsession.scalar(
        select(FormInstance)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(Subject.label == label, FormInstance.form == form)
    )


def rows_of(dbsession, instance):
    dbsession.expire_all()
    return {
        row.item_oid: row
        for row in dbsession.scalars(
            select(ItemValue).where(ItemValue.form_instance_id == instance.id)
        )
    }


def events(dbsession, action):
    return dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


def chain_intact(dbsession, world):
    return all(r.intact for r in audit.verify_all(dbsession, world.tenant.id))


# --- SDV -------------------------------------------------------------------------------------


def test_monitor_verifies_ticked_values_then_the_rest_of_the_form(
    coordinator, monitor, dbsession, world
):
    assert enter(coordinator, **DEMOGRAPHICS_VALUES).status_int == 303
    instance = instance_of(dbsession)
    assert instance.sdv_status is SdvStatus.AWAITING
    page = monitor.get(DEMOGRAPHICS)
    assert "Awaiting SDV" in page.html.find(id="sdv-I.SEX").text
    assert page.html.find(id="sdv-I.BMI") is None  # calculated: nothing to verify at source
    assert page.html.find(id="sdv-I.INITIALS") is None  # personal data the monitor cannot see
    verify = page.forms["verify-form"]
    boxes = page.html.select('input[form="verify-form"]')
    assert {box["value"] for box in boxes} == {
        "I.BIRTH_DATE",
        "I.SEX",
        "I.HEIGHT_CM",
        "I.WEIGHT_KG",
    }
    # The ticked checkboxes live beside their fields; the browser sends them with verify-form.
    response = monitor.post(
        DEMOGRAPHICS + "@@verify",
        [("csrf_token", verify["csrf_token"].value), ("item", "I.INITIALS"), ("item", "I.SEX")],
    )
    assert response.status_int == 303
    rows = rows_of(dbsession, instance)
    assert rows["I.SEX"].verified_by_id == world.users["monitor"].id
    assert rows["I.INITIALS"].verified_at is None  # posted, but hidden from the monitor
    assert rows["I.HEIGHT_CM"].verified_at is None
    assert instance_of(dbsession).sdv_status is SdvStatus.AWAITING
    assert {e.field for e in events(dbsession, "sdv.verified")} == {"I.SEX"}
    monitor.get(DEMOGRAPHICS).forms["verify-form"].submit("all")
    assert instance_of(dbsession).sdv_status is SdvStatus.AWAITING  # the initials remain
    rows = rows_of(dbsession, instance)
    assert rows["I.INITIALS"].verified_at is None and rows["I.WEIGHT_KG"].verified_at
    dbsession.execute(
        update(ItemValue).values(sdv_required=False).where(ItemValue.item_oid == "I.INITIALS")
    )
    dbsession.flush()
    monitor.get(DEMOGRAPHICS).forms["verify-form"].submit("all")
    assert instance_of(dbsession).sdv_status is SdvStatus.VERIFIED
    assert "✓" in monitor.get(SUBJECT).text and "Verified" in monitor.get(SUBJECT).text
    assert chain_intact(dbsession, world)


@pytest.mark.parametrize("button", ["ticked", "all"])
def test_values_saved_after_the_monitors_page_was_shown_are_not_verified(
    coordinator, monitor, dbsession, button
):
    """The monitor compares the page with the source; a save meanwhile changed what the page
    shows: verifying would mark values they never saw, so it is refused and marks nothing."""
    assert enter(coordinator, **DEMOGRAPHICS_VALUES).status_int == 303
    page = monitor.get(DEMOGRAPHICS)
    assert enter(coordinator, height_cm="181").status_int == 303
    verify = page.forms["verify-form"]
    fields = [("csrf_token", verify["csrf_token"].value), ("lock", verify["lock"].value)]
    fields += [("all", "1")] if button == "all" else [("item", "I.HEIGHT_CM")]
    refused = monitor.post(DEMOGRAPHICS + "@@verify", fields, status=422)
    assert "saved since you opened it: reload it, then verify" in refused.text
    assert not events(dbsession, "sdv.verified")
    assert rows_of(dbsession, instance_of(dbsession))["I.HEIGHT_CM"].verified_at is None
    monitor.get(DEMOGRAPHICS).forms["verify-form"].submit("all", status=303)  # read again
    assert rows_of(dbsession, instance_of(dbsession))["I.HEIGHT_CM"].verified_at is not None


def test_a_save_writes_again_the_sdv_mark_the_design_gives_a_value_it_did_not_change(
    coordinator, dbsession
):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    dbsession.execute(
        update(ItemValue).values(sdv_required=False).where(ItemValue.item_oid == "I.SEX")
    )
    dbsession.flush()
    assert enter(coordinator, height_cm="181").status_int == 303
    rows = rows_of(dbsession, instance_of(dbsession))
    assert rows["I.SEX"].sdv_required  # review marked it: the save wrote its marks
    assert rows["I.HEIGHT_CM"].value == "181" and rows["I.HEIGHT_CM"].sdv_required


def test_a_change_after_sdv_resets_only_the_changed_value(coordinator, monitor, dbsession):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    monitor.get(DEMOGRAPHICS).forms["verify-form"].submit("all")
    response = enter(coordinator, height_cm="181")
    assert response.status_int == 303
    instance = instance_of(dbsession)
    rows = rows_of(dbsession, instance)
    assert rows["I.HEIGHT_CM"].verified_at is None and rows["I.HEIGHT_CM"].sdv_changed
    assert rows["I.SEX"].verified_at is not None and not rows["I.SEX"].sdv_changed
    assert instance.sdv_status is SdvStatus.CHANGED
    [reset] = events(dbsession, "sdv.reset")
    assert (reset.field, reset.old_value, reset.new_value) == ("I.HEIGHT_CM", "verified", "changed")
    page = monitor.get(DEMOGRAPHICS)
    assert "Changed since verified" in page.html.find(id="sdv-I.HEIGHT_CM").text
    history = monitor.get(
        DEMOGRAPHICS + "@@history", {"item": "I.HEIGHT_CM"}, headers={"HX-Request": "true"}
    )
    cells = [
        [td.text.strip() for td in [*row.find_all("td")[5:6], *row.find_all("td")[2:4]]]
        for row in history.html.select("tbody tr")
    ]
    assert cells == [
        ["Value", "blank", "180"],
        ["Source verified", "awaiting", "verified"],
        ["Value", "180", "181"],
        ["SDV reset by a change", "verified", "changed"],
    ]


def test_verifying_needs_a_tick_and_the_permission(coordinator, monitor, manager, dbsession):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    token = monitor.get(DEMOGRAPHICS).forms["verify-form"]["csrf_token"].value
    refused = monitor.post(DEMOGRAPHICS + "@@verify", {"csrf_token": token}, status=422)
    assert "Tick the values you verified." in refused.text
    assert "verify-form" not in coordinator.get(DEMOGRAPHICS).text
    token = manager.get(DEMOGRAPHICS).forms["review-form"]["csrf_token"].value
    manager.post(DEMOGRAPHICS + "@@verify", {"csrf_token": token, "all": "1"}, status=403)
    assert events(dbsession, "sdv.verified") == []


def test_verify_all_of_a_visit_costs_the_same_queries_for_more_forms(
    coordinator, monitor, dbsession, world, query_counter
):
    no_personal_data = {k: v for k, v in DEMOGRAPHICS_VALUES.items() if k != "initials"}
    enter(coordinator, **no_personal_data)
    token = monitor.get(SCREENING).forms["verify-form"]["csrf_token"].value
    query_counter.clear()
    monitor.post(SCREENING + "@@verify", {"csrf_token": token, "all": "1"})
    one_form = len(query_counter)
    other = "/acme/demo/subjects/par01-0002/"
    make_subject(dbsession, world.sites["par01"], "par01-0002")
    dbsession.flush()
    enter(coordinator, other + "screening/demographics/", **no_personal_data)
    enter(coordinator, other + "screening/vital_signs/", systolic="120", diastolic="80")
    query_counter.clear()
    monitor.post(other + "screening/@@verify", {"csrf_token": token, "all": "1"})
    assert len(query_counter) == one_form, "\n".join(query_counter)
    assert instance_of(dbsession, "vital_signs", "par01-0002").sdv_status is SdvStatus.VERIFIED
    assert instance_of(dbsession, label="par01-0002").sdv_status is SdvStatus.VERIFIED
    assert len(events(dbsession, "sdv.verified")) == 4 + 4 + 2


def test_the_sdv_screen_lists_a_sites_pending_forms_and_verifies_the_ticked_ones(
    coordinator, monitor, dbsession
):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    enter(coordinator, VITALS, systolic="120", diastolic="80")
    page = monitor.get(SITE + "@@sdv")
    assert len(page.html.select("table.sdv tbody tr")) == 2
    form = page.forms["sdv-form"]
    vitals = instance_of(dbsession, "vital_signs")
    form.get(
        "form", index=[f.value for f in form.fields["form"]].index(str(vitals.id)) if False else 0
    )
    for field in form.fields["form"]:
        if field._value == str(vitals.id):
            field.checked = True
    response = form.submit()
    assert response.status_int == 303 and response.location.endswith("@@sdv")
    assert instance_of(dbsession, "vital_signs").sdv_status is SdvStatus.VERIFIED
    assert instance_of(dbsession).sdv_status is SdvStatus.AWAITING
    page = monitor.get(SITE + "@@sdv")
    assert len(page.html.select("table.sdv tbody tr")) == 1
    verified = monitor.get(SITE + "@@sdv", {"status": "verified"})
    assert "Verified" in verified.html.select_one("table.sdv tbody").text


def test_other_sites_forms_cannot_be_verified_from_this_site(coordinator, monitor, dbsession):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    instance = instance_of(dbsession)
    token = monitor.get(SITE + "@@sdv").forms["sdv-form"]["csrf_token"].value
    monitor.post(
        "/acme/demo/sites/ber01/@@verify",
        {"csrf_token": token, "all": "1", "form": str(instance.id)},
    )
    assert instance_of(dbsession).sdv_status is SdvStatus.AWAITING


# --- review ----------------------------------------------------------------------------------


def test_review_stamp_is_separate_from_sdv_and_reset_by_a_change(coordinator, manager, dbsession):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    manager.get(DEMOGRAPHICS).forms["review-form"].submit()
    instance = instance_of(dbsession)
    assert instance.review_status is ReviewStatus.REVIEWED
    assert instance.sdv_status is SdvStatus.AWAITING
    enter(coordinator, weight_kg="73.0")
    assert instance_of(dbsession).review_status is ReviewStatus.CHANGED
    assert [e.action for e in events(dbsession, "review.reset")] == ["review.reset"]
    assert "Changed since reviewed" in manager.get(DEMOGRAPHICS).text


# --- freeze, lock, unlock --------------------------------------------------------------------


def state_form(testapp, url, action, reason=""):
    form = testapp.get(url).forms["data-state-form"]
    form["state-reason"] = reason
    return form.submit("action", value=action, status="*")


def offered(page):
    """The freeze / lock / unlock buttons a page offers."""
    return [b["value"] for b in page.html.select("#data-state-form button[name=action]")]


def test_only_the_moves_that_apply_to_a_form_s_state_are_offered(coordinator, manager, dbsession):
    assert manager.get(DEMOGRAPHICS).html.find(id="data-state-form") is None  # no data yet
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    assert offered(manager.get(DEMOGRAPHICS)) == ["freeze", "lock"]
    state_form(manager, DEMOGRAPHICS, "freeze")
    assert offered(manager.get(DEMOGRAPHICS)) == ["lock", "unlock"]
    state_form(manager, DEMOGRAPHICS, "lock")
    assert offered(manager.get(DEMOGRAPHICS)) == ["unlock"]
    assert offered(manager.get(SUBJECT)) == ["freeze", "lock"]  # the casebook as a whole
    state_form(manager, SUBJECT, "lock")
    assert offered(manager.get(SUBJECT)) == ["unlock"]


def test_a_frozen_form_refuses_entry_until_unlocked_with_a_reason(
    coordinator, manager, dbsession, world
):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    token = coordinator.get(DEMOGRAPHICS).forms["entry-form"]["csrf_token"].value
    assert state_form(manager, DEMOGRAPHICS, "freeze").status_int == 303
    assert instance_of(dbsession).lock_state is LockState.FROZEN
    page = coordinator.get(DEMOGRAPHICS)
    assert "Frozen" in page.text and page.html.find("button", string="Save") is None
    coordinator.post(DEMOGRAPHICS + "@@save", {"csrf_token": token, "height_cm": "150"}, status=403)
    refused = state_form(manager, DEMOGRAPHICS, "unlock")
    assert refused.status_int == 422 and "Give the reason for unlocking." in refused.text
    assert state_form(manager, DEMOGRAPHICS, "unlock", "Site corrects a typo").status_int == 303
    assert enter(coordinator, height_cm="150").status_int == 303
    [unlocked] = events(dbsession, "data.unlocked")
    assert (unlocked.old_value, unlocked.new_value, unlocked.reason) == (
        "frozen",
        "open",
        "Site corrects a typo",
    )
    assert chain_intact(dbsession, world)


def test_lock_is_refused_while_queries_are_open(coordinator, manager, dbsession):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    dbsession.execute(update(FormInstance).values(open_queries=1))
    dbsession.flush()
    page = manager.get(DEMOGRAPHICS)
    assert offered(page) == ["freeze"] and "Close this form's queries to lock it." in page.text
    token = page.forms["data-state-form"]["csrf_token"].value
    refused = manager.post(
        DEMOGRAPHICS + "@@data-state", {"csrf_token": token, "action": "lock"}, status=422
    )
    assert "open queries" in refused.text
    assert instance_of(dbsession).lock_state is LockState.OPEN
    dbsession.execute(update(FormInstance).values(open_queries=0))
    dbsession.flush()
    assert state_form(manager, DEMOGRAPHICS, "lock").status_int == 303
    assert instance_of(dbsession).lock_state is LockState.LOCKED


def test_a_locked_form_refuses_entry_and_verification(coordinator, monitor, manager, dbsession):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    token = monitor.get(DEMOGRAPHICS).forms["verify-form"]["csrf_token"].value
    state_form(manager, DEMOGRAPHICS, "lock")
    monitor.post(DEMOGRAPHICS + "@@verify", {"csrf_token": token, "all": "1"}, status=403)
    assert "verify-form" not in monitor.get(DEMOGRAPHICS).text
    refused = monitor.post(SCREENING + "@@verify", {"csrf_token": token, "all": "1"}, status=422)
    assert "Locked forms cannot change" in refused.text
    assert "🔒" in coordinator.get(SUBJECT).text


def test_only_data_management_freezes_and_locks(coordinator, monitor, dbsession):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    token = coordinator.get(DEMOGRAPHICS).forms["entry-form"]["csrf_token"].value
    for testapp in (coordinator, monitor):
        testapp.post(
            DEMOGRAPHICS + "@@data-state", {"csrf_token": token, "action": "lock"}, status=403
        )
    assert instance_of(dbsession).lock_state is LockState.OPEN


def test_an_unknown_state_action_is_not_found(coordinator, manager, dbsession):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    token = manager.get(DEMOGRAPHICS).forms["data-state-form"]["csrf_token"].value
    for action in ("delete", ""):
        manager.post(
            DEMOGRAPHICS + "@@data-state", {"csrf_token": token, "action": action}, status=404
        )
    assert instance_of(dbsession).lock_state is LockState.OPEN


def test_a_casebook_and_a_sites_subjects_lock_in_bulk(
    app, coordinator, manager, dbsession, world, query_counter
):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    enter(coordinator, VITALS, systolic="120", diastolic="80")
    assert state_form(manager, SUBJECT, "lock").status_int == 303
    assert instance_of(dbsession, "vital_signs").lock_state is LockState.LOCKED
    assert instance_of(dbsession).lock_state is LockState.LOCKED
    locked = sorted(event.entity_type for event in events(dbsession, "data.locked"))
    assert locked == ["form_instance", "form_instance", "subject", "visit_instance"]
    state_form(manager, SUBJECT, "unlock", "Late lab results")
    make_subject(dbsession, world.sites["par01"], "par01-0002")
    dbsession.flush()
    enter(coordinator, "/acme/demo/subjects/par01-0002/screening/demographics/", sex="2")
    page = manager.get(SITE + "@@locking")
    form = page.forms["locking-form"]
    form.get("subject", index=0).checked = True
    query_counter.clear()
    form.submit("action", value="lock")
    one = len(query_counter)
    assert instance_of(dbsession).lock_state is LockState.LOCKED
    assert instance_of(dbsession, label="par01-0002").lock_state is LockState.OPEN
    form = manager.get(SITE + "@@locking").forms["locking-form"]
    form["state-reason"] = "Reopened"
    form.get("subject", index=0).checked = True
    form.submit("action", value="unlock")
    form = manager.get(SITE + "@@locking").forms["locking-form"]
    for index in range(2):
        form.get("subject", index=index).checked = True
    query_counter.clear()
    form.submit("action", value="lock")
    assert len(query_counter) == one, "\n".join(query_counter)
    assert instance_of(dbsession, label="par01-0002").lock_state is LockState.LOCKED
    states = dict(dbsession.execute(select(Subject.label, Subject.lock_state)).all())
    assert states == {  # the chosen casebooks as a whole; ber01's and the foreign tenant's not
        "par01-0001": LockState.LOCKED,
        "par01-0002": LockState.LOCKED,
        "ber01-0001": LockState.OPEN,
        "lyo01-0001": LockState.OPEN,
    }


def written(dbsession):
    """How many visits, forms and audit events there are (to prove a refusal wrote nothing)."""
    return [
        dbsession.scalar(select(func.count()).select_from(model))
        for model in (VisitInstance, FormInstance, AuditEvent)
    ]


def add_row_form(page):
    return page.forms[next(k for k, f in page.forms.items() if f.action.endswith("@@add-row"))]


def test_a_locked_casebook_takes_no_new_visit_row_or_form(coordinator, manager, dbsession):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    add_visit = coordinator.get(SUBJECT).forms["add-visit-form"]
    add_visit["visit"] = "unscheduled"
    visit_page = add_visit.submit().follow()
    row = add_row_form(visit_page).submit().follow()
    enter(coordinator, row.request.path, ae_term="Headache", ae_start="01/02/2026", ae_serious="0")
    # The forms as the coordinator had them open before the data manager's lock.
    add_visit = coordinator.get(SUBJECT).forms["add-visit-form"]
    add_row = add_row_form(coordinator.get(SUBJECT + "unscheduled-1/"))
    never_started = coordinator.get(VITALS).forms["entry-form"]
    never_started["systolic"], never_started["diastolic"] = "120", "80"
    not_entered_visit = coordinator.get(SUBJECT + "baseline/vital_signs/").forms["entry-form"]
    not_entered_visit["systolic"], not_entered_visit["diastolic"] = "120", "80"
    existing_row = coordinator.get(row.request.path).forms["entry-form"]
    existing_row["ae_term"] = "Migraine"

    assert state_form(manager, SUBJECT, "lock").status_int == 303
    dbsession.expire_all()
    assert dbsession.scalar(select(Subject.lock_state).where(Subject.label == "par01-0001")) is (
        LockState.LOCKED
    )
    before = written(dbsession)
    for refused in (add_visit, add_row, never_started, not_entered_visit, existing_row):
        refused.submit(status=403)
    assert written(dbsession) == before
    assert "add-visit-form" not in coordinator.get(SUBJECT).forms
    assert "Add a row" not in coordinator.get(SUBJECT + "unscheduled-1/").text
    assert "🔒" in coordinator.get(SUBJECT).text

    # Unlocking a form for correction opens its casebook again.
    state_form(manager, DEMOGRAPHICS, "unlock", "Typing error on the height")
    assert coordinator.get(SUBJECT).forms["add-visit-form"].submit().status_int == 303


def test_a_frozen_visit_takes_no_new_log_row_but_its_casebook_takes_visits(
    coordinator, manager, monitor, dbsession
):
    add_visit = coordinator.get(SUBJECT).forms["add-visit-form"]
    add_visit["visit"] = "unscheduled"
    visit_page = add_visit.submit().follow()
    add_row_form(visit_page).submit()
    add_row = add_row_form(coordinator.get(SUBJECT + "unscheduled-1/"))
    assert state_form(manager, SUBJECT + "unscheduled-1/", "freeze").status_int == 303
    before = written(dbsession)
    add_row.submit(status=403)
    assert written(dbsession) == before
    assert coordinator.get(SUBJECT).forms["add-visit-form"].submit().status_int == 303


# --- signatures ------------------------------------------------------------------------------


def sign(testapp, url, password, status="*", subjects=()):
    form = testapp.get(url + "@@sign").forms["sign-form"]
    form["password"] = password
    for field in form.fields.get("subject", []):
        field.checked = field._value in subjects
    return form.submit(status=status)


def test_investigator_signs_with_the_password_and_the_signature_shows_its_meaning(
    coordinator, investigator, dbsession, world
):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    page = investigator.get(DEMOGRAPHICS + "@@sign")
    assert "I approve the data in this form." in page.html.find(id="meaning").text
    assert world.users["investigator"].name in page.text
    refused = sign(investigator, DEMOGRAPHICS, "wrong password")
    assert refused.status_int == 422 and "This is not your password." in refused.text
    assert dbsession.scalars(select(Signature)).all() == []
    assert len(events(dbsession, "signature.credentials_refused")) == 1  # kept despite the 422
    assert sign(investigator, DEMOGRAPHICS, PASSWORD).status_int == 303
    [signature] = dbsession.scalars(select(Signature)).all()
    assert signature.signer_name == world.users["investigator"].name
    assert signature.meaning == "I approve the data in this form."
    assert len(signature.content_hash) == 64 and services.intact(dbsession, signature)
    assert instance_of(dbsession).signature_state is SignatureState.SIGNED
    token = coordinator.get(DEMOGRAPHICS).forms["entry-form"]["csrf_token"].value
    coordinator.post(DEMOGRAPHICS + "@@save", {"csrf_token": token, "height_cm": "150"}, status=403)
    assert "✍" in coordinator.get(SUBJECT).text
    shown = coordinator.get(DEMOGRAPHICS).html.select_one(".signatures li").text
    assert "Signed" in shown and signature.signer_name in shown and signature.meaning in shown
    [signed] = events(dbsession, "signature.signed")
    assert signed.new_value.count(signature.content_hash) == 1


def test_only_investigators_sign(coordinator, monitor, dbsession):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    coordinator.get(DEMOGRAPHICS + "@@sign", status=403)
    monitor.get(SUBJECT + "@@sign", status=403)


def test_unlocking_a_signed_form_breaks_its_signature_visibly(
    coordinator, manager, investigator, dbsession, world
):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    state_form(manager, DEMOGRAPHICS, "lock")
    sign(investigator, DEMOGRAPHICS, PASSWORD)
    assert instance_of(dbsession).signature_state is SignatureState.SIGNED
    state_form(manager, DEMOGRAPHICS, "unlock", "Query on weight")
    instance = instance_of(dbsession)
    assert instance.signature_state is SignatureState.BROKEN
    assert instance.lock_state is LockState.OPEN
    [broken] = events(dbsession, "signature.broken")
    assert broken.reason == "Query on weight"
    [signature] = dbsession.scalars(select(Signature)).all()
    assert signature.broken_at is not None and signature.broken_event_id == broken.id
    shown = coordinator.get(DEMOGRAPHICS).html.select_one(".signatures li.broken").text
    assert "Signature invalidated" in shown and world.users["investigator"].name in shown
    assert "I approve the data in this form." in shown
    assert enter(coordinator, weight_kg="74.0").status_int == 303
    assert not services.intact(dbsession, signature)
    assert chain_intact(dbsession, world)


def test_new_data_in_a_signed_casebook_breaks_the_casebook_signature(
    coordinator, investigator, dbsession
):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    sign(investigator, SUBJECT, PASSWORD)
    [signature] = dbsession.scalars(select(Signature)).all()
    assert signature.meaning == "I approve the data in this casebook."
    assert enter(coordinator, VITALS, systolic="120", diastolic="80").status_int == 303
    dbsession.expire_all()
    assert signature.broken_at is not None
    assert instance_of(dbsession).signature_state is SignatureState.BROKEN
    assert len(events(dbsession, "signature.broken")) == 1


def signed(dbsession, label="par01-0001"):
    dbsession.expire_all()
    return dbsession.scalar(select(Subject.signed).where(Subject.label == label))


def test_a_subject_says_it_holds_a_valid_signature_and_a_save_then_breaks_it(
    coordinator, investigator, dbsession, world, query_counter
):
    """The save asks for signatures to break only of a subject holding a valid one: signing
    sets the mark, breaking the last valid signature clears it, a signature made after sets it
    again, and a casebook signature covers a form that held no data when it was made."""
    enter(coordinator, VITALS, systolic="120")
    enter(coordinator, VITALS, systolic="")  # the form exists, holding no data
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    assert signed(dbsession) is False
    query_counter.clear()
    assert enter(coordinator, weight_kg="73.0").status_int == 303
    assert not any("FROM signature" in statement for statement in query_counter)
    sign(investigator, SUBJECT, PASSWORD)
    [casebook] = dbsession.scalars(select(Signature)).all()
    assert signed(dbsession) is True
    assert instance_of(dbsession, "vital_signs").signature_state is SignatureState.UNSIGNED
    assert enter(coordinator, VITALS, systolic="121").status_int == 303  # not in signed_form
    dbsession.expire_all()
    assert casebook.broken_at is not None and signed(dbsession) is False
    assert enter(coordinator, VITALS, systolic="").status_int == 303
    sign(investigator, SUBJECT, PASSWORD)  # a signature made after the break
    assert signed(dbsession) is True
    assert enter(coordinator, VITALS, systolic="122").status_int == 303
    assert len(events(dbsession, "signature.broken")) == 2
    assert signed(dbsession) is False
    assert instance_of(dbsession).signature_state is SignatureState.BROKEN
    assert chain_intact(dbsession, world)


def test_a_subject_stays_signed_while_one_of_its_signatures_is_valid(
    coordinator, investigator, dbsession
):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    enter(coordinator, VITALS, systolic="120")
    sign(investigator, DEMOGRAPHICS, PASSWORD)
    assert enter(coordinator, VITALS, systolic="121").status_int == 303
    assert signed(dbsession) is True  # the demographics' signature covers no vital signs
    assert events(dbsession, "signature.broken") == []


def test_signing_is_throttled_like_sign_in(coordinator, investigator, registry):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    for _attempt in range(5):
        assert sign(investigator, DEMOGRAPHICS, "wrong password").status_int == 422
    blocked = sign(investigator, DEMOGRAPHICS, PASSWORD)
    assert blocked.status_int == 429 and "Retry-After" in blocked.headers


def test_batch_sign_of_several_casebooks_with_one_password_in_bounded_queries(
    coordinator, investigator, dbsession, world, query_counter
):
    labels = ["par01-0001"]
    for number in (2, 3, 4):
        label = f"par01-000{number}"
        make_subject(dbsession, world.sites["par01"], label)
        labels.append(label)
    dbsession.flush()
    for label in labels:
        enter(coordinator, f"/acme/demo/subjects/{label}/screening/demographics/", sex="2")
    investigator.get(SITE + "@@sign")
    query_counter.clear()
    assert sign(investigator, SITE, PASSWORD, subjects=labels[:1]).status_int == 303
    one = len(query_counter)
    query_counter.clear()
    assert sign(investigator, SITE, PASSWORD, subjects=labels[1:]).status_int == 303
    assert len(query_counter) == one, "\n".join(query_counter)
    signatures = dbsession.scalars(select(Signature)).all()
    assert len(signatures) == 4 and all(services.intact(dbsession, s) for s in signatures)
    assert len(events(dbsession, "signature.signed")) == 4


def test_batch_sign_refuses_without_a_subject_and_signs_nothing(investigator, dbsession):
    refused = sign(investigator, SITE, PASSWORD, status=422)
    assert "Choose at least one subject." in refused.text
    assert dbsession.scalars(select(Signature)).all() == []


def test_the_casebook_and_dashboard_show_states_in_words(coordinator, manager, dbsession):
    enter(coordinator, **DEMOGRAPHICS_VALUES)
    state_form(manager, DEMOGRAPHICS, "freeze")
    dashboard = manager.get("/acme/demo/subjects/@@dashboard")
    assert "Frozen" in dashboard.text and "Awaiting SDV" in dashboard.text


def test_an_other_sites_subject_cannot_be_signed_or_locked(investigator, manager, dbsession):
    investigator.get("/acme/demo/subjects/ber01-0001/@@sign", status=404)
    token = manager.get(SITE + "@@locking").text  # no subject with data: nothing to choose
    assert "No subject of this site has data yet." in token


def test_an_enrolled_investigator_also_gives_a_fresh_authenticator_code(
    coordinator, investigator, dbsession
):
    from tests.functional.test_two_factor import code_at, set_up

    enter(coordinator, **DEMOGRAPHICS_VALUES)
    secret, _codes = set_up(investigator)
    form = investigator.get(DEMOGRAPHICS + "@@sign").forms["sign-form"]
    form["password"] = PASSWORD
    form["code"] = "000000" if code_at(secret) != "000000" else "111111"
    refused = form.submit(status=422)
    assert "This code is not valid." in refused.html.find(id="field-code-error").text
    form = refused.forms["sign-form"]
    form["password"], form["code"] = PASSWORD, code_at(secret, 1)
    assert form.submit().status_int == 303
    assert instance_of(dbsession).signature_state is SignatureState.SIGNED
    enter(coordinator, VITALS, systolic="120", diastolic="80")
    form = investigator.get(VITALS + "@@sign").forms["sign-form"]
    form["password"], form["code"] = PASSWORD, code_at(secret, 1)  # the same code again
    assert form.submit(status=422).status_int == 422
    assert instance_of(dbsession, "vital_signs").signature_state is SignatureState.UNSIGNED


# --- the SDV requirement of the design ---------------------------------------------------------


def test_the_designer_sets_targeted_sdv_and_sites_data_follows_the_published_version(
    app, coordinator, monitor, dbsession, world
):
    from datacapt.design import services as design
    from datacapt.ecrf import versions

    admin = user_app(app, world, "study_admin")
    page = admin.get("/acme/demo/design/forms/vital_signs/")
    form = page.forms["form-settings"]
    form["sdv"] = "targeted"
    refused = form.submit(status=422)
    assert "Choose the questions to verify." in refused.html.find(id="field-sdv_items-error").text
    form = admin.get("/acme/demo/design/forms/vital_signs/").forms["form-settings"]
    form["sdv"] = "targeted"
    for field in form.fields["sdv_items"]:
        field.checked = field._value == "systolic"
    assert form.submit().status_int == 303
    dbsession.expire_all()
    version = versions.draft(dbsession, world.study)
    vitals = versions.definition_of(version).form("vital_signs")
    assert (vitals.sdv.value, vitals.sdv_items) == ("targeted", ["systolic"])
    [changed] = events(dbsession, "design.form_changed")
    assert '"sdv": "targeted"' in changed.new_value

    enter(coordinator, VITALS, systolic="120", diastolic="80")  # saved with version 1: 100 %
    assert {
        o
        for o, r in rows_of(dbsession, instance_of(dbsession, "vital_signs")).items()
        if r.sdv_required
    } == {"I.SYSTOLIC", "I.DIASTOLIC"}
    design.publish(
        dbsession,
        world.study,
        version,
        actor=Actor.system("tests"),
        reason="Targeted SDV of vital signs",
        expected_lock=version.lock_version,
    )
    dbsession.flush()
    enter(coordinator, VITALS, systolic="121")  # saved with version 2: targeted
    instance = instance_of(dbsession, "vital_signs")
    required = {o for o, r in rows_of(dbsession, instance).items() if r.sdv_required}
    assert required == {"I.SYSTOLIC"} and instance.version_number == 2
    monitor.get(VITALS).forms["verify-form"].submit("all")
    assert instance_of(dbsession, "vital_signs").sdv_status is SdvStatus.VERIFIED
    assert [e.field for e in events(dbsession, "sdv.verified")] == ["I.SYSTOLIC"]


def test_signing_a_casebook_with_forms_in_progress_names_them_before_the_signature(
    coordinator, investigator, dbsession
):
    enter(coordinator, VITALS, systolic="120", diastolic="80", heart_rate="70", complete=True)
    assert investigator.get(SUBJECT + "@@sign").html.find(id="unfinished-forms") is None
    enter(coordinator, **DEMOGRAPHICS_VALUES)  # not ticked complete: in progress
    page = investigator.get(SUBJECT + "@@sign")
    warning = page.html.find(id="unfinished-forms")
    assert warning["role"] == "alert" and "1 form is still in progress" in warning.text
    assert [" ".join(li.text.split()) for li in warning.select("li")] == [
        "Demographics — Screening"
    ]
    assert page.text.index('id="unfinished-forms"') < page.text.index('name="password"')
    assert sign(investigator, SUBJECT, PASSWORD).status_int == 303  # a warning, not a refusal
