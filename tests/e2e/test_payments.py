"""Paying volunteers in a real browser: the Paris coordinator enrols a subject, includes and
completes them, and enters their bank details (a wrong IBAN told beside its field, then shown
masked, and in full on request); the study administrator sets the plan (a wrong currency told
beside its field), creates an order from that completion, validates it, downloads its SEPA file
(valid against the official pain.001.001.03 schema, without clinical data) and marks it paid."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in

XSD = Path(__file__).parents[1] / "data" / "sepa" / "pain.001.001.03.xsd"


def change_status(page: Page, status: str) -> None:
    form = page.locator("#status-form")
    form.get_by_label("New status").select_option(label=status)
    with page.expect_navigation():
        form.get_by_role("button", name="Change the status").click()
    expect(page.get_by_text("The status was changed.")).to_be_visible()


def test_bank_details_then_an_order_created_validated_exported_and_paid(
    page: Page, browser: Browser, live_url: str
):
    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/subjects/enrol")
    page.get_by_role("button", name="Enrol").click()
    heading = page.get_by_role("heading", name=re.compile(r"Subject par01-\d{4}"))
    expect(heading).to_be_visible()
    label = heading.inner_text().split()[-1]
    change_status(page, "Included")
    change_status(page, "Completed")
    panel = page.locator("#panel-bank-details")
    expect(panel.get_by_role("heading", name="Bank details")).to_be_visible()
    panel.get_by_role("link", name=re.compile("bank details")).click()
    settled(page)
    panel.get_by_label("Account holder").fill("Léa Dupont")
    panel.get_by_label("IBAN").fill("FR76 3000 6000 0112 3456 7890 188")
    panel.get_by_role("button", name="Save the bank details").click()
    settled(page)
    expect(panel.locator("#field-iban-error")).to_contain_text("This IBAN is not valid")
    expect(panel.get_by_label("IBAN")).to_have_attribute("aria-invalid", "true")
    panel.get_by_label("IBAN").fill("FR76 3000 6000 0112 3456 7890 189")
    with page.expect_navigation():
        panel.get_by_role("button", name="Save the bank details").click()
    expect(page.locator("#bank-masked")).to_have_text("FR76 •••• •••• 0189")
    expect(page.locator("#panel-bank-details")).not_to_contain_text("Léa")
    page.get_by_role("link", name="Show the bank details").click()
    expect(page.locator("#bank-shown")).to_contain_text("FR76 3000 6000 0112 3456 7890 189")
    expect(page.locator("#bank-shown")).to_contain_text("Léa Dupont")

    admin_context = browser.new_context(
        locale="en-GB", timezone_id="Europe/Paris", accept_downloads=True
    )
    admin = admin_context.new_page()
    try:
        sign_in(admin, live_url, "study-admin@acme.example")
        expect(admin.get_by_role("heading", name="Your studies")).to_be_visible()
        admin.goto(f"{live_url}/acme/demo/")
        admin.get_by_role("link", name="Payments").click()
        expect(admin.get_by_role("heading", name="Payments", exact=True)).to_be_visible()

        plan = admin.locator("#plan-form")
        plan.get_by_label("Currency").fill("XYZ")
        plan.get_by_label("Paid when the subject completes the study").fill("150,00")
        plan.get_by_label("Account holder").fill("Acme Clinical Research")
        plan.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
        plan.get_by_role("button", name="Save the plan").click()
        expect(admin.locator("#field-currency-error")).to_contain_text(
            "XYZ is not an ISO 4217 currency"
        )
        admin.locator("#plan-form").get_by_label("Currency").fill("EUR")
        admin.locator("#plan-form").get_by_role("button", name="Save the plan").click()
        expect(admin.get_by_text("The compensation plan was saved.")).to_be_visible()
        completion = admin.get_by_label("Paid when the subject completes the study")
        expect(completion).to_have_value("150.00")

        admin.get_by_role("button", name="Create an order").click()
        expect(admin.get_by_role("heading", name=re.compile(r"^Order \d+$"))).to_be_visible()
        line = admin.locator("#order-lines tbody tr", has_text=label)
        expect(line).to_contain_text("Study completed")
        expect(line).to_contain_text("€150.00")
        expect(line).to_contain_text("FR76 •••• •••• 0189")
        expect(admin.locator("#order-state")).to_have_text("Draft")

        with admin.expect_navigation():
            admin.get_by_role("button", name="Validate the order").click()
        expect(admin.locator("#order-state")).to_have_text("Validated")
        expect(admin.get_by_text("The order was validated.")).to_be_visible()

        admin.get_by_label("SEPA credit transfer (pain.001.001.03 XML)").check()
        with admin.expect_download() as downloading:
            admin.get_by_role("button", name="Download the bank file").click()
        body = Path(downloading.value.path()).read_bytes()
        schema = etree.XMLSchema(etree.parse(str(XSD)))
        schema.assertValid(etree.fromstring(body))
        text = body.decode()
        assert "FR7630006000011234567890189" in text and "Lea Dupont" in text
        assert "150.00" in text
        assert label not in text and "par01" not in text and "demo" not in text

        admin.reload()
        expect(admin.locator("#order-state")).to_have_text("Exported")
        paid = admin.locator("#paid-form")
        paid.get_by_label("Payment date").fill("2999-01-01")
        paid.get_by_role("button", name="Mark the order paid").click()
        settled(admin)
        expect(admin.locator("#field-paid_on-error")).to_contain_text("future")
        today = admin.evaluate("() => new Date().toLocaleDateString('sv-SE')")
        admin.locator("#paid-form").get_by_label("Payment date").fill(today)
        with admin.expect_navigation():
            admin.locator("#paid-form").get_by_role("button", name="Mark the order paid").click()
        expect(admin.locator("#order-state")).to_have_text("Paid")
    finally:
        admin_context.close()
