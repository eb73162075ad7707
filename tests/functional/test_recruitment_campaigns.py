"""Campaigns: the recruitment's administrator mails its public page to the repository's persons
who opted in to future contact; the job sends one mail per person after the request commits,
with their first name and the link only; opted-out persons, those without an address and
those who applied already are never mailed; every decryption is logged, the campaign keeps
counts, and a closed recruitment is not mailed. Each mail carries the person's own link to
withdraw their agreement: opening it changes nothing, its button does, a forged one is an
unknown recruitment's page, and the next campaign passes them by."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from datacapt.accounts.services import Bucket
from datacapt.db import transaction_scope
from datacapt.models import (
    AuditEvent,
    CampaignState,
    LoginAttempt,
    OutboxJob,
    Person,
    PiiAccess,
    Recruitment,
    RecruitmentCampaign,
    RecruitmentState,
)
from datacapt.recruitment import campaigns
from datacapt.repository import services as repository
from tests.factories import SETUP, add_recruitment, build_world, login

EDIT = "/acme/demo/recruitment/1/@@edit"


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    add_recruitment(dbsession, registry, world)
    people = {
        "in": ("Olivia", "olivia.optin@example.org", True),
        "out": ("Oscar", "oscar.optout@example.org", False),
        "no_address": ("Nadia", "", True),
    }
    for key, (first, email, opt_in) in people.items():
        person = repository.register(
            dbsession,
            registry,
            SETUP,
            world.study,
            world.sites["ber01"],
            repository.PersonData(first_name=first, last_name="Campaign", email=email),
        )
        person.contact_opt_in = opt_in
        world.users[f"person-{key}"] = person  # type: ignore[assignment]
    applied = dbsession.scalars(select(Person).order_by(Person.id)).first()
    applied.contact_opt_in = True  # opted in, but applied already (the factory's application)
    dbsession.flush()
    return world


def test_only_persons_who_opted_in_are_mailed_once_each(
    testapp, world, dbsession, registry, mailbox
):
    recruitment = dbsession.scalar(select(Recruitment))
    assert campaigns.reachable(dbsession, recruitment) == 2  # Olivia, and Nadia (no address)
    login(testapp, world.users["study_admin"].email)
    page = testapp.get(EDIT)
    page.forms["campaign-form"].submit(status=303)
    job = dbsession.scalar(select(OutboxJob).where(OutboxJob.name == campaigns.SEND_JOB))
    assert job.arguments["locale"] == "en"
    (mail,) = mailbox.messages()
    assert mail["To"] == "olivia.optin@example.org"
    body = mail.get_content()
    assert "Hello Olivia," in body and "Healthy volunteers" in body
    assert f"/apply/{recruitment.token}" in body
    person = world.users["person-in"]
    withdrawal = f"/apply/contact/{campaigns.withdrawal_token(registry, person)}"
    assert f"I no longer wish to hear of studies:\n\nhttp://localhost{withdrawal}" in body
    assert "Campaign" not in body and "olivia.optin" not in body  # no other personal data
    dbsession.expire_all()
    campaign = dbsession.scalar(select(RecruitmentCampaign))
    assert (campaign.state, campaign.sent, campaign.skipped) == (CampaignState.SENT, 1, 1)
    reads = dbsession.scalars(select(PiiAccess).where(PiiAccess.actor == campaigns.SENDER)).all()
    assert {(r.action, r.purpose) for r in reads} == {("decrypt", "contact")}
    assert len(reads) == 2
    event = dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "recruitment.campaign_sent")
    )
    assert event.new_value == '{"sent": 1, "skipped": 1}'
    shown = testapp.get(EDIT).html.find(id="campaign-list").text
    assert "1 sent, 1 without an e-mail address" in shown


def send_in_job(registry, campaign_id, locale="en"):
    """What the job does, in a transaction of its own."""
    with transaction_scope(registry) as job_session:
        campaigns.send(job_session, registry, campaign_id, "http://localhost", locale)


def test_a_sent_campaign_is_not_sent_again(world, dbsession, registry, connection, mailbox):
    recruitment = dbsession.scalar(select(Recruitment))
    campaign = RecruitmentCampaign(
        tenant_id=recruitment.tenant_id, recruitment_id=recruitment.id, sent=0, skipped=0
    )
    dbsession.add(campaign)
    dbsession.flush()
    send_in_job(registry, campaign.id)
    send_in_job(registry, campaign.id)
    assert len(mailbox.messages()) == 1
    dbsession.refresh(campaign)
    assert (campaign.state, campaign.sent) == (CampaignState.SENT, 1)


def test_a_person_who_opts_out_before_the_job_runs_is_not_mailed(
    world, dbsession, registry, connection, mailbox
):
    recruitment = dbsession.scalar(select(Recruitment))
    campaign = RecruitmentCampaign(
        tenant_id=recruitment.tenant_id, recruitment_id=recruitment.id, sent=0, skipped=0
    )
    dbsession.add(campaign)
    world.users["person-in"].contact_opt_in = False
    dbsession.flush()
    send_in_job(registry, campaign.id, "fr")
    assert mailbox.messages() == []
    dbsession.refresh(campaign)
    assert (campaign.sent, campaign.skipped) == (0, 1)


def test_a_closed_recruitment_is_not_mailed(testapp, world, dbsession):
    recruitment = dbsession.scalar(select(Recruitment))
    recruitment.state = RecruitmentState.CLOSED
    dbsession.flush()
    login(testapp, world.users["study_admin"].email)
    refused = testapp.get(EDIT).forms["campaign-form"].submit(status=422)
    assert refused.html.find(id="field-campaign-error") is not None
    assert dbsession.scalar(select(RecruitmentCampaign)) is None


# --- withdrawing the agreement ----------------------------------------------------------------


def withdrawal_url(registry, person) -> str:
    return f"/apply/contact/{campaigns.withdrawal_token(registry, person)}"


def new_campaign(dbsession, recruitment) -> RecruitmentCampaign:
    campaign = RecruitmentCampaign(
        tenant_id=recruitment.tenant_id, recruitment_id=recruitment.id, sent=0, skipped=0
    )
    dbsession.add(campaign)
    dbsession.flush()
    return campaign


def test_the_mailed_link_withdraws_and_the_next_campaign_skips_them(
    testapp, world, dbsession, registry, connection, mailbox
):
    recruitment = dbsession.scalar(select(Recruitment))
    send_in_job(registry, new_campaign(dbsession, recruitment).id)
    (mail,) = mailbox.messages()
    (url,) = re.findall(r"http://localhost(/apply/contact/\S+)", mail.get_content())
    person = world.users["person-in"]
    page = testapp.get(url)  # what a mail scanner does too
    assert page.html.find(id="withdrawal-form") is not None
    dbsession.refresh(person)
    assert person.contact_opt_in is True
    assert not dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "person.contact_withdrawn")
    )
    done = page.forms["withdrawal-form"].submit(status=303).follow()
    assert done.html.find(id="withdrawn") is not None
    dbsession.refresh(person)
    assert person.contact_opt_in is False
    event = dbsession.scalar(
        select(AuditEvent).where(AuditEvent.action == "person.contact_withdrawn")
    )
    assert (event.entity_type, event.entity_id, event.field) == (
        "person",
        str(person.id),
        "contact_opt_in",
    )
    assert (event.old_value, event.new_value, event.reason) == ("true", "false", None)
    assert testapp.get(url).html.find(id="withdrawn") is not None  # said again, nothing asked
    assert campaigns.reachable(dbsession, recruitment) == 1  # Nadia alone
    later = new_campaign(dbsession, recruitment)
    send_in_job(registry, later.id)
    assert len(mailbox.messages()) == 1  # the first campaign's mail only
    dbsession.refresh(later)
    assert (later.sent, later.skipped) == (0, 1)


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-1] + ("0" if token[-1] != "0" else "1"),  # one digit changed
        lambda token: "999999-" + token.split("-")[1],  # another person's id
        lambda token: token.split("-")[0],  # the id alone
        lambda token: "x" * 40,
    ],
)
def test_a_forged_token_is_an_unknown_recruitments_page(testapp, world, dbsession, registry, forge):
    person = world.users["person-in"]
    unknown = testapp.get("/apply/no-such-recruitment-token", status=404)
    url = "/apply/contact/" + forge(campaigns.withdrawal_token(registry, person))
    forged = testapp.get(url, status=404)
    assert forged.html.find("main").text == unknown.html.find("main").text
    form_page = testapp.get(withdrawal_url(registry, person))
    token = form_page.forms["withdrawal-form"]["csrf_token"].value
    testapp.post(url, {"csrf_token": token}, status=404)
    dbsession.refresh(person)
    assert person.contact_opt_in is True


def test_another_persons_token_withdraws_only_them(testapp, world, dbsession, registry):
    olivia, nadia = world.users["person-in"], world.users["person-no_address"]
    testapp.get(withdrawal_url(registry, nadia)).forms["withdrawal-form"].submit(status=303)
    dbsession.refresh(olivia)
    dbsession.refresh(nadia)
    assert (olivia.contact_opt_in, nadia.contact_opt_in) == (True, False)


def test_withdrawing_needs_the_csrf_token(testapp, world, dbsession, registry):
    person = world.users["person-in"]
    testapp.post(withdrawal_url(registry, person), {}, status=400)
    dbsession.refresh(person)
    assert person.contact_opt_in is True


def test_the_withdrawal_page_is_rate_limited_per_address(testapp, world, dbsession, registry):
    for number in range(30):  # datacapt.login_max_failures_per_ip in testing.ini
        testapp.get(f"/apply/contact/{number}-{'0' * 32}", status=404)
    assert dbsession.scalar(select(func.count(LoginAttempt.id))) >= 30
    testapp.get(withdrawal_url(registry, world.users["person-in"]), status=429)


def test_withdrawal_misses_have_their_own_bucket_and_a_withdrawal_counts_nothing(
    testapp, world, dbsession, registry
):
    recruitment = dbsession.scalar(select(Recruitment))
    person = world.users["person-in"]
    page = testapp.get(withdrawal_url(registry, person))
    page.forms["withdrawal-form"].submit(status=303)
    assert dbsession.scalar(select(func.count(LoginAttempt.id))) == 0
    for number in range(registry["datacapt.settings"].login_max_failures_per_ip):
        testapp.get(f"/apply/contact/{number}-{'0' * 32}", status=404)
    assert set(dbsession.scalars(select(LoginAttempt.bucket))) == {Bucket.WITHDRAWAL}
    testapp.get(withdrawal_url(registry, person), status=429)
    testapp.get(f"/apply/{recruitment.token}", status=200)  # applicants are not slowed


def test_application_misses_leave_the_withdrawal_page_alone(testapp, world, registry):
    for number in range(registry["datacapt.settings"].login_max_failures_per_ip):
        testapp.get(f"/apply/guessing-token-{number:08d}", status=404)
    testapp.get(withdrawal_url(registry, world.users["person-in"]), status=200)
