"""Subject accounts: a password (and an authenticator) set after entering by a link, signing in
at /p/login, throttled, audited, one answer for whatever is wrong, a session that stays in /p/
and is never enough to sign."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from datacapt.accounts.services import Bucket, check_address
from datacapt.cli.demo_design import epro_definition
from datacapt.ecrf.versions import draft, published_design
from datacapt.epro import accounts, services
from datacapt.models import (
    AuditEvent,
    FormInstance,
    LoginAttempt,
    Signature,
    SubjectAccount,
    SubjectSession,
)
from datacapt.security import SUBJECT_COOKIE
from tests.factories import SETUP, build_world, login, publish_definition

PASSWORD = "a long phrase about herons"


@pytest.fixture
def world(dbsession, registry):
    world = build_world(dbsession, registry)
    publish_definition(
        dbsession, world.study, draft(dbsession, world.study), epro_definition(), "ePRO"
    )
    world.study.epro_accounts = True
    dbsession.flush()
    return world


def occurrence_for(dbsession, world, label="par01-0001"):
    now = datetime.now(UTC)
    return services.schedule_occurrence(
        dbsession,
        world.subjects[label],
        published_design(dbsession, world.study).definition,
        visit="baseline",
        form="wellbeing",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=7),
        actor=SETUP,
    )


def enter_by_link(testapp, dbsession, world, label="par01-0001"):
    handed = services.hand_link(dbsession, world.subjects[label], SETUP)
    page = testapp.get(f"/p/@@start/{handed.token}")
    return page.forms["start-form"].submit(status=303).follow()


def make_account(testapp, dbsession, world, label="par01-0001"):
    enter_by_link(testapp, dbsession, world, label)
    page = testapp.get("/p/s/@@account")
    form = page.forms["account-form"]
    form["password"] = PASSWORD
    form["confirmation"] = PASSWORD
    shown = form.submit()
    login = shown.html.find(id="subject-login").text
    testapp.reset()
    return login, shown


def sign_in(testapp, login, password=PASSWORD, code="", status=303):
    page = testapp.get("/p/@@login")
    form = page.forms["subject-login-form"]
    form["login"], form["password"], form["code"] = login, password, code
    return form.submit(status=status)


def test_a_study_without_accounts_offers_none(testapp, dbsession, world):
    world.study.epro_accounts = False
    dbsession.flush()
    home = enter_by_link(testapp, dbsession, world)
    assert home.html.find(id="account-link") is None
    testapp.get("/p/s/@@account", status=404)
    token = home.html.find("body")["hx-headers"].split('"')[3]
    testapp.post(
        "/p/s/@@account",
        {"csrf_token": token, "action": "create", "password": PASSWORD, "confirmation": PASSWORD},
        status=404,
    )
    assert dbsession.scalar(select(SubjectAccount)) is None


def test_setting_a_password_shows_a_login_once_and_stores_only_a_hash(testapp, dbsession, world):
    home = enter_by_link(testapp, dbsession, world)
    assert home.html.find(id="account-link")
    login, _shown = make_account(testapp, dbsession, world)
    assert len(login) == 11 and login[5] == "-"
    assert "par01" not in login  # the login names nobody
    row = dbsession.scalar(select(SubjectAccount))
    assert row.login == login and row.subject_id == world.subjects["par01-0001"].id
    assert row.password_hash.startswith("$argon2") and PASSWORD not in row.password_hash
    event = dbsession.scalar(select(AuditEvent).where(AuditEvent.action == "epro.account_created"))
    assert event.by_subject_id == row.subject_id and login not in str(event.new_value)
    # shown once: the account page no longer tells it
    enter_by_link(testapp, dbsession, world)
    assert login not in testapp.get("/p/s/@@account").text


def test_the_password_rules_are_the_staffs(testapp, dbsession, world):
    enter_by_link(testapp, dbsession, world)
    form = testapp.get("/p/s/@@account").forms["account-form"]
    form["password"] = form["confirmation"] = "short"
    refused = form.submit(status=422)
    assert refused.html.find(id="field-password-error")
    form = refused.forms["account-form"]
    form["password"] = form["confirmation"] = "password1234"
    assert form.submit(status=422).html.find(id="field-password-error")
    form["password"], form["confirmation"] = PASSWORD, PASSWORD + "x"
    assert form.submit(status=422).html.find(id="field-confirmation-error")
    assert dbsession.scalar(select(SubjectAccount)) is None


def test_signing_in_opens_a_session_limited_to_the_subjects_area(testapp, dbsession, world):
    own = occurrence_for(dbsession, world)
    other = occurrence_for(dbsession, world, "ber01-0001")
    login, _shown = make_account(testapp, dbsession, world)
    response = sign_in(testapp, login.upper().replace("-", " "))  # typed loosely
    assert response.location.endswith("/p/s/")
    session = dbsession.scalar(select(SubjectSession).where(SubjectSession.method == "account"))
    assert session.link_id is None and session.subject_id == world.subjects["par01-0001"].id
    cookie = next(c for c in testapp.cookiejar if c.name == SUBJECT_COOKIE)
    assert cookie.path == "/p/"
    home = response.follow()
    assert "How are you today?" in home.text
    testapp.get(f"/p/s/{own.id}/")
    testapp.get(f"/p/s/{other.id}/", status=404)
    # the staff pages: nobody, even with the cookie sent there
    headers = {"Cookie": f"{SUBJECT_COOKIE}={cookie.value}"}
    for path in ("/acme/demo/subjects/par01-0001/", "/acme/demo/", "/acme/"):
        assert "/login?came_from=" in testapp.get(path, headers=headers, status=303).location
    token = home.html.find("body")["hx-headers"].split('"')[3]
    testapp.post(
        "/acme/demo/subjects/par01-0001/@@sign",
        {"csrf_token": token},
        headers=headers,
        status=303,
    )
    assert dbsession.scalar(select(Signature)) is None
    assert dbsession.scalar(select(FormInstance)) is None
    assert dbsession.scalar(select(AuditEvent).where(AuditEvent.action == "epro.account_signed_in"))


def test_an_account_session_is_never_enough_to_sign():
    from datacapt.security import SubjectIdentity

    identity = SubjectIdentity(1, 1, 1, 1, datetime.now(UTC), "UTC", "account")
    assert identity.may_sign is False
    assert SubjectIdentity(1, 1, 1, 1, datetime.now(UTC), "UTC").may_sign is False


def test_a_bad_login_and_a_bad_password_get_the_same_answer(testapp, dbsession, world):
    login, _shown = make_account(testapp, dbsession, world)
    wrong_password = sign_in(testapp, login, "not the password at all", status=422)
    wrong_login = sign_in(testapp, "zzzzz-zzzzz", PASSWORD, status=422)
    assert wrong_password.html.find("main").find(role="alert").text == (
        wrong_login.html.find("main").find(role="alert").text
    )
    assert SUBJECT_COOKIE not in testapp.cookies
    failures = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "epro.account_sign_in_failed")
    ).all()
    assert len(failures) == 2
    assert all("zzzzz" not in str(e.entity_id) and login not in str(e.entity_id) for e in failures)


def test_sign_ins_are_throttled_per_login(testapp, dbsession, world):
    login, _shown = make_account(testapp, dbsession, world)
    for _attempt in range(5):  # datacapt.login_max_failures_per_account in testing.ini
        sign_in(testapp, login, "wrong password here", status=422)
    blocked = sign_in(testapp, login, PASSWORD, status=429)  # even the right one must wait
    assert blocked.headers["Retry-After"]
    assert SUBJECT_COOKIE not in testapp.cookies


def test_subjects_guessing_fill_their_own_bucket_and_leave_staff_sign_in_alone(
    testapp, dbsession, world, registry
):
    login_name, _shown = make_account(testapp, dbsession, world)
    for number in range(registry["datacapt.settings"].login_max_failures_per_ip):
        sign_in(testapp, f"guess-{number:05d}", "wrong password here", status=422)
    assert sign_in(testapp, login_name, status=429).headers["Retry-After"]  # the address waits
    assert set(dbsession.scalars(select(LoginAttempt.bucket))) == {Bucket.SUBJECT_SIGN_IN}
    address = dbsession.scalar(select(LoginAttempt.ip))
    assert not check_address(dbsession, registry, address, Bucket.SIGN_IN).blocked
    assert login(testapp, world.users["coordinator"].email).status_int == 303


def test_staff_guessing_leaves_subject_sign_in_alone(testapp, dbsession, world, registry):
    login_name, _shown = make_account(testapp, dbsession, world)
    for number in range(registry["datacapt.settings"].login_max_failures_per_ip):
        login(testapp, f"guess{number}@example.org", "wrong password!!")
    assert login(testapp, world.users["coordinator"].email).status_int == 429
    testapp.reset()
    sign_in(testapp, login_name, status=303)


def test_an_authenticator_is_then_asked_for_and_a_code_works_once(
    testapp, dbsession, world, registry
):
    login, _shown = make_account(testapp, dbsession, world)
    sign_in(testapp, login).follow()
    page = testapp.get("/p/s/@@account")
    page = page.forms["authenticator-start-form"].submit().follow()
    key = page.html.find(id="manual-key").text.replace(" ", "")
    assert page.html.find("svg")
    form = page.forms["authenticator-form"]
    form["code"] = "000000"
    refused = form.submit(status=422)
    assert refused.html.find(id="field-code-error")
    totp = pyotp.TOTP(key)
    form = refused.forms["authenticator-form"]
    form["code"] = totp.now()
    page = form.submit().follow()
    assert page.html.find(id="authenticator-status")
    row = dbsession.scalar(select(SubjectAccount))
    dbsession.refresh(row)
    assert accounts.has_authenticator(row) and key.encode() not in row.totp_ciphertext
    testapp.reset()
    # the password alone is no longer enough; the same answer as a wrong password
    alone = sign_in(testapp, login, status=422)
    assert "not right" in alone.html.find(role="alert").text
    # the code just used is refused; the next step's works
    step = int(datetime.now(UTC).timestamp()) // 30
    sign_in(testapp, login, code=totp.at(datetime.now(UTC)), status=422)
    later = pyotp.TOTP(key).generate_otp(step + 1)
    sign_in(testapp, login, code=later)
    assert SUBJECT_COOKIE in testapp.cookies


def test_another_sites_subject_account_reaches_only_its_own(testapp, dbsession, world):
    own = occurrence_for(dbsession, world)
    login, _shown = make_account(testapp, dbsession, world, "ber01-0001")
    sign_in(testapp, login)
    testapp.get(f"/p/s/{own.id}/", status=404)
    assert dbsession.scalar(
        select(SubjectSession).where(SubjectSession.method == "account")
    ).subject_id == (world.subjects["ber01-0001"].id)


def test_signing_out_ends_the_session_at_once(testapp, dbsession, world):
    own = occurrence_for(dbsession, world)
    login, _shown = make_account(testapp, dbsession, world)
    home = sign_in(testapp, login).follow()
    cookie = testapp.cookies[SUBJECT_COOKIE]
    out = home.forms["sign-out-form"].submit(status=303)
    assert out.location.endswith("/p/@@login")
    assert SUBJECT_COOKIE not in testapp.cookies
    session = dbsession.scalar(select(SubjectSession).where(SubjectSession.method == "account"))
    dbsession.refresh(session)
    assert session.expires_at <= datetime.now(UTC)
    # the old cookie, replayed, opens nothing
    testapp.set_cookie(SUBJECT_COOKIE, cookie)
    testapp.get(f"/p/s/{own.id}/", status=404)
