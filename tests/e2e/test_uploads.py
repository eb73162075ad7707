"""A coordinator attaches a file to a form in a real browser: a file whose bytes are not what
its name says is refused next to the field; a PDF, then an image replacing it, are saved; the
history lists both, each downloadable; a coordinator of another site reaches neither."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from datacapt.accounts.services import grant_study_role
from datacapt.cli.demo_design import demo_definition
from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.design import services
from datacapt.ecrf.definition import Item, ItemType
from datacapt.permissions import StudyRole
from datacapt.studies.services import create_site, create_study, create_tenant
from tests.conftest import app_settings
from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import DEMO_PASSWORD, sign_in
from tests.factories import SETUP, make_subject, make_user, publish_definition

FORM = "/clinic/files/subjects/par01-0001/screening/demographics/"
PARIS = "paris-files@clinic.example"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
BERLIN = "berlin-files@clinic.example"


@pytest.fixture(scope="module")
def file_study(live_url: str, live_database: str) -> str:
    """A tenant of its own (the demo's users and studies untouched) with a study whose
    demographics form has a file item, a coordinator at its Paris site, one at its Berlin site."""
    registry = configure(app_settings(live_database)).make_wsgi_app().registry
    with transaction_scope(registry) as dbsession:
        tenant = create_tenant(dbsession, "clinic", "Clinic")
        study = create_study(dbsession, tenant, "files", "Files study")
        paris = create_site(dbsession, study, "par01", "Paris")
        berlin = create_site(dbsession, study, "ber01", "Berlin")
        make_subject(dbsession, paris, "par01-0001")
        definition = demo_definition()
        definition.form("demographics").sections[0].subsections[0].blocks.append(
            Item(oid="I.SCAN", name="scan", type=ItemType.FILE, label={"en": "Scan of the ECG"})
        )
        draft = services.start_draft(dbsession, study, SETUP)
        publish_definition(dbsession, study, draft, definition, "A file item")
        coordinator = make_user(dbsession, registry, PARIS, password=DEMO_PASSWORD)
        grant_study_role(dbsession, coordinator, study, StudyRole.COORDINATOR, [paris])
        other = make_user(dbsession, registry, BERLIN, password=DEMO_PASSWORD)
        grant_study_role(dbsession, other, study, StudyRole.COORDINATOR, [berlin])
    registry["db.engine"].dispose()
    return live_url + FORM


def test_a_coordinator_attaches_replaces_and_downloads_files(
    page: Page, browser: Browser, live_url: str, file_study: str
):
    sign_in(page, live_url, PARIS)
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(file_study)
    field = page.get_by_label("Scan of the ECG")

    field.set_input_files(
        files=[{"name": "ecg.pdf", "mimeType": "application/pdf", "buffer": b"not a PDF\n"}]
    )
    page.get_by_role("button", name="Save", exact=True).click()
    settled(page)
    expect(page.get_by_label("Scan of the ECG")).to_be_focused()  # the refused field
    expect(page.locator(".error-summary")).to_contain_text("Scan of the ECG")
    expect(page.locator("#item-scan-message")).to_contain_text("is not what its name says (.pdf)")
    expect(page.locator("#item-scan-current")).to_have_count(0)

    page.get_by_label("Scan of the ECG").set_input_files(
        files=[{"name": "ecg.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Saved.")
    current = page.locator("#item-scan-current")
    expect(current).to_contain_text("ecg.pdf")
    expect(current).to_contain_text(hashlib.sha256(PDF).hexdigest())

    page.get_by_label("Scan of the ECG").set_input_files(
        files=[{"name": "trace.png", "mimeType": "image/png", "buffer": PNG}]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(current).to_contain_text("trace.png")
    view = current.get_by_role("link", name="View")
    shown = page.request.get(live_url + view.get_attribute("href"))
    assert shown.body() == PNG
    assert shown.headers["content-disposition"].startswith("inline")
    assert shown.headers["content-security-policy"].startswith("sandbox")
    assert shown.headers["x-content-type-options"] == "nosniff"

    block = page.locator("#block-I\\.SCAN")
    block.locator("summary", has_text="History").click()
    settled(page)
    history = block.locator(".history")
    expect(history.locator("tbody tr")).to_have_count(2)
    expect(history.locator("tbody tr").last).to_contain_text("trace.png")
    with page.expect_download() as downloading:
        history.locator("tbody tr").first.get_by_role("link", name="ecg.pdf").click()
    download = downloading.value
    assert download.suggested_filename == "ecg.pdf"
    assert Path(download.path()).read_bytes() == PDF
    old = live_url + history.locator("tbody tr").first.get_by_role(
        "link", name="ecg.pdf"
    ).get_attribute("href")

    other = browser.new_context(locale="en-GB")
    stranger = other.new_page()
    sign_in(stranger, live_url, BERLIN)
    expect(stranger.get_by_role("heading", name="Your studies")).to_be_visible()
    assert stranger.request.get(old).status in (403, 404)
    other.close()


def test_an_evaluation_answered_after_a_refused_save_leaves_its_messages(
    page: Page, live_url: str, file_study: str
):
    """The file chosen starts an evaluation; Save is clicked before its answer comes, which is
    held until the refusal is shown: arriving last, it must not wipe the refusal's message."""
    sign_in(page, live_url, PARIS)
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(file_study)
    held: list[Route] = []
    page.route("**/@@evaluate", lambda route: held.append(route))
    page.get_by_label("Scan of the ECG").set_input_files(
        files=[{"name": "ecg.pdf", "mimeType": "application/pdf", "buffer": b"not a PDF\n"}]
    )
    page.wait_for_function("() => document.querySelector('.ecrf-fields.htmx-request')")
    for _ in range(100):  # the route's handler runs when Playwright dispatches its event
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    page.get_by_role("button", name="Save", exact=True).click()
    message = page.locator("#item-scan-message")
    expect(message).to_contain_text("is not what its name says (.pdf)")
    with page.expect_response(lambda response: "@@evaluate" in response.url):
        held[0].continue_()
    settled(page)
    expect(message).to_contain_text("is not what its name says (.pdf)")
