"""PDF casebooks as a data manager or an operator takes them, read back by an independent reader
(poppler's pdftotext, pdfinfo and pdffonts): every exported value as the form shows it, missing
codes with their label, queries with their thread, SDV states and signatures with their meaning;
personal data left out; the audit-trail option; the site option; PDF/A with embedded fonts."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import event, select

from datacapt.actor import Actor
from datacapt.cli.demo_design import demo_definition
from datacapt.ecrf.definition import ItemType, Validation, form_items, text_in
from datacapt.exports.options import ExportFormat, ExportOptions
from datacapt.exports.services import export
from datacapt.exports.subject_reads import read_subject
from datacapt.models import FormInstance, ItemValue, QueryStep, Subject
from datacapt.models.review import SignatureScope
from datacapt.queries import services as queries
from datacapt.review import services as review
from datacapt.review.services import SignTarget
from tests.factories import SETUP, add_queries
from tests.functional import test_exports as exports_tests
from tests.functional.test_exports import SUBJECT, TERM, add_adverse_event, run, signed_in

world = exports_tests.world
entered = exports_tests.entered

GERMAN_TERM = "Übelkeit, größere Müdigkeit"
POLISH_QUESTION = "Proszę sprawdzić wagę — źródło?"
MEANING = "I approve the data in this form."
PDFAID = "http://www.aiim.org/pdfa/ns/id/"


def casebooks(path: Path) -> dict[str, str]:
    """Zip entry → its text as ``pdftotext -layout`` reads it (pages split by form feeds)."""
    found = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".pdf"):
                found[name] = pdf_text(archive.read(name))
    return found


def pdf_text(content: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"],
        input=content,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")


def flat(text: str) -> str:
    """The text with every run of white space as one space (cells wrap over lines)."""
    return " ".join(text.split())


def shown(item, value: str) -> str:
    """How the form shows a stored value, worked out here from the design: codes with their
    label, dates in the item's order."""
    if item.type is ItemType.YES_NO:
        return {"1": "Yes", "0": "No"}[value] + f" ({value})"
    if item.type is ItemType.ACKNOWLEDGEMENT:
        return f"I acknowledge ({value})"
    if item.choices:
        labels = {c.code: text_in(c.label, "en", "en") for c in item.choices}
        return f"{labels[value]} ({value})"
    if item.validation is Validation.DATE:
        year, month, day = value.split("-")
        return f"{day}/{month}/{year}"
    return value


def subject_values(dbsession, label: str) -> list[tuple[object, ItemValue]]:
    """(item, stored row) of every value of a subject, from the database itself."""
    items = {item.oid: item for form in demo_definition().forms for item in form_items(form)}
    rows = dbsession.scalars(
        select(ItemValue)
        .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(Subject.label == label)
    ).all()
    return [(items[row.item_oid], row) for row in rows]


def instance_of(dbsession, form: str) -> FormInstance:
    return dbsession.scalars(
        select(FormInstance)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(Subject.label == "par01-0001", FormInstance.form == form)
        .order_by(FormInstance.id)
    ).first()


@pytest.fixture
def monitored(entered, dbsession, world):
    """par01-0001 with a missing code, a German log row, queries (one closed after an answer,
    one open), its demographics verified and signed."""
    form = entered.get(SUBJECT + "screening/vital_signs/").forms["entry-form"]
    form["systolic"], form["diastolic"], form["missing-heart_rate"] = "128", "82", "NK"
    form.submit()
    add_adverse_event(entered, GERMAN_TERM, serious="0", severity="1")
    demographics = instance_of(dbsession, "demographics")
    manager = Actor(world.users["data_manager"].id)
    closed = queries.raise_query(dbsession, demographics, "I.WEIGHT_KG", POLISH_QUESTION, manager)
    coordinator = Actor(world.users["coordinator"].id)
    queries.move(
        dbsession, closed, QueryStep.ANSWERED, "Waga potwierdzona ze źródłem.", coordinator
    )
    queries.move(dbsession, closed, QueryStep.CLOSED, "Merci, c'est réglé.", manager)
    queries.raise_query(dbsession, demographics, None, "Is the height measured barefoot?", manager)
    review.verify(dbsession, Actor(world.users["monitor"].id), [demographics])
    target = SignTarget(
        SignatureScope.FORM,
        demographics.subject_id,
        demographics.visit_instance_id,
        demographics.id,
    )
    investigator = world.users["investigator"]
    review.sign(
        dbsession, Actor(investigator.id), [target], signer_name=investigator.name, meaning=MEANING
    )
    dbsession.flush()
    return entered


