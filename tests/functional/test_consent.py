"""eConsent through the pages people use: documents (drafts, immutable live versions), the
subject's flow in person and remote, the investigator's countersignature, the final PDF (its
text and hashes), re-consent, withdrawal, the dashboard and who may do what."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from datacapt.consent import documents, services
from datacapt.consent.events import ConsentWithdrawn
from datacapt.epro import services as epro
from datacapt.models import (
    AuditEvent,
    ConsentRecord,
    ConsentSettings,
    ConsentStatus,
    ConsentVersion,
    EproOccurrence,
    IdentityMethod,
    OccurrenceStatus,
    PiiAccess,
    Subject,
)
from datacapt.models.consent import VersionState
from datacapt.subjects import contacts
from tests.factories import SETUP, build_world, login, publish_consent

TEXT = """Intro paragraph <script>alert(1)</script> with **bold**.

## Why this study
We test a new treatment. <img src="https://evil.example/x.png" onerror="x()">

## Risks
You may feel tired.
"""
QUESTIONS = """Can you stop at any time?
- No
* Yes
? You may withdraw whenever you wish, without giving a reason.
"""


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def live_version(dbsession, world, *, text=TEXT, questions=QUESTIONS, site_ids=None):
    return publish_consent(
        dbsession,
        world.study,
        list(world.sites.values()),
        title="Main consent",
        text=text,
        questions=questions,
        site_ids=site_ids,
    )


def start_in_person(testapp, version, label="par01-0001"):
    page = testapp.get(f"/acme/demo/subjects/{label}/@@consent")
    form = page.forms["consent-start-form"]
    form["version"] = str(version.id)
    form["identity_confirmed"].checked = True
    return form.submit().follow()  # the first section, on this device


def walk_to_sign(testapp, first_page):
    page = first_page
    while "read-form" in page.forms:
        page = page.forms["read-form"].submit().follow()
    assert "quiz-form" in page.forms
    quiz = page.forms["quiz-form"]
    quiz["q0"] = "0"  # wrong
    wrong = quiz.submit(status=422)
    assert "without giving a reason" in wrong.text
    quiz = wrong.forms["quiz-form"]
    quiz["q0"] = "1"
    review = quiz.submit().follow()
    shown = review.html.find(id="document-hash").text.strip()
    return review, shown


def sign(page, name="Ada Lovelace", status=303, **extra):
    form = page.forms["sign-form"]
    form["printed_name"] = name
    form["agreed"].checked = True
    for key, value in extra.items():
        form[key] = value
    return form.submit(status=status)


# --- documents ---------------------------------------------------------------------------------


def test_text_is_sanitised_and_split_in_sections(dbsession, world):
    version = live_version(dbsession, world)
    sections = version.content["en"]["sections"]
    assert [s["title"] for s in sections] == ["", "Why this study", "Risks"]
    html = "".join(s["html"] for s in sections)
    assert "<script" not in html and "<img" not in html and "onerror" not in html
    assert "<strong>bold</strong>" in html
    assert version.content["en"]["questions"][0]["answer"] == 1


def test_study_admin_writes_a_draft_and_makes_it_live_audited(testapp, dbsession, world):
    login(testapp, "study-admin@example.org")
    page = testapp.get("/acme/demo/consent/@@documents")
    form = page.forms["document-form"]
    form["title"] = "Main consent"
    page = form.submit().follow()
    form = page.forms["version-form"]
    form["text"] = TEXT
    form["questions"] = QUESTIONS
    page = form.submit().follow()
    refused = page.forms["publish-form"].submit(status=422)
    assert "ethics approval date before going live" in refused.text
    form = refused.forms["version-form"]
    form["ethics_approved_on"] = "2026-11-20"
    form["questions"] = "Broken question\n- only one"
    refused = form.submit(status=422)
    assert "at least two choices" in refused.text
    form = refused.forms["version-form"]
    form["questions"] = QUESTIONS
    page = form.submit().follow()
    page = page.forms["publish-form"].submit().follow()
    assert "new-version-form" in page.forms and "version-form" not in page.forms
    version = dbsession.scalar(select(ConsentVersion))
    assert version.state is VersionState.LIVE
    actions = dbsession.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_type == "consent_version")
    ).all()
    assert actions == [
        "consent.document_created",
        "consent.draft_saved",
        "consent.draft_saved",
        "consent.version_live",
    ]
    # a live version takes no change through the page either
    testapp.post(
        f"/acme/demo/consent/versions/{version.id}/@@save",
        {"csrf_token": page.forms["new-version-form"]["csrf_token"].value, "language": "en"},
        status=409,
    )


def test_a_live_version_is_immutable_in_the_service_and_the_database(dbsession, world):
    version = live_version(dbsession, world)
    with pytest.raises(documents.Frozen):
        documents.save_draft(
            dbsession,
            SETUP,
            version,
            language="en",
            languages=["en"],
            title="x",
            text="x",
            questions="",
            number="9",
            version_date="2026-01-01",
            ethics_approved_on="",
            site_ids=None,
            study_sites=[],
        )
    for statement in (
        "UPDATE consent_version SET number = '7' WHERE id = :id",
        "UPDATE consent_version SET content = '{}' WHERE id = :id",
        "DELETE FROM consent_version WHERE id = :id",
    ):
        with pytest.raises((DBAPIError, IntegrityError)), dbsession.begin_nested():
            dbsession.execute(text(statement), {"id": version.id})
    # superseding stays possible
    dbsession.execute(
        text("UPDATE consent_version SET state = 'superseded' WHERE id = :id"), {"id": version.id}
    )


# --- the flow in person, countersignature, PDF -----------------------------------------------


def test_in_person_flow_countersigned_with_pdf_and_hashes(
    testapp, dbsession, world, registry, mailbox, tmp_path
):
    subject = world.subjects["par01-0001"]
    contacts.seal(registry, subject, contacts.Contact(email="ada@example.org"), dbsession)
    version = live_version(dbsession, world)
    login(testapp, "coordinator@example.org")
    first = start_in_person(testapp, version)
    assert "Section 1 of 3" in first.text
    review, shown = walk_to_sign(testapp, first)
    page = review.forms["review-form"].submit().follow()
    refused = sign(page, name="", status=422)
    assert refused.status_int == 422 and "Write the name in full" in refused.text
    done = sign(refused, witness_name="Will Witness").follow()
    assert "Your signature is recorded" in done.text
    record = dbsession.scalar(select(ConsentRecord))
    assert record.status is ConsentStatus.NEEDS_COUNTERSIGNATURE
    assert record.document_hash == shown
    assert hashlib.sha256(record.document_html.encode()).hexdigest() == shown
    assert record.signer_name == "Ada Lovelace" and record.witness_name == "Will Witness"
    assert record.meaning == "I consent to take part in this study."
    assert record.signed_local.endswith("+00:00") and record.signed_timezone == "UTC"
    event = dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "consent.signed_by_subject")
    )
    assert "Ada" not in (event.new_value or "") and event.by_subject_id == subject.id

    # a coordinator cannot countersign; the investigator must give the right password
    testapp.post(
        f"/acme/demo/consent/records/{record.id}/@@countersign",
        {"csrf_token": done.html.find("body")["hx-headers"].split('"')[3], "password": "x"},
        status=403,
    )
    testapp.reset()
    login(testapp, "investigator@example.org")
    page = testapp.get(f"/acme/demo/consent/records/{record.id}/")
    form = page.forms["countersign-form"]
    form["password"] = "wrong"
    assert "This is not your password" in form.submit(status=422).text
    form["password"] = "correct horse battery staple"
    page = form.submit().follow()
    dbsession.expire_all()
    record = dbsession.get(ConsentRecord, record.id)
    assert record.status is ConsentStatus.SIGNED and record.countersigner_name
    assert hashlib.sha256(record.pdf).hexdigest() == record.pdf_hash
    assert record.pdf.startswith(b"%PDF")

    pdf = testapp.get(f"/acme/demo/consent/records/{record.id}/@@pdf")
    assert pdf.body == record.pdf and pdf.headers["X-Content-SHA256"] == record.pdf_hash
    path = tmp_path / "consent.pdf"
    path.write_bytes(pdf.body)
    metadata = subprocess.run(
        ["pdfinfo", "-meta", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert 'pdfaid:part="2"' in metadata or "<pdfaid:part>2</pdfaid:part>" in metadata  # PDF/A-2b
    words = " ".join(
        subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    for expected in (
        "We test a new treatment.",
        "You may feel tired.",
        "Can you stop at any time?",
        "Ada Lovelace",
        "Will Witness",
        "I consent to take part in this study.",
        "Audit certificate",
        "consent.countersigned",
    ):
        assert expected in words, expected
    assert "alert(1)" not in words
    assert record.document_hash[:32] in words.replace(" ", "")
    (mail,) = mailbox.messages()
    assert mail["To"] == "ada@example.org"
    body = mail.get_body(("plain",)).get_content()
    assert "Ada" not in body and "par01" not in body and "treatment" not in body
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content() == record.pdf


def test_rejection_needs_a_reason_and_publishes_an_event(testapp, dbsession, world, registry):
    version = live_version(dbsession, world)
    record, _token = services.start(
        dbsession,
        registry,
        SETUP.as_user(world.users["coordinator"].id),
        world.subjects["par01-0001"],
        version,
        method=IdentityMethod.IN_PERSON,
        language="en",
        identity_confirmed=True,
        birth_date="",
    )
    record.status = ConsentStatus.NEEDS_COUNTERSIGNATURE
    dbsession.flush()
    login(testapp, "investigator@example.org")
    page = testapp.get(f"/acme/demo/consent/records/{record.id}/")
    assert "reject-form" in page.forms
    assert page.forms["reject-form"].submit(status=422)
    form = page.forms["reject-form"]
    form["reason"] = "Signed on the wrong version"
    form.submit().follow()
    dbsession.expire_all()
    assert dbsession.get(ConsentRecord, record.id).status is ConsentStatus.REJECTED


def test_in_person_requires_the_staff_to_confirm_identity(testapp, dbsession, world):
    version = live_version(dbsession, world)
    login(testapp, "coordinator@example.org")
    form = testapp.get("/acme/demo/subjects/par01-0001/@@consent").forms["consent-start-form"]
    form["version"] = str(version.id)
    assert "Confirm that you checked" in form.submit(status=422).text
    assert dbsession.scalar(select(ConsentRecord)) is None


def test_other_site_and_wrong_roles_are_refused(testapp, dbsession, world, registry):
    version = live_version(dbsession, world)
    record, _token = services.start(
        dbsession,
        registry,
        SETUP,
        world.subjects["ber01-0001"],
        version,
        method=IdentityMethod.IN_PERSON,
        language="en",
        identity_confirmed=True,
        birth_date="",
    )
    dbsession.flush()
    login(testapp, "coordinator@example.org")  # par01 only
    testapp.get(f"/acme/demo/consent/records/{record.id}/", status=404)
    testapp.get(f"/acme/demo/consent/records/{record.id}/@@read", status=404)
    testapp.get("/acme/demo/subjects/ber01-0001/@@consent", status=404)
    testapp.reset()
    login(testapp, "monitor@example.org")  # sees every site, enrols nobody
    testapp.get(f"/acme/demo/consent/records/{record.id}/")
    testapp.get(f"/acme/demo/consent/records/{record.id}/@@read", status=403)
    testapp.get("/acme/demo/consent/@@documents", status=403)
    testapp.reset()
    login(testapp, "study-admin@example.org")
    testapp.get(f"/acme/demo/consent/records/{record.id}/", status=404)


# --- remote: a link's session alone never signs -------------------------------------------------


def remote_start(testapp, dbsession, world, registry, version, contact=None):
    dbsession.add(
        ConsentSettings(
            study_id=world.study.id,
            tenant_id=world.study.tenant_id,
            identity_method=IdentityMethod.REMOTE,
            block_entry=False,
        )
    )
    subject = world.subjects["par01-0001"]
    contact = contact or contacts.Contact(email="rem@example.org")
    contacts.seal(registry, subject, contact, dbsession)
    dbsession.flush()
    login(testapp, "coordinator@example.org")
    form = testapp.get("/acme/demo/subjects/par01-0001/@@consent").forms["consent-start-form"]
    form["version"] = str(version.id)
    form["birth_date"] = "1980-02-29"
    page = form.submit()
    url = page.html.find(id="handed-url")["value"]
    testapp.reset()
    return url


def test_remote_flow_needs_the_code_and_birth_date_in_the_same_session(
    testapp, dbsession, world, registry, mailbox
):
    version = live_version(dbsession, world)
    url = remote_start(testapp, dbsession, world, registry, version)
    (invitation,) = mailbox.messages()
    assert url in invitation.get_content() and "par01" not in invitation.get_content()
    token = url.rsplit("/", 1)[1]
    consents = testapp.get(f"/p/@@consent-start/{token}").forms["start-form"].submit().follow()
    record = dbsession.scalar(select(ConsentRecord))
    overview = testapp.get(f"/p/s/consent/{record.id}/")
    first = testapp.get(overview.html.find(id="begin")["href"])
    review, shown = walk_to_sign(testapp, first)
    identity = review.forms["review-form"].submit().follow()
    assert "identity" in identity.request.path
    # the magic-link session alone cannot sign
    csrf = identity.forms["code-form"]["csrf_token"].value
    assert testapp.get(f"/p/s/consent/{record.id}/@@sign", status=303).location.endswith(
        "@@identity"
    )
    testapp.post(
        f"/p/s/consent/{record.id}/@@sign",
        {"csrf_token": csrf, "printed_name": "Rem", "agreed": "1"},
        status=404,  # the subjects' area answers every refusal alike
    )
    dbsession.expire_all()
    assert dbsession.get(ConsentRecord, record.id).signed_at is None
    page = identity.forms["code-form"].submit()
    code = re.search(r"\b(\d{6})\b", mailbox.messages()[-1].get_content()).group(1)
    form = page.forms["identity-form"]
    form["code"] = code
    form["birth_date"] = "1980-03-01"
    refused = form.submit(status=422)
    assert "not right" in refused.text
    form = refused.forms["identity-form"]
    form["code"] = code
    form["birth_date"] = "1980-02-29"
    page = form.submit().follow()
    done = sign(page, name="Rem Ote").follow()
    assert "recorded" in done.text
    dbsession.expire_all()
    record = dbsession.get(ConsentRecord, record.id)
    assert record.status is ConsentStatus.NEEDS_COUNTERSIGNATURE
    assert record.document_hash == shown and record.identity_session_id is not None
    assert consents.status_int == 200


def test_the_code_goes_by_text_message_to_a_subject_who_prefers_them(
    testapp, dbsession, world, registry, mailbox, sms_folder
):
    version = live_version(dbsession, world)
    preferred = contacts.Contact(email="rem@example.org", phone="+33 6 11 22 33 44", channel="sms")
    url = remote_start(testapp, dbsession, world, registry, version, preferred)
    token = url.rsplit("/", 1)[1]
    testapp.get(f"/p/@@consent-start/{token}").forms["start-form"].submit().follow()
    record = dbsession.scalar(select(ConsentRecord))
    overview = testapp.get(f"/p/s/consent/{record.id}/")
    review, _shown = walk_to_sign(testapp, testapp.get(overview.html.find(id="begin")["href"]))
    identity = review.forms["review-form"].submit().follow()
    identity.forms["code-form"].submit()
    [sent] = [json.loads(path.read_text(encoding="utf-8")) for path in sms_folder.iterdir()]
    assert sent["to"] == "+33 6 11 22 33 44"
    assert re.fullmatch(r"Your code: \d{6}", sent["body"])  # nothing but the code
    assert len(mailbox.messages()) == 1  # the link's mail only, no code by mail
    dbsession.expire_all()
    reads = dbsession.scalars(select(PiiAccess).where(PiiAccess.purpose == "consent")).all()
    assert reads and all(read.subject_id == record.subject_id for read in reads)


def test_a_staff_session_cannot_use_the_remote_flow_nor_a_subject_the_in_person_one(
    testapp, dbsession, world, registry
):
    version = live_version(dbsession, world)
    record, token = services.start(
        dbsession,
        registry,
        SETUP,
        world.subjects["par01-0001"],
        version,
        method=IdentityMethod.IN_PERSON,
        language="en",
        identity_confirmed=True,
        birth_date="",
    )
    assert token is None
    record.progress = {"read": 3, "answered": True, "reviewed": "x"}
    dbsession.flush()
    assert not services.may_sign(record, staff=False, subject_session_id=5)
    assert services.may_sign(record, staff=True, subject_session_id=None)
    remote, token = services.start(
        dbsession,
        registry,
        SETUP,
        world.subjects["par01-0001"],
        version,
        method=IdentityMethod.REMOTE,
        language="en",
        identity_confirmed=False,
        birth_date="1990-01-01",
    )
    assert token and not services.may_sign(remote, staff=True, subject_session_id=None)
    assert b"1990" not in (remote.birth_sealed or b"")


# --- re-consent, the entry guard, withdrawal -----------------------------------------------------


def signed_record(dbsession, registry, world, version, label="par01-0001"):
    record, _token = services.start(
        dbsession,
        registry,
        SETUP,
        world.subjects[label],
        version,
        method=IdentityMethod.IN_PERSON,
        language="en",
        identity_confirmed=True,
        birth_date="",
    )
    record.status = ConsentStatus.SIGNED
    dbsession.flush()
    return record


def test_a_new_version_requires_re_consent_and_may_block_entry(testapp, dbsession, world, registry):
    version = live_version(dbsession, world)
    record = signed_record(dbsession, registry, world, version)
    other = signed_record(dbsession, registry, world, version, "ber01-0001")
    draft = documents.new_version(dbsession, SETUP, version)
    draft.site_ids = [world.sites["par01"].id]
    draft.ethics_approved_on = date(2026, 12, 1)
    assert documents.publish(dbsession, SETUP, draft) == 1
    dbsession.flush()
    dbsession.expire_all()
    assert dbsession.get(ConsentRecord, record.id).requires_reconsent
    assert not dbsession.get(ConsentRecord, other.id).requires_reconsent
    assert dbsession.get(ConsentVersion, version.id).state is VersionState.SUPERSEDED
    assert services.status_of(dbsession.get(ConsentRecord, record.id)) == "requires_reconsent"

    login(testapp, "coordinator@example.org")
    url = "/acme/demo/subjects/par01-0001/screening/demographics/"
    page = testapp.get(url)
    form = page.forms["entry-form"] if "entry-form" in page.forms else page.forms[0]
    form.submit(status=303)  # not blocked: the study does not ask for it
    dbsession.add(
        ConsentSettings(
            study_id=world.study.id,
            tenant_id=world.study.tenant_id,
            identity_method=IdentityMethod.IN_PERSON,
            block_entry=True,
        )
    )
    dbsession.flush()
    blocked = testapp.get(url).forms[form.id].submit(status=403)
    assert "consent to the new version" in blocked.text


def test_withdrawal_stops_epro_keeps_data_and_publishes(testapp, dbsession, world, registry):
    from datacapt.cli.demo_design import epro_definition
    from datacapt.ecrf.versions import draft, published_design
    from tests.factories import publish_definition

    publish_definition(
        dbsession, world.study, draft(dbsession, world.study), epro_definition(), "ePRO"
    )
    version = live_version(dbsession, world)
    record = signed_record(dbsession, registry, world, version)
    now = datetime.now(UTC)
    occurrence = epro.schedule_occurrence(
        dbsession,
        world.subjects["par01-0001"],
        published_design(dbsession, world.study).definition,
        visit="baseline",
        form="wellbeing",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=7),
        actor=SETUP,
    )
    handed = epro.hand_link(dbsession, world.subjects["par01-0001"], SETUP)
    seen = []
    registry["datacapt.reactions"].add(ConsentWithdrawn, seen.append, order=99)
    try:
        login(testapp, "coordinator@example.org")
        page = testapp.get(f"/acme/demo/consent/records/{record.id}/")
        form = page.forms["withdraw-form"]
        form["withdrawn_on"] = (date.today() + timedelta(days=5)).isoformat()
        assert "future" in form.submit(status=422).text
        form["withdrawn_on"] = date.today().isoformat()
        form.get("scope", index=1).checked = True  # follow-up
        form.get("scope", index=2).checked = True  # all further data
        form.submit().follow()
    finally:
        registry["datacapt.reactions"]._by_type[ConsentWithdrawn] = [
            entry
            for entry in registry["datacapt.reactions"]._by_type[ConsentWithdrawn]
            if entry[2] is not seen.append
        ]
    dbsession.expire_all()
    record = dbsession.get(ConsentRecord, record.id)
    assert record.withdrawal_scope == ["follow_up", "further_data"]
    assert [event.scope for event in seen] == [("follow_up", "further_data")]
    assert dbsession.get(EproOccurrence, occurrence.id).status is OccurrenceStatus.MISSED
    testapp.reset()
    testapp.get(f"/p/@@start/{handed.token}", status=404)  # the ePRO link is void
    # every write path (pages, questionnaires, API, imports) asks the same guard first
    from datacapt.entry import services as entry
    from datacapt.reactions import reactions_of

    with pytest.raises(entry.EntryBlocked) as blocked:
        entry.check_entry_allowed(
            dbsession, world.subjects["par01-0001"], SETUP, reactions_of(registry)
        )
    assert "withdrew consent to further data" in str(blocked.value.refusals[0])
    entry.check_entry_allowed(
        dbsession, world.subjects["ber01-0001"], SETUP, reactions_of(registry)
    )


def hold_of(dbsession, label="par01-0001"):
    dbsession.expire_all()
    return dbsession.scalar(select(Subject.consent_hold).where(Subject.label == label))


def awaiting_countersignature(dbsession, registry, world, version, label="par01-0001"):
    record = signed_record(dbsession, registry, world, version, label)
    record.status = ConsentStatus.NEEDS_COUNTERSIGNATURE
    record.signer_name, record.meaning = "Ada", "I consent to take part in this study."
    record.signed_at = datetime.now(UTC)
    record.document_html = "<article>Text</article>"
    record.document_hash = hashlib.sha256(record.document_html.encode()).hexdigest()
    dbsession.flush()
    return record


def test_the_consent_hold_follows_every_path_and_a_save_reads_no_consent_record(
    testapp, dbsession, world, registry, query_counter
):
    """The subject's hold is what the guard reads: a new version requiring re-consent sets it
    (for the subjects it covers), a countersignature on the new version clears it, a withdrawal
    from further data sets it over everything, a withdrawal from other data does not; a save
    reads no consent record, and the consent settings only of a subject asked to re-consent."""
    version = live_version(dbsession, world)
    record = signed_record(dbsession, registry, world, version)
    other = signed_record(dbsession, registry, world, version, "ber01-0001")
    assert hold_of(dbsession) is None and hold_of(dbsession, "ber01-0001") is None
    login(testapp, "coordinator@example.org")
    url = "/acme/demo/subjects/par01-0001/screening/demographics/"

    def save(height: int) -> list[str]:
        """The statements about consent of a save that goes through."""
        form = testapp.get(url).forms["entry-form"]
        form["height_cm"] = str(height)
        query_counter.clear()
        form.submit(status=303)
        return [statement for statement in query_counter if "FROM consent" in statement]

    assert save(150) == []
    draft = documents.new_version(dbsession, SETUP, version)
    draft.site_ids = [world.sites["par01"].id]
    draft.ethics_approved_on = date(2026, 12, 1)
    assert documents.publish(dbsession, SETUP, draft) == 1
    dbsession.flush()
    assert hold_of(dbsession) == "reconsent" and hold_of(dbsession, "ber01-0001") is None
    [settings_read] = save(151)  # the study does not hold entry for re-consent
    assert "consent_settings" in settings_read and "consent_record" not in settings_read
    dbsession.add(
        ConsentSettings(
            study_id=world.study.id,
            tenant_id=world.study.tenant_id,
            identity_method=IdentityMethod.IN_PERSON,
            block_entry=True,
        )
    )
    dbsession.flush()
    assert "consent to the new version" in testapp.get(url).forms["entry-form"].submit(status=403)
    again = awaiting_countersignature(dbsession, registry, world, dbsession.merge(draft))
    services.countersign(
        dbsession, SETUP, again, signer_name="I", meaning="m", render_pdf=lambda *_: b"%PDF"
    )
    dbsession.flush()
    assert not dbsession.get(ConsentRecord, record.id).requires_reconsent
    assert hold_of(dbsession) is None
    assert save(152) == []
    today = date.today()
    for withdrawn, scope in ((other, ["samples"]), (again, ["follow_up", "further_data"])):
        services.withdraw(
            dbsession, SETUP, withdrawn, on=today.isoformat(), scope=scope, reason="", today=today
        )
        dbsession.flush()
    assert hold_of(dbsession, "ber01-0001") is None and hold_of(dbsession) == "withdrawn"
    refused = testapp.get(url).forms["entry-form"].submit(status=403)
    assert "withdrew consent to further data" in refused.text


# --- the dashboard ---------------------------------------------------------------------------


def test_dashboard_counts_per_site_and_hides_names_without_pii(
    testapp, dbsession, world, registry, query_counter
):
    version = live_version(dbsession, world)
    for label in ("par01-0001", "ber01-0001"):
        record = signed_record(dbsession, registry, world, version, label)
        record.signer_name = f"Name {label}"
    dbsession.flush()
    login(testapp, "coordinator@example.org")
    page = testapp.get("/acme/demo/consent/")
    assert "Name par01-0001" in page.text and "ber01-0001" not in page.text
    testapp.reset()
    login(testapp, "monitor@example.org")  # every site, no personal data
    page = testapp.get("/acme/demo/consent/")
    assert "par01-0001" in page.text and "ber01-0001" in page.text
    assert "Name " not in page.text and "hidden" in page.text
    counts = page.html.find(id="consent-counts").text
    assert "par01" in counts and "ber01" in counts
    query_counter.clear()
    testapp.get("/acme/demo/consent/")
    few = len(query_counter)
    for n in range(2, 6):
        subject = world.subjects["par01-0001"]
        signed_record(dbsession, registry, world, version).signer_name = f"x{n}"
    dbsession.flush()
    query_counter.clear()
    testapp.get("/acme/demo/consent/")
    assert len(query_counter) == few, subject


def test_countersigning_with_two_factor_takes_the_code_and_publishes_consent_signed(
    testapp, dbsession, world, registry
):
    import time

    import pyotp

    from datacapt.consent.events import ConsentSigned
    from datacapt.signin import two_factor

    investigator = world.users["investigator"]
    secret = two_factor.start_enrolment(dbsession, registry, investigator)
    two_factor.confirm_enrolment(
        dbsession, registry, investigator, pyotp.TOTP(secret).at(time.time() - 30)
    )
    version = live_version(dbsession, world)
    old = signed_record(dbsession, registry, world, version)
    old.requires_reconsent = True
    record = signed_record(dbsession, registry, world, version)
    record.status = ConsentStatus.NEEDS_COUNTERSIGNATURE
    record.signer_name, record.meaning = "Ada", "I consent to take part in this study."
    record.signed_at, record.signed_local, record.signed_timezone = (
        datetime.now(UTC),
        "2026-12-04T12:00:00+00:00",
        "UTC",
    )
    record.document_html = "<article>Text</article>"
    record.document_hash = hashlib.sha256(record.document_html.encode()).hexdigest()
    dbsession.flush()
    seen = []
    registry["datacapt.reactions"].add(ConsentSigned, seen.append, order=99)
    try:
        assert login(testapp, "investigator@example.org").location.endswith("/login-code")
        form = testapp.get("/login-code").forms["login-code-form"]
        form["code"] = pyotp.TOTP(secret).now()
        form.submit(status=303)
        form = testapp.get(f"/acme/demo/consent/records/{record.id}/").forms["countersign-form"]
        form["password"] = "correct horse battery staple"
        form["code"] = "000000"
        assert "This code is not valid" in form.submit(status=422).text
        form["code"] = pyotp.TOTP(secret).at(time.time() + 30)
        form.submit(status=303)
    finally:
        registry["datacapt.reactions"]._by_type[ConsentSigned] = [
            entry
            for entry in registry["datacapt.reactions"]._by_type[ConsentSigned]
            if entry[2] is not seen.append
        ]
    dbsession.expire_all()
    assert [event.record.id for event in seen] == [record.id]
    assert dbsession.get(ConsentRecord, record.id).status is ConsentStatus.SIGNED
    assert not dbsession.get(ConsentRecord, old.id).requires_reconsent  # consented again
    refused = dbsession.scalars(
        select(AuditEvent.action).where(AuditEvent.action == "consent.countersign_refused")
    ).all()
    assert refused == ["consent.countersign_refused"]
