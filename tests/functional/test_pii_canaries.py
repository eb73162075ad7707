"""Canaries: personal data planted in the subject repository and in a subject's sealed details,
then the repository's and the subjects' flows walked through, every export format run, every
log line captured and the whole audit table read. No canary may appear in an export, a log line
or an audit text."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import webtest
from sqlalchemy import select

from datacapt import jobs
from datacapt.exports.options import ExportFormat, ExportOptions
from datacapt.exports.services import ExportRefused, export
from datacapt.models import AccessBundle, AuditEvent, OutboxJob, PiiAccess, RetentionRun
from datacapt.repository import rights
from tests.factories import SETUP, login
from tests.functional.test_logs import log_lines  # noqa: F401  (fixture)
from tests.functional.test_repository import REPOSITORY, form_with, world  # noqa: F401

SUBJECT = "/acme/demo/subjects/par01-0001/"
FIRST, LAST = "Quorrabel", "Canarybeak"
EMAIL = "quorrabel.canarybeak@pii.example"
PHONE = "+33 6 55 44 33 22"
BIRTH = "1931-02-17"
IBAN = "FR7630006000011234567890189"
CONTACT_NAME = f"Vexlin Canarymoor {IBAN}"
CONTACT_EMAIL = "vexlin.canarymoor@pii.example"
CONTACT_PHONE = "+33 6 11 22 99 88"
INITIALS = "QVZX"
CANARIES = (
    FIRST,
    LAST,
    EMAIL,
    PHONE,
    "+33655443322",
    BIRTH,
    "17/02/1931",
    "17.02.1931",
    IBAN,
    "FR76 3000 6000 0112 3456 7890 189",
    "Vexlin",
    "Canarymoor",
    CONTACT_EMAIL,
    CONTACT_PHONE,
    INITIALS,
)


def _texts_of(path: Path) -> list[tuple[str, str]]:
    """Every text an export file holds: zip members opened, PDFs read by pdftotext."""
    found = []
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                data = archive.read(name)
                if name.endswith(".pdf"):
                    extracted = path.parent / "member.pdf"
                    extracted.write_bytes(data)
                    data = subprocess.run(
                        ["pdftotext", str(extracted), "-"], capture_output=True, check=True
                    ).stdout
                found.append((f"{path.name}:{name}", data.decode("utf-8", "replace")))
                found.append((f"{path.name}:{name}:latin-1", data.decode("latin-1")))
    else:
        data = path.read_bytes()
        found.append((path.name, data.decode("utf-8", "replace")))
    return found


def assert_no_canary(where: str, text: str) -> None:
    lowered = text.lower()
    for canary in CANARIES:
        assert canary.lower() not in lowered, f"{canary!r} found in {where}"


def test_no_canary_reaches_an_export_a_log_line_or_the_audit_trail(
    app,
    testapp,
    dbsession,
    world,  # noqa: F811
    log_lines,  # noqa: F811
    tmp_path,
):
    login(testapp, world.users["coordinator"].email)
    # the repository: registered, searched, read, changed, linked, bundled, erasure asked
    form = testapp.get(REPOSITORY + "@@register").forms["register-form"]
    form["site"] = str(world.sites["par01"].id)
    values = {"first_name": FIRST, "last_name": LAST, "birth_date": BIRTH, "email": EMAIL}
    for name, value in {**values, "phone": "+33 6 00 00 00 00"}.items():
        form[name] = value
    person_page = form.submit().follow()
    reference = person_page.request.path.rstrip("/").rsplit("/", 1)[-1]
    person = REPOSITORY + reference + "/"
    assert FIRST in testapp.get(REPOSITORY, {"q": f"{FIRST} {LAST}"}).text
    assert reference in testapp.get(REPOSITORY, {"q": EMAIL}).text
    assert PHONE not in testapp.get(person, {"purpose": "contact"}).text
    edit = testapp.get(person + "@@edit").forms["edit-form"]
    edit["phone"], edit["reason"] = PHONE, "New number given at the visit"
    edit.submit().follow()
    assert PHONE in testapp.get(person, {"purpose": "contact"}).text
    link = testapp.get(person).forms["link-form"]
    link["label"] = "par01-0001"
    link.submit().follow()
    testapp.get(person).forms["bundle-form"].submit().follow()
    bundle = dbsession.scalars(select(AccessBundle)).one()
    for job in dbsession.scalars(select(OutboxJob).where(OutboxJob.name == rights.BUNDLE_JOB)):
        jobs.execute(app.registry, job.id)  # the worker's part (nothing, if it ran already)
    dbsession.expire_all()
    page = testapp.get(person)
    next(f for f in page.forms.values() if f.action.endswith("@@release")).submit().follow()
    assert LAST in testapp.get(person + "@@bundle-file", {"id": bundle.id, "kind": "json"}).text
    testapp.get(person + "@@bundle-file", {"id": bundle.id, "kind": "pdf"})
    erasure = testapp.get(person).forms["erasure-form"]
    erasure["note"] = "Asked at the visit"
    erasure.submit().follow()

    # the subject: sealed contact details and a personal-data item
    contact = testapp.get(SUBJECT + "@@contact").forms["contact-form"]
    contact["contact-name"], contact["contact-email"] = CONTACT_NAME, CONTACT_EMAIL
    contact["contact-phone"] = CONTACT_PHONE
    contact.submit()
    assert "Vexlin" in testapp.get(SUBJECT + "@@contact").text
    entry = testapp.get(SUBJECT + "screening/demographics/").forms["entry-form"]
    entry["initials"] = INITIALS
    entry.submit()

    # the DPO: access log (page and CSV), decision, retention dry run
    dpo = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(dpo, world.users["dpo"].email)
    dpo.get(REPOSITORY + "@@access-log")
    assert_no_canary("the DPO's access-log CSV", dpo.get(REPOSITORY + "@@access-log.csv").text)
    decision = form_with(dpo.get(REPOSITORY + "@@erasure-requests"), "decision")
    decision["decision"], decision["reason"] = "refuse", "Enrolled: CTR Art. 58"
    decision.submit().follow()
    dpo.get(REPOSITORY + "@@retention").forms["retention-run"].submit("run", value="dry")

    # every export format, as the study's data is exported (no personal-data items)
    exported = 0
    for fmt in ExportFormat:
        target = tmp_path / f"export-{fmt.value}"
        try:
            export(dbsession, world.study, ExportOptions(format=fmt), target, actor=SETUP)
        except ExportRefused:
            continue
        exported += 1
        for where, text in _texts_of(target):
            assert_no_canary(f"the {fmt.value} export ({where})", text)
    assert exported >= len(ExportFormat) - 1

    # every log line
    lines = log_lines()
    assert len(lines) > 20
    for line in lines:
        assert_no_canary(f"a log line: {line}", line)

    # the whole audit table, every column
    events = dbsession.scalars(select(AuditEvent)).all()
    assert any(e.action == "person.changed" for e in events)
    assert any(e.action == "person.erasure_decided" for e in events)
    for event in events:
        text = " ".join(str(getattr(event, c.key)) for c in AuditEvent.__table__.columns)
        assert_no_canary(f"audit event {event.action}", text)
    # and the repository's own logs: the access log and the retention runs
    for row in dbsession.scalars(select(PiiAccess)):
        assert_no_canary("the access log", f"{row.actor} {row.action} {row.fields} {row.purpose}")
    for run in dbsession.scalars(select(RetentionRun)):
        assert_no_canary("a retention run", str(run.results))
