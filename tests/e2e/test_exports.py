"""A data manager exports the demo study's data in a real browser, follows its progress bar and
downloads the files."""

from __future__ import annotations

import zipfile

import openpyxl
import pandas
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select, update

from datacapt.models import DataExport, ExportState
from tests.e2e.test_sign_in import sign_in


def set_state(database: str, export_id: int, **values) -> None:
    """What a worker writes into the export's row as it goes."""
    engine = create_engine(database)
    with engine.begin() as connection:
        connection.execute(update(DataExport).where(DataExport.id == export_id).values(**values))
    engine.dispose()


def newest_export(database: str) -> int:
    engine = create_engine(database)
    with engine.connect() as connection:
        found = connection.scalar(select(DataExport.id).order_by(DataExport.id.desc()).limit(1))
    engine.dispose()
    return found


def test_a_data_manager_exports_csv_excel_and_sas_with_a_progress_bar_and_downloads_them(
    page: Page, live_url: str, live_database: str, tmp_path
):
    sign_in(page, live_url, "data-manager@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/")
    page.get_by_role("link", name="Exports").click()
    expect(page.get_by_role("heading", name="Exports", exact=True)).to_be_visible()

    page.get_by_label("Excel workbook").check()
    page.get_by_label("vital_signs").check()
    page.get_by_role("button", name="Start the export").click()
    rows = page.locator("#export-list tbody tr")
    expect(rows.first).to_contain_text("Ready")
    with page.expect_download() as excel:
        rows.first.get_by_role("link", name="Download").click()
    excel.value.save_as(tmp_path / "vitals.xlsx")
    workbook = openpyxl.load_workbook(tmp_path / "vitals.xlsx", read_only=True)
    # and a "subjects" sheet of randomisations when a browser test before randomised one
    assert [name for name in workbook.sheetnames if name != "subjects"] == [
        "vital_signs",
        "codebook",
    ]

    page.get_by_role("radio", name="CSV (zip: values").check()
    page.get_by_role("button", name="Start the export").click()
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Ready")
    with page.expect_download() as archive:
        rows.first.get_by_role("link", name="Download").click()
    archive.value.save_as(tmp_path / "demo.zip")
    with zipfile.ZipFile(tmp_path / "demo.zip") as files:
        assert "values.csv" in files.namelist()
        assert "systolic" in files.read("values.csv").decode()

    page.get_by_label("SAS transport").check()
    page.get_by_role("button", name="Start the export").click()
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Ready")
    # The embedded default ran the job at once: play a worker still at 40 % of it, and see the
    # row poll itself until the worker is done.
    sas = newest_export(live_database)
    set_state(live_database, sas, state=ExportState.RUNNING, progress=40)
    page.reload()
    bar = rows.first.locator("progress")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("value", "40")
    expect(rows.first).to_contain_text("Running")
    expect(rows.first.get_by_role("link", name="Download")).to_have_count(0)
    set_state(live_database, sas, progress=85)
    expect(bar).to_have_attribute("value", "85", timeout=6000)  # polled, no reload
    set_state(live_database, sas, state=ExportState.DONE, progress=100)
    expect(rows.first).to_contain_text("Ready", timeout=6000)
    expect(rows.first.locator("progress")).to_have_count(0)
    with page.expect_download() as transport:
        rows.first.get_by_role("link", name="Download").click()
    transport.value.save_as(tmp_path / "sas.zip")
    with zipfile.ZipFile(tmp_path / "sas.zip") as files:
        files.extractall(tmp_path / "sas")
    vitals = pandas.read_sas(
        tmp_path / "sas" / "forms" / "VITAL_SI.xpt", format="xport", encoding="utf-8"
    )
    assert {128.0, 131.0} <= set(vitals["SYSTOLIC"].dropna())  # the demo's, as entered
    assert "systolic" in (tmp_path / "sas" / "codebook.csv").read_text(encoding="utf-8")
