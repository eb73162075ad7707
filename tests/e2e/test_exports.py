"""A data manager exports the demo study's data in a real browser and downloads the files."""

from __future__ import annotations

import zipfile

import openpyxl
from playwright.sync_api import Page, expect

from tests.e2e.test_sign_in import sign_in


def test_a_data_manager_exports_csv_and_excel_and_downloads_them(
    page: Page, live_url: str, tmp_path
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
    assert workbook.sheetnames == ["vital_signs", "codebook"]

    page.get_by_label("CSV (zip").check()
    page.get_by_role("button", name="Start the export").click()
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Ready")
    with page.expect_download() as archive:
        rows.first.get_by_role("link", name="Download").click()
    archive.value.save_as(tmp_path / "demo.zip")
    with zipfile.ZipFile(tmp_path / "demo.zip") as files:
        assert "values.csv" in files.namelist()
        assert "systolic" in files.read("values.csv").decode()