def test_a_casebook_holds_every_value_query_sdv_state_and_signature(
    monitored, dbsession, world, tmp_path
):
    target, result = run(dbsession, world, tmp_path, "pdf.zip", format=ExportFormat.PDF)
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == ["codebook.csv", "par01/par01-0001.pdf"]
        codebook = archive.read("codebook.csv").decode("utf-8")
    assert "ae_term" in codebook and "initials" not in codebook
    text = casebooks(target)["par01/par01-0001.pdf"]
    words = flat(text)
    values = subject_values(dbsession, "par01-0001")
    exported = [(item, row) for item, row in values if not item.identifier]
    assert result.values == len(exported)
    for item, row in exported:
        if row.value is not None:
            assert flat(shown(item, row.value)) in words, item.name
        if row.missing_code:
            label = dict(world.study.missing_codes)[row.missing_code]
            assert f"{row.missing_code} — {label}" in words
    assert any(row.missing_code for _item, row in exported)  # the test covers a missing code
    assert GERMAN_TERM in words and "Céphalée łagodna" in words and TERM in words
    (initials,) = [row for item, row in values if item.identifier]
    assert initials.sealed_value is not None and not re.search(r"\bJM\b", text)
    for message in (POLISH_QUESTION, "Waga potwierdzona ze źródłem.", "Merci, c'est réglé."):
        assert message in words
    assert "Is the height measured barefoot?" in words
    assert "Closed" in words and "Open" in words and "Re-opened" not in words
    monitor = world.users["monitor"].name
    assert f"Verified · {monitor}" in words and "Awaiting SDV" in words
    assert f"Signed by {world.users['investigator'].name}" in words and MEANING in words
    assert "Paris" in words and world.study.title in words
    assert re.search(r"\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d [A-Z]{3,4}\b", words)  # in Paris time
    pages = [page for page in text.split("\f") if page.strip()]
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        header = next(line for line in page.splitlines() if line.strip())
        assert "par01-0001" in header
        assert f"Page {number} of {len(pages)}" in flat(page)


