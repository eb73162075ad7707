"""Subjects and data entry, as site staff use them: enrolment, the casebook, filling forms,
reasons for change, missing-data codes, logs, history, conflicts, and the dashboard."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import webtest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from datacapt import personal_values
from datacapt.models import (
    AuditEvent,
    EntryWarning,
    FormInstance,
    FormStatus,
    ItemValue,
    Subject,
    SubjectContact,
    SubjectStatus,
)
from tests.factories import build_world, csrf_token, login

SUBJECT = "/acme/demo/subjects/par01-0001/"
DEMOGRAPHICS = SUBJECT + "screening/demographics/"
VITALS = SUBJECT + "screening/vital_signs/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def coordinator(testapp, world):
    assert login(testapp, world.users["coordinator"].email).status_int == 303
    return testapp


def another(app, world, role):
    other = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(other, world.users[role].email)
    return other


def entry_form(page):
    return page.forms["entry-form"]


def fill(form, **values):
    for name, value in values.items():
        form[name] = value
    return form


def values_of(dbsession, path_subject="par01-0001", form="demographics"):
    dbsession.expire_all()
    rows = dbsession.execute(
        select(ItemValue)
        .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(Subject.label == path_subject, FormInstance.form == form)
    ).scalars()
    return {row.item_oid: row for row in rows}


def instance_of(dbsession, form="demographics", label="par01-0001"):
    dbsession.expire_all()
    return dbsession.scalar(
        select(FormInstance)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(Subject.label == label, FormInstance.form == form)
    )


def events(dbsession, action):
    return dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


# --- enrolment and subjects -------------------------------------------------------------------


def test_enrolment_gives_the_next_id_of_the_site_and_seals_the_contact(coordinator, dbsession):
    page = coordinator.get("/acme/demo/subjects/@@enrol")
    hint = page.html.find(id="field-label-help").text
    assert "made like par01-0001" in hint and "{" not in hint  # an example, not the pattern
    form = page.forms["enrol-form"]
    assert [o[0] for o in form["site"].options] == ["par01"]  # only her site
    fill(form, **{"contact-name": "Jeanne Martin", "contact-email": "Jeanne@Example.org"})
    response = form.submit()
    assert response.location.endswith("/subjects/par01-0002/")
    subject = dbsession.scalar(select(Subject).where(Subject.label == "par01-0002"))
    assert subject.status is SubjectStatus.SCREENING
    row = dbsession.get(SubjectContact, subject.id)
    assert b"Jeanne" not in row.ciphertext and b"example" not in row.ciphertext.lower()
    [event] = events(dbsession, "subject.contact_changed")
    assert "Jeanne" not in (event.new_value or "") and event.subject_id == subject.id
    assert events(dbsession, "subject.enrolled")[-1].subject_id == subject.id


def test_enrolment_refuses_a_taken_or_malformed_id_and_another_site(coordinator):
    form = coordinator.get("/acme/demo/subjects/@@enrol").forms["enrol-form"]
    form["label"] = "par01-0001"
    assert "already used" in form.submit(status=422).text
    form["label"] = "no spaces allowed"
    assert "letters, digits" in form.submit(status=422).text
    token = csrf_token(coordinator)
    response = coordinator.post(
        "/acme/demo/subjects/@@enrol", {"site": "ber01", "csrf_token": token}, status=422
    )
    assert "Choose one of your sites." in response.text


def test_a_typed_id_follows_the_sites_pattern_and_never_tells_of_other_sites(
    coordinator, dbsession
):
    def refusal(label):
        form = coordinator.get("/acme/demo/subjects/@@enrol").forms["enrol-form"]
        form["label"] = label
        response = form.submit(status=422)
        return response.html.find(id="field-label-error").get_text(" ", strip=True)

    held_by_berlin, free_at_berlin = refusal("ber01-0001"), refusal("ber01-9999")
    assert held_by_berlin == free_at_berlin
    assert "like par01-0001" in held_by_berlin and "already" not in held_by_berlin
    assert refusal("par01-12") == held_by_berlin  # too few digits for {seq:04}
    labels = set(dbsession.scalars(select(Subject.label)))
    assert "ber01-9999" not in labels and "par01-12" not in labels
    form = coordinator.get("/acme/demo/subjects/@@enrol").forms["enrol-form"]
    form["label"] = "par01-0042"
    assert form.submit().location.endswith("/subjects/par01-0042/")


def test_monitors_cannot_enrol(testapp, world):
    login(testapp, world.users["monitor"].email)
    testapp.get("/acme/demo/subjects/@@enrol", status=403)


def test_contact_details_are_read_on_request_and_each_reading_is_audited(
    coordinator, dbsession, world
):
    form = coordinator.get(SUBJECT + "@@contact").forms["contact-form"]
    fill(form, **{"contact-name": "Ana Sousa", "contact-phone": "+33 6 12 34 56 78"})
    form.submit()
    shown = coordinator.get(SUBJECT + "@@contact", headers=HTMX)
    assert "Ana Sousa" in shown.text
    assert len(events(dbsession, "subject.contact_viewed")) == 1  # nothing was there to read before
    monitor = another(coordinator.app, world, "monitor")
    monitor.get(SUBJECT + "@@contact", status=403)
    assert "Show the contact details" not in monitor.get(SUBJECT).text


def test_a_sealed_contact_does_not_open_on_another_subject(coordinator, dbsession, registry, world):
    from datacapt.subjects import contacts

    form = coordinator.get(SUBJECT + "@@contact").forms["contact-form"]
    form["contact-name"] = "Ana Sousa"
    form.submit()
    row = dbsession.get(SubjectContact, world.subjects["par01-0001"].id)
    forged = SubjectContact(
        subject_id=world.subjects["ber01-0001"].id,
        tenant_id=row.tenant_id,
        key_id=row.key_id,
        nonce=row.nonce,
        ciphertext=row.ciphertext,
    )
    with pytest.raises(contacts.ContactUnreadable):
        contacts.open_row(dbsession, registry, forged)


def test_contacts_under_a_tenant_key_move_under_the_subjects_data_key(
    coordinator, dbsession, registry, world
):
    """A row sealed before subjects had data keys (under a tenant-wide key) still opens, and
    ``keys rekey`` (run by ``db upgrade``) re-seals it under the subject's own data key; a
    tenant-wide key rotation leaves rows under data keys alone."""
    import json

    from datacapt import sealing
    from datacapt.models import SubjectKey
    from datacapt.subjects import contacts

    subject = world.subjects["par01-0001"]
    associated = f"datacapt:subject:{subject.id}".encode()
    legacy = sealing.seal(registry, json.dumps({"name": "Ana Sousa"}).encode(), associated)
    row = SubjectContact(
        subject_id=subject.id,
        tenant_id=subject.tenant_id,
        key_id=legacy.key_id,
        nonce=legacy.nonce,
        ciphertext=legacy.ciphertext,
    )
    dbsession.add(row)
    dbsession.flush()
    assert contacts.open_row(dbsession, registry, row).name == "Ana Sousa"
    assert contacts.count_tenant_sealed(dbsession) == 1
    assert dbsession.get(SubjectKey, subject.id) is None

    assert contacts.rekey(registry, dbsession) == 1
    assert row.key_id is None and row.ciphertext != legacy.ciphertext
    assert dbsession.get(SubjectKey, subject.id) is not None
    assert contacts.open_row(dbsession, registry, row).name == "Ana Sousa"
    with pytest.raises(sealing.Unreadable):  # no tenant-wide key opens it any more
        sealing.unseal(
            registry, sealing.Sealed(legacy.key_id, row.nonce, row.ciphertext), associated
        )
    assert contacts.count_tenant_sealed(dbsession) == 0
    assert contacts.rekey(registry, dbsession) == 0


def test_status_moves_along_its_life_with_reasons(coordinator, dbsession, world):
    form = coordinator.get(SUBJECT).forms["status-form"]
    form["status"] = "included"
    form.submit()
    dbsession.expire_all()
    assert world.subjects["par01-0001"].status is SubjectStatus.INCLUDED
    form = coordinator.get(SUBJECT).forms["status-form"]
    assert [o[0] for o in form["status"].options] == ["completed", "withdrawn"]
    form["status"] = "withdrawn"
    refused = form.submit(status=422)
    assert "Give the reason." in refused.text
    form = refused.forms["status-form"]
    fill(form, status="withdrawn", reason="Moved abroad", date="2026-01-10")
    form.submit()
    dbsession.expire_all()
    assert world.subjects["par01-0001"].status is SubjectStatus.WITHDRAWN
    event = events(dbsession, "subject.status_changed")[-1]
    assert (event.old_value, event.new_value, event.reason) == (
        "included",
        "withdrawn",
        "Moved abroad",
    )


def test_subject_list_searches_and_filters(coordinator, world, dbsession):
    from tests.factories import make_subject

    make_subject(dbsession, world.sites["par01"], "par01-0042", SubjectStatus.INCLUDED)
    dbsession.flush()
    page = coordinator.get("/acme/demo/subjects/", {"q": "42"})
    assert [a.text for a in page.html.select("table.data tbody a.code")] == ["par01-0042"]
    page = coordinator.get("/acme/demo/subjects/", {"status": "screening"})
    assert [a.text for a in page.html.select("table.data tbody a.code")] == ["par01-0001"]


# --- the casebook and forms -------------------------------------------------------------------


def test_the_casebook_lists_visits_and_forms_with_their_status(coordinator):
    page = coordinator.get(SUBJECT)
    rows = page.html.select("table.casebook tbody tr")
    assert [row.th.a.text.strip() for row in rows] == ["Screening", "Baseline", "Week 4"]
    assert "Not started" in rows[0].text


def test_a_form_is_saved_value_by_value_with_its_calculation(coordinator, dbsession, world):
    form = fill(
        entry_form(coordinator.get(DEMOGRAPHICS)),
        initials="JM",
        birth_date="31/01/1980",
        sex="1",
        height_cm="180",
        weight_kg="72.5",
    )
    response = form.submit()
    assert response.status_int == 303
    saved = values_of(dbsession)
    assert saved["I.BIRTH_DATE"].value == "1980-01-31"
    assert saved["I.BIRTH_DATE"].value_date.isoformat() == "1980-01-31"
    assert saved["I.WEIGHT_KG"].value_number == Decimal("72.5")
    assert saved["I.BMI"].value == "22.4"
    assert "I.PREGNANT" not in saved  # hidden for men: nothing stored
    changes = events(dbsession, "entry.value_changed")
    assert {e.field for e in changes} == {
        "I.INITIALS",
        "I.BIRTH_DATE",
        "I.SEX",
        "I.HEIGHT_CM",
        "I.WEIGHT_KG",
        "I.BMI",
    }
    initials = next(e for e in changes if e.field == "I.INITIALS")
    # sealed: the readable parts (fingerprint, key) hold no initials, the sealed part opens to
    # them (a random ciphertext may spell "JM" by chance: it is not searched)
    readable, _sealed = initials.new_value.rsplit(":", 1)
    assert readable.startswith("pii:") and "JM" not in readable
    instance = instance_of(dbsession)
    opened = personal_values.open_audited(
        personal_values.registry_of(dbsession),
        initials.new_value,
        instance.subject_id,
        instance.id,
        "I.INITIALS",
    )
    assert opened == "JM"
    assert all(e.actor_id == world.users["coordinator"].id for e in changes)
    assert saved["I.SEX"].audit_event_id in {e.id for e in changes}
    page = coordinator.get(DEMOGRAPHICS)
    assert page.html.find(id="item-height_cm")["value"] == "180"
    assert "In progress" in coordinator.get(SUBJECT).text


def test_refused_values_save_nothing_and_are_shown_next_to_their_field(coordinator, dbsession):
    form = fill(
        entry_form(coordinator.get(DEMOGRAPHICS)),
        birth_date="31/02/1980",
        height_cm="1800",
        weight_kg="72.5",
    )
    response = form.submit(status=422)
    html = response.html
    assert html.find(id="item-birth_date")["aria-invalid"] == "true"
    assert "This date does not exist." in html.find(id="item-birth_date-message").text
    assert "between 50 and 250" in html.find(id="item-height_cm-message").text
    assert html.find(id="item-weight_kg")["value"] == "72.5"  # what was typed stays
    assert html.select_one(".error-summary") is not None
    assert instance_of(dbsession) is None
    assert not GLUED_ATTRIBUTES.findall(response.text)


#: An attribute's closing quote followed at once by the next attribute's name: a parse error
#: of HTML ("missing whitespace between attributes") that a browser mends as it likes.
GLUED_ATTRIBUTES = re.compile(r'="[^"<>]*"[A-Za-z-]+=')


def test_a_blocking_check_refuses_the_save(coordinator, dbsession):
    form = fill(entry_form(coordinator.get(VITALS)), systolic="80", diastolic="90")
    response = form.submit(status=422)
    assert "must be below the systolic" in response.html.find(id="item-diastolic-message").text
    assert instance_of(dbsession, "vital_signs") is None


def test_warnings_are_kept_for_monitoring_until_the_data_is_corrected(coordinator, dbsession):
    form = fill(
        entry_form(coordinator.get(DEMOGRAPHICS)), sex="1", height_cm="150", weight_kg="120.0"
    )
    form.submit()
    instance = instance_of(dbsession)
    open_rows = dbsession.scalars(
        select(EntryWarning).where(
            EntryWarning.form_instance_id == instance.id, EntryWarning.resolved_at.is_(None)
        )
    ).all()
    assert {(w.item_oid, w.kind.value) for w in open_rows} == {("I.BMI", "edit_check")}
    assert instance.open_warnings == 1
    form = fill(entry_form(coordinator.get(DEMOGRAPHICS)), weight_kg="70.0")
    form.submit()
    assert instance_of(dbsession).open_warnings == 0


def test_completing_needs_every_required_answer_or_a_missing_code(
    coordinator, dbsession, testapp, world
):
    form = fill(
        entry_form(coordinator.get(DEMOGRAPHICS)),
        initials="JM",
        sex="1",
        birth_date="1980-01-31",
        weight_kg="70.0",
    )
    form["complete"] = "1"
    refused = form.submit(status=422)
    assert "Required to complete the form" in refused.text
    form = entry_form(refused)
    form["missing-height_cm"] = "NK"
    form["complete"] = "1"
    form.submit()
    saved = values_of(dbsession)
    assert saved["I.HEIGHT_CM"].value is None and saved["I.HEIGHT_CM"].missing_code == "NK"
    assert instance_of(dbsession).status is FormStatus.COMPLETE
    # read-only, the code reads as text, not as a greyed-out menu
    page = another(testapp.app, world, "monitor").get(DEMOGRAPHICS)
    height = page.html.find(id="block-I.HEIGHT_CM")
    assert height.find("select") is None
    assert height.select_one(".missing-code").text.startswith("Missing-data code: NK — ")
    assert page.html.find(id="block-I.WEIGHT_KG").select_one(".missing-code") is None
    assert "Complete" in coordinator.get(SUBJECT).text


def test_a_value_and_a_missing_code_together_are_refused(coordinator, dbsession):
    form = fill(entry_form(coordinator.get(DEMOGRAPHICS)), height_cm="180")
    form["missing-height_cm"] = "NK"
    assert "not both" in form.submit(status=422).text
    token = csrf_token(coordinator)
    forged = coordinator.post(
        DEMOGRAPHICS + "@@save", {"missing-sex": "NK", "csrf_token": token, "lock": ""}, status=422
    )
    assert "missing-data codes offered" in forged.text  # sex allows no code


def test_changing_a_completed_form_needs_a_reason_which_is_audited(coordinator, dbsession):
    form = fill(
        entry_form(coordinator.get(DEMOGRAPHICS)),
        initials="JM",
        sex="1",
        birth_date="1980-01-31",
        height_cm="180",
        weight_kg="72.5",
    )
    form["complete"] = "1"
    form.submit()
    form = fill(entry_form(coordinator.get(DEMOGRAPHICS)), weight_kg="74.0")
    refused = form.submit(status=422)
    assert refused.html.find(id="field-reason")["aria-invalid"] == "true"
    assert values_of(dbsession)["I.WEIGHT_KG"].value == "72.5"
    form = fill(entry_form(refused), weight_kg="74.0", reason="Transcription error")
    form.submit()
    assert values_of(dbsession)["I.WEIGHT_KG"].value == "74.0"
    change = events(dbsession, "entry.value_changed")[-2:]
    assert {(e.field, e.old_value, e.new_value, e.reason) for e in change} == {
        ("I.WEIGHT_KG", "72.5", "74.0", "Transcription error"),
        ("I.BMI", "22.4", "22.8", "Transcription error"),
    }


def test_field_history_tells_every_value_who_when_and_why(coordinator, world):
    fill(entry_form(coordinator.get(DEMOGRAPHICS)), height_cm="180").submit()
    fill(entry_form(coordinator.get(DEMOGRAPHICS)), height_cm="178").submit()
    history = coordinator.get(DEMOGRAPHICS + "@@history", {"item": "I.HEIGHT_CM"}, headers=HTMX)
    rows = history.html.select("tbody tr")
    assert len(rows) == 2
    cells = [td.text.strip() for td in rows[1].find_all("td")]
    assert cells[1:4] == [world.users["coordinator"].name, "180", "178"]
    pii = coordinator.get(DEMOGRAPHICS + "@@history", {"item": "I.INITIALS"})
    assert "No value saved yet." in pii.text


def test_a_stale_save_is_refused_with_what_changed_and_by_whom(app, world, dbsession):
    first = another(app, world, "coordinator")
    second = another(app, world, "investigator")
    fill(entry_form(first.get(DEMOGRAPHICS)), height_cm="180").submit()
    page_a = entry_form(first.get(DEMOGRAPHICS))
    page_b = entry_form(second.get(DEMOGRAPHICS))
    fill(page_a, height_cm="181").submit()
    response = fill(page_b, height_cm="175").submit(status=409)
    conflict = response.html.find(id="conflict")
    assert "175" in conflict.text and "181" in conflict.text
    assert world.users["coordinator"].name in conflict.text
    assert values_of(dbsession)["I.HEIGHT_CM"].value == "181"
    assert response.html.find(id="item-height_cm")["value"] == "181"  # the saved state shown


def test_the_same_save_submitted_twice_is_stored_once(coordinator, dbsession):
    form = fill(entry_form(coordinator.get(DEMOGRAPHICS)), height_cm="180")
    form.submit()
    again = form.submit()  # the same request, with the lock it was built with
    assert again.status_int == 303
    assert (
        len([e for e in events(dbsession, "entry.value_changed") if e.field == "I.HEIGHT_CM"]) == 1
    )


def test_a_log_form_gets_rows_that_are_removed_with_a_reason(coordinator, dbsession):
    visit = coordinator.get(SUBJECT + "unscheduled-1/", status=404)  # not added yet
    page = coordinator.get(SUBJECT)
    form = page.forms["add-visit-form"]
    form["visit"] = "unscheduled"
    visit = form.submit().follow()
    assert "Unscheduled visit 1" in visit.text
    row = visit.forms[next(k for k, f in visit.forms.items() if "form" in f.fields)].submit()
    assert row.location.endswith("/unscheduled-1/adverse_events-1/")
    entry = fill(
        entry_form(row.follow()), ae_term="Headache", ae_start="01/02/2026", ae_serious="0"
    )
    entry.submit()
    row_page = coordinator.get(SUBJECT + "unscheduled-1/adverse_events-1/")
    refused = row_page.forms["remove-form"].submit(status=422)
    assert "Give the reason for removing this row." in refused.text
    form = refused.forms["remove-form"]
    form["remove-reason"] = "Entered for the wrong subject"
    form.submit()
    instance = instance_of(dbsession, "adverse_events")
    assert instance.status is FormStatus.REMOVED
    assert instance.status_reason == "Entered for the wrong subject"
    assert values_of(dbsession, form="adverse_events")["I.AE_TERM"].value == "Headache"
    assert "0 rows" in coordinator.get(SUBJECT + "unscheduled-1/").text


def test_personal_items_are_masked_for_roles_without_access(testapp, world, dbsession):
    login(testapp, world.users["sponsor_viewer"].email)
    page = testapp.get(DEMOGRAPHICS)
    masked = page.html.find(id="block-I.INITIALS")
    assert "not shown to your role" in masked.text and masked.find("input") is None
    assert page.html.find(id="item-height_cm").has_attr("readonly")
    assert "entry-form" in page.forms and not page.html.select("#entry-form button")


def test_evaluation_while_typing_answers_out_of_band(coordinator):
    token = csrf_token(coordinator)
    response = coordinator.post(
        DEMOGRAPHICS + "@@evaluate",
        {
            "sex": "2",
            "height_cm": "180",
            "weight_kg": "72.5",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert not response.html.find_all(["input", "select", "textarea"])
    assert response.html.find(id="item-bmi").text.strip() == "22.4"
    assert '"block-I.PREGNANT"' in response.headers["HX-Trigger"]


def test_saving_into_another_site_is_not_found(coordinator):
    token = csrf_token(coordinator)
    coordinator.post(
        "/acme/demo/subjects/ber01-0001/screening/demographics/@@save",
        {"height_cm": "180", "csrf_token": token},
        status=404,
    )


# --- the dashboard ----------------------------------------------------------------------------


def test_the_dashboard_shows_each_form_status_and_filters(coordinator, dbsession, world):
    fill(entry_form(coordinator.get(DEMOGRAPHICS)), height_cm="180").submit()
    page = coordinator.get("/acme/demo/subjects/@@dashboard")
    headers = [th.text.strip() for th in page.html.select("thead tr:nth-of-type(1) th")]
    assert headers == ["Subject", "Screening", "Baseline", "Week 4"]
    row = page.html.select_one("tbody tr")
    assert row.th.a.text == "par01-0001" and "In progress" in row.text
    assert len(page.html.select("tbody tr")) == 1  # her site only
    complete = coordinator.get("/acme/demo/subjects/@@dashboard", {"form_status": "complete"})
    assert complete.html.select("tbody tr") == []


def test_the_dashboard_costs_the_same_queries_for_100_subjects(
    coordinator, dbsession, world, query_counter
):
    from tests.factories import make_subject

    coordinator.get("/acme/demo/subjects/@@dashboard")
    query_counter.clear()
    coordinator.get("/acme/demo/subjects/@@dashboard")
    few = len(query_counter)
    for number in range(2, 120):
        make_subject(dbsession, world.sites["par01"], f"par01-{number:04d}")
    dbsession.flush()
    query_counter.clear()
    page = coordinator.get("/acme/demo/subjects/@@dashboard")
    assert len(page.html.select("tbody tr")) == 100
    assert len(query_counter) == few


def test_the_form_page_costs_a_fixed_number_of_queries(coordinator, query_counter):
    fill(entry_form(coordinator.get(DEMOGRAPHICS)), height_cm="180", weight_kg="72.5").submit()
    query_counter.clear()
    coordinator.get(DEMOGRAPHICS)
    # the session with its user and roles, the path, values, query counts: 4, whatever the form
    # holds (+1 when its expressions read other forms' values); a form never signed has no
    # signatures to read.
    assert len(query_counter) <= 4, "\n".join(query_counter)
    assert not [s for s in query_counter if "FROM signature" in s]


# --- any input --------------------------------------------------------------------------------

NAMES = [
    "initials",
    "birth_date",
    "sex",
    "pregnant",
    "height_cm",
    "weight_kg",
    "bmi",
    "missing-height_cm",
    "missing-sex",
    "complete",
    "reason",
    "lock",
    "unknown_item",
]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payload=st.dictionaries(
        st.sampled_from(NAMES),
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                ["1", "2", "NK", "31/02/2026", "1e999", "NaN", "-0", "180", "72.5", "<b>x</b>"]
            ),
        ),
        max_size=10,
    )
)
def test_any_payload_is_answered_without_error_and_a_refusal_changes_nothing(
    coordinator, dbsession, payload
):
    before = {oid: (row.value, row.missing_code) for oid, row in values_of(dbsession).items()}
    payload = {**payload, "csrf_token": csrf_token(coordinator)}
    response = coordinator.post(DEMOGRAPHICS + "@@save", payload, status="*")
    assert response.status_int < 500, response.text[:300]
    if response.status_int >= 400:
        after = {oid: (row.value, row.missing_code) for oid, row in values_of(dbsession).items()}
        assert after == before


def test_audit_trail_still_verifies_after_entry(coordinator, dbsession, world):
    from datacapt import audit

    fill(entry_form(coordinator.get(DEMOGRAPHICS)), height_cm="180").submit()
    fill(entry_form(coordinator.get(DEMOGRAPHICS)), height_cm="181").submit()
    reports = list(audit.verify_all(dbsession, world.tenant.id))
    in_tenant = select(func.count()).where(AuditEvent.tenant_id == world.tenant.id)
    assert all(report.intact for report in reports)
    assert sum(r.count for r in reports) == dbsession.scalar(in_tenant.select_from(AuditEvent))
    subject = world.subjects["par01-0001"]
    assert {"subject:" + str(subject.id), "study:" + str(world.study.id)} <= {
        r.chain for r in reports
    }


@pytest.mark.parametrize(
    "pattern", ["{site}-{seq:0999999999}", "{site:>999999999}-{seq}", "{site}-{seq!r}", "{site}-{}"]
)
def test_an_id_pattern_that_would_format_a_huge_text_is_refused(testapp, world, pattern):
    login(testapp, world.users["study_admin"].email)
    form = testapp.get("/acme/demo/@@settings").forms["settings-form"]
    form["subject_id_pattern"] = pattern
    refused = form.submit(status=422)
    assert "Use {site} and {seq}" in refused.text


def test_study_settings_change_the_id_pattern_and_the_missing_codes(testapp, world, dbsession):
    login(testapp, world.users["study_admin"].email)
    form = testapp.get("/acme/demo/@@settings").forms["settings-form"]
    form["subject_id_pattern"] = "{site}{nope}"
    form["missing_codes"] = "NK, Not known\nnk, lower"
    refused = form.submit(status=422)
    assert "Use {site} and {seq}" in refused.text and "Line 2" in refused.text
    form = refused.forms["settings-form"]
    form["subject_id_pattern"] = "P-{site}-{seq:03}"
    form["missing_codes"] = "NK, Not known\nUNK, Unknown"
    form.submit()
    dbsession.expire_all()
    assert world.study.missing_codes == [["NK", "Not known"], ["UNK", "Unknown"]]
    assert events(dbsession, "study.settings_changed")[-1].actor_id == world.users["study_admin"].id
    testapp.reset()
    login(testapp, world.users["coordinator"].email)
    enrolled = testapp.get("/acme/demo/subjects/@@enrol").forms["enrol-form"].submit()
    assert enrolled.location.endswith("/subjects/P-par01-001/")
    codes = testapp.get(DEMOGRAPHICS).html.find(id="field-missing-height_cm")
    assert [o["value"] for o in codes.find_all("option")] == ["", "NK", "UNK"]


def test_number_fields_ask_phones_for_a_numeric_keypad(coordinator):
    page = coordinator.get(DEMOGRAPHICS)
    assert page.html.find(id="item-height_cm")["inputmode"] == "numeric"  # a whole number
    assert page.html.find(id="item-weight_kg")["inputmode"] == "decimal"
    assert not page.html.find(id="item-initials").has_attr("inputmode")
    toggle = page.html.select_one("header .menu-toggle")
    assert toggle["aria-expanded"] == "false"
    assert page.html.find(id=toggle["aria-controls"]).select_one("details.user-menu")


def test_a_read_only_form_shows_the_chosen_answers_as_text(coordinator, testapp, world):
    fill(entry_form(coordinator.get(DEMOGRAPHICS)), sex="1", height_cm="180").submit()
    monitor = another(testapp.app, world, "monitor")
    page = monitor.get(DEMOGRAPHICS)
    sex = page.html.find(id="block-I.SEX")
    assert sex.select_one(".readonly-value").text == "Male"
    assert sex.find("input", type="radio") is None  # no faint disabled radio to decipher
    pregnant = page.html.find(id="block-I.PREGNANT").select_one(".readonly-value")
    assert pregnant.select_one(".visually-hidden").text == "No answer"
    assert page.html.find(id="item-height_cm")["value"] == "180"
    # the same page for the site, who may still enter: the choices
    entry = coordinator.get(DEMOGRAPHICS).html.find(id="block-I.SEX")
    assert entry.select_one(".readonly-value") is None
    assert [i["value"] for i in entry.select("input[type=radio]")] == ["1", "2", ""]
