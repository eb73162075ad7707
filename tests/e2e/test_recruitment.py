"""Recruiting in a real browser: the study administrator opens a recruitment asking the
demographics form; a volunteer, signed in nowhere, applies through its public page (the
pregnancy question appears only once they say they are a woman, a missing consent is told
beside its box and nothing typed is lost) and is thanked without a verdict; the Paris
coordinator then finds them in the pipeline, by name, and reads why they are eligible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_designer import settled
from tests.e2e.test_sign_in import sign_in

TITLE = "Hypertension volunteers (browser)"


def test_a_volunteer_applies_and_the_site_sees_them_in_the_pipeline(
    page: Page, browser: Browser, live_url: str
):
    sign_in(page, live_url, "study-admin@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/")
    page.get_by_role("link", name="Recruitment", exact=True).click()
    page.get_by_role("link", name="New recruitment").click()
    form = page.locator("#recruitment-form")
    today = datetime.now(UTC).date()
    form.get_by_label("Title").fill(TITLE)
    form.get_by_label("Target number of participants").fill("10")
    form.get_by_label("Opens on").fill((today - timedelta(days=1)).isoformat())
    form.get_by_label("Closes on").fill((today + timedelta(days=60)).isoformat())
    form.get_by_label("par01 — Paris University Hospital").check()
    form.get_by_label("ber01 — Berlin Clinical Centre").check()
    form.get_by_label("Pre-screening questionnaire").select_option(label="Demographics")
    form.get_by_label("Eligibility criteria").fill(
        "[height_cm] >= 150\n[sex] = '1' or [pregnant] = '0'"
    )
    with page.expect_navigation():
        form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The recruitment was saved.")).to_be_visible()
    public_url = page.locator("#public-url").inner_text()

    volunteer_context = browser.new_context(locale="en-GB", timezone_id="Europe/Paris")
    volunteer = volunteer_context.new_page()
    try:
        volunteer.goto(public_url)
        expect(volunteer.get_by_role("heading", name=TITLE)).to_be_visible()
        pregnant = volunteer.locator("[id='block-I.PREGNANT']")
        expect(pregnant).to_be_hidden()
        volunteer.get_by_role("textbox", name="Date of birth (required)").fill("01/02/1990")
        volunteer.get_by_role("radio", name="Female").check()
        settled(volunteer)
        expect(pregnant).to_be_visible()
        pregnant.get_by_role("radio", name="No", exact=True).check()
        volunteer.get_by_label("Height").fill("168")
        settled(volunteer)
        volunteer.get_by_label("Where would you take part?").select_option(
            label="Paris University Hospital"
        )
        volunteer.get_by_label("First name").fill("Éloïse")
        volunteer.get_by_label("Last name").fill("Browser-Applicant")
        volunteer.get_by_label("E-mail").fill("eloise.applicant@example.org")
        with volunteer.expect_navigation():
            volunteer.get_by_role("button", name="Send my application").click()
        expect(volunteer.locator("#field-applicant_consent-error")).to_contain_text(
            "Your consent is needed"
        )
        expect(volunteer.get_by_label("Last name")).to_have_value("Browser-Applicant")
        expect(volunteer.get_by_label("Height")).to_have_value("168")
        expect(volunteer.locator("[id='block-I.PREGNANT']")).to_be_visible()
        volunteer.get_by_label("I agree that the study team processes").check()
        volunteer.get_by_label("Contact me about future studies").check()
        with volunteer.expect_navigation():
            volunteer.get_by_role("button", name="Send my application").click()
        expect(
            volunteer.get_by_role("heading", name="Thank you for your application")
        ).to_be_visible()
        expect(volunteer.locator("main")).not_to_contain_text("ligible")
    finally:
        volunteer_context.close()

    sign_in(page, live_url, "coordinator@acme.example")
    expect(page.get_by_role("heading", name="Your studies")).to_be_visible()
    page.goto(f"{live_url}/acme/demo/recruitment/")
    page.get_by_role("link", name=TITLE).click()
    row = page.locator("#applications tbody tr", has_text="Browser-Applicant")
    expect(row).to_contain_text("Éloïse")
    expect(row).to_contain_text("par01")
    expect(row).to_contain_text("Eligible")
    expect(page.locator("#pipeline-counts [data-state='applied'] .count")).to_have_text("1")
    row.get_by_role("link").first.click()
    expect(page.locator("#eligibility")).to_contain_text("Eligible: every criterion is met.")
    expect(page.locator("#identity")).to_contain_text("eloise.applicant@example.org")
    move = page.locator("#move-form")
    move.get_by_label("To").select_option(label="Pre-screened")
    with page.expect_navigation():
        move.get_by_role("button", name="Move").click()
    expect(page.locator("#application-state")).to_have_text("Pre-screened")