def test_a_casebook_is_archival_pdf_with_its_fonts_embedded(monitored, dbsession, world, tmp_path):
    target, _ = run(dbsession, world, tmp_path, "pdfa.zip", format=ExportFormat.PDF)
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(target) as archive:
        archive.extractall(folder)
    casebook = folder / "par01" / "par01-0001.pdf"
    metadata = subprocess.run(
        ["pdfinfo", "-meta", str(casebook)], capture_output=True, text=True, check=True
    ).stdout
    xmp = etree.fromstring(metadata.strip().encode("utf-8"))
    (declared,) = [node for node in xmp.iter() if node.get(f"{{{PDFAID}}}part")]
    assert declared.get(f"{{{PDFAID}}}part") == "2"
    assert declared.get(f"{{{PDFAID}}}conformance") == "B"
    fonts = subprocess.run(
        ["pdffonts", str(casebook)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert fonts and all("DejaVu" in line for line in fonts)
    assert all(line.split()[-5] == "yes" for line in fonts)  # the "emb" column


def test_the_audit_trail_option_adds_each_values_changes(entered, dbsession, world, tmp_path):
    page = entered.get(SUBJECT + "screening/demographics/")
    form = page.forms["entry-form"]
    form["complete"] = True
    form.submit()
    form = entered.get(SUBJECT + "screening/demographics/").forms["entry-form"]
    form["weight_kg"], form["reason"] = "62.5", "Balance recalibrée — poprawka"
    form.submit()
    plain, _ = run(dbsession, world, tmp_path, "plain.zip", format=ExportFormat.PDF)
    words = flat(casebooks(plain)["par01/par01-0001.pdf"])
    assert "62.5" in words and "61.5" not in words and "→" not in words
    trail, _ = run(
        dbsession, world, tmp_path, "trail.zip", format=ExportFormat.PDF, audit_trail=True
    )
    words = flat(casebooks(trail)["par01/par01-0001.pdf"])
    assert "61.5 → 62.5" in words and "Balance recalibrée — poprawka" in words
    assert "— → 31/01/1980" in words  # the first entry of the date, in the item's order
    assert world.users["coordinator"].name in words
    assert "JM" not in words.split()  # the initials' changes are not shown either


def test_the_site_option_narrows_the_zip(dbsession, world, tmp_path):
    add_queries(dbsession, world)  # a consent form at each site, with a query
    everything, _ = run(dbsession, world, tmp_path, "all.zip", format=ExportFormat.PDF)
    assert set(casebooks(everything)) == {"par01/par01-0001.pdf", "ber01/ber01-0001.pdf"}
    berlin, result = run(
        dbsession, world, tmp_path, "ber.zip", format=ExportFormat.PDF, sites=("ber01",)
    )
    (text,) = casebooks(berlin).values()
    assert set(casebooks(berlin)) == {"ber01/ber01-0001.pdf"}
    assert result.values == 0 and "Berlin" in text and "par01" not in text
    assert "Is the consent of ber01-0001 on file?" in flat(text)


def test_progress_is_told_once_a_casebook_is_written(dbsession, world, tmp_path):
    add_queries(dbsession, world)
    told: list[int] = []
    options = ExportOptions(format=ExportFormat.PDF)
    export(dbsession, world.study, options, tmp_path / "p.zip", actor=SETUP, progress=told.append)
    assert len(told) == 2 and told == sorted(told) and told[-1] == 99


def test_the_cover_names_whom_the_system_exported_for(dbsession, world, tmp_path):
    add_queries(dbsession, world)
    manager = world.users["data_manager"]
    scheduled = Actor.system("schedule", on_behalf_of=manager.id)
    options = ExportOptions(format=ExportFormat.PDF, sites=("par01",))
    export(dbsession, world.study, options, tmp_path / "s.zip", actor=scheduled)
    (text,) = casebooks(tmp_path / "s.zip").values()
    assert f"Exported by the system (schedule) for {manager.name} <{manager.email}>" in flat(text)


def test_a_subjects_reads_do_not_grow_with_its_forms(monitored, dbsession, world):
    def statements() -> int:
        counted = []
        listener = lambda *args: counted.append(1)  # noqa: E731
        connection = dbsession.connection()
        event.listen(connection, "before_cursor_execute", listener)
        reads = read_subject(dbsession, world.study, "par01-0001", with_changes=True)
        event.remove(connection, "before_cursor_execute", listener)
        assert reads.forms and reads.marks and reads.threads and reads.signatures
        return len(counted)

    before = statements()
    for term in ("Zawroty głowy", "Kopfschmerzen", "Fièvre"):
        add_adverse_event(monitored, term, serious="0")
    assert statements() == before


def test_a_data_manager_exports_casebooks_from_the_page(entered, app, world):
    manager = signed_in(app, world, "data_manager")
    form = manager.get("/acme/demo/exports/").forms["export-form"]
    form["format"], form["audit_trail"] = "pdf", True
    page = form.submit().follow()
    link = page.html.select_one("#export-list tbody tr").find("a", string="Download")["href"]
    download = manager.get(link)
    assert download.headers["Content-Disposition"].endswith('.zip"')
    with zipfile.ZipFile(io.BytesIO(download.body)) as archive:
        words = flat(pdf_text(archive.read("par01/par01-0001.pdf")))
    assert world.users["data_manager"].email in words  # who exported, on the cover
    assert "Audit trail Yes" in words and "61.5" in words


def test_an_operator_exports_casebooks_from_the_command_line(datacapt, tmp_path):
    assert datacapt("demo")[0] == 0
    target = tmp_path / "casebooks.zip"
    code, out, _ = datacapt(
        "export", "acme", "demo", "--format", "pdf", "--audit", "-o", str(target)
    )
    assert code == 0 and "sha256" in out
    texts = casebooks(target)
    assert texts and all(name.endswith(".pdf") for name in texts)
    assert all("Audit trail Yes" in flat(text) for text in texts.values())
