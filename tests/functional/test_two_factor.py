"""Two-factor authentication through the real pages: set-up, sign-in with a code or a recovery
code, replays, the tenant's requirement, turning it off."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import select

from datacapt.accounts.services import grant_tenant_role
from datacapt.models import AuditEvent, RecoveryCode, TotpSecret
from datacapt.permissions import TenantRole
from datacapt.studies.services import create_tenant
from tests.factories import PASSWORD, login, make_user


@pytest.fixture
def user(dbsession, registry):
    return make_user(dbsession, registry, "ines@example.org", name="Inès Martin")


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def set_up(testapp) -> tuple[str, list[str]]:
    """Set up an authenticator from the two-factor page as the signed-in user would: the key
    read from the page, the first code typed in. Returns (secret, recovery codes)."""
    page = testapp.get("/two-factor")
    enrol = page.forms["two-factor-start-form"].submit()
    assert enrol.status_int == 200
    assert enrol.html.select_one("figure.qr-code svg") is not None
    secret = enrol.html.find(id="manual-key").text.replace(" ", "")
    form = enrol.forms["enrol-form"]
    form["code"] = code_at(secret)
    done = form.submit()
    assert done.status_int == 200
    codes = [li.text.strip() for li in done.html.select("#recovery-code-list li")]
    return secret, codes


def sign_in_with_code(testapp, email: str, code: str):
    response = login(testapp, email)
    assert response.status_int == 303
    assert response.location == "http://localhost/login-code"
    form = testapp.get("/login-code").forms["login-code-form"]
    form["code"] = code
    return form.submit(status="*")


def actions(dbsession, user) -> list[str]:
    return list(
        dbsession.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_type == "user", AuditEvent.entity_id == str(user.id))
            .order_by(AuditEvent.id)
        )
    )


def test_set_up_then_sign_in_with_a_code(testapp, user, dbsession, registry):
    login(testapp, user.email)
    secret, codes = set_up(testapp)
    assert len(codes) == 10 and len(set(codes)) == 10
    dbsession.expire_all()
    assert user.two_factor_enabled_at is not None
    row = dbsession.get(TotpSecret, user.id)
    assert secret.encode() not in row.ciphertext  # sealed, not stored as typed
    assert all(
        code not in h for h in dbsession.scalars(select(RecoveryCode.code_hash)) for code in codes
    )
    testapp.post("/logout", {"csrf_token": testapp.get("/logout").forms[0]["csrf_token"].value})

    response = sign_in_with_code(testapp, user.email, code_at(secret, 1))
    assert response.status_int == 303
    assert response.location == "http://localhost/"
    assert "Inès Martin" in response.follow().text
    events = actions(dbsession, user)
    assert events.count("user.two_factor_enrolled") == 1
    assert events[-1] == "user.signed_in"


def test_password_alone_gives_no_session_when_a_second_factor_is_set(testapp, user):
    login(testapp, user.email)
    set_up(testapp)
    testapp.reset()
    login(testapp, user.email)
    assert testapp.get("/", status=303).location.startswith("http://localhost/login")
    assert testapp.get("/two-factor", status=303).location.startswith("http://localhost/login")


def test_a_code_is_never_accepted_twice(testapp, user, dbsession):
    login(testapp, user.email)
    secret, _codes = set_up(testapp)
    code = code_at(secret, 1)
    testapp.reset()
    assert sign_in_with_code(testapp, user.email, code).status_int == 303
    testapp.reset()
    replay = sign_in_with_code(testapp, user.email, code)
    assert replay.status_int == 422
    assert "This code is not valid, or it was used already." in replay.text
    failures = [a for a in actions(dbsession, user) if a == "user.sign_in_failed"]
    assert failures == ["user.sign_in_failed"]  # audited and kept despite the 422


def test_a_recovery_code_works_once(testapp, user):
    login(testapp, user.email)
    _secret, codes = set_up(testapp)
    testapp.reset()
    response = sign_in_with_code(testapp, user.email, codes[0].upper())
    assert response.status_int == 303
    assert "9 codes are left" in response.follow().text
    testapp.reset()
    assert sign_in_with_code(testapp, user.email, codes[0]).status_int == 422


def test_wrong_codes_are_throttled_like_passwords(testapp, user):
    login(testapp, user.email)
    set_up(testapp)
    testapp.reset()
    statuses = [sign_in_with_code(testapp, user.email, "000000").status_int for _ in range(5)]
    assert statuses == [422] * 5
    response = login(testapp, user.email)
    assert response.status_int == 429
    assert "Too many failed sign-in attempts" in response.text


def test_a_pending_sign_in_expires(testapp, user, monkeypatch):
    login(testapp, user.email)
    set_up(testapp)
    testapp.reset()
    login(testapp, user.email)
    later = time.time() + 301
    monkeypatch.setattr("datacapt.signin.flow.time.time", lambda: later)
    response = testapp.get("/login-code")
    assert response.status_int == 303
    assert "Your sign-in took too long" in response.follow().text


def test_wrong_first_code_keeps_the_set_up_going(testapp, user):
    login(testapp, user.email)
    enrol = testapp.get("/two-factor").forms["two-factor-start-form"].submit()
    secret = enrol.html.find(id="manual-key").text.replace(" ", "")
    form = enrol.forms["enrol-form"]
    form["code"] = "12345x"
    refused = form.submit(status=422)
    assert "This code is not valid" in refused.text
    assert refused.html.find(id="manual-key").text.replace(" ", "") == secret
    form = refused.forms["enrol-form"]
    form["code"] = code_at(secret)
    assert form.submit().status_int == 200


def test_a_tenant_requirement_forces_set_up_at_the_next_sign_in(testapp, user, dbsession):
    tenant = create_tenant(dbsession, "acme", "Acme Research")
    grant_tenant_role(dbsession, user, tenant, TenantRole.TENANT_ADMIN)
    login(testapp, user.email)
    form = testapp.get("/acme/@@security").forms["tenant-security-form"]
    form["two_factor_required"] = True
    form.submit().follow()
    dbsession.expire_all()
    assert tenant.two_factor_required is True
    event = dbsession.scalars(select(AuditEvent).where(AuditEvent.action == "tenant.changed")).one()
    assert (event.field, event.old_value, event.new_value) == (
        "two_factor_required",
        "false",
        "true",
    )

    testapp.reset()
    response = login(testapp, user.email)
    assert response.location == "http://localhost/login-enrol"
    assert testapp.get("/", status=303).location.startswith("http://localhost/login")
    page = testapp.get("/login-enrol")
    enrol = page.forms["enrol-start-form"].submit()
    secret = enrol.html.find(id="manual-key").text.replace(" ", "")
    form = enrol.forms["enrol-form"]
    form["code"] = code_at(secret)
    done = form.submit()
    assert len(done.html.select("#recovery-code-list li")) == 10
    assert testapp.get("/").status_int == 200  # signed in now

    status = testapp.get("/two-factor")
    assert "two-factor-off-form" not in status.forms
    assert "cannot be turned off" in status.text


def test_turning_off_needs_the_password_and_a_code(testapp, user, dbsession):
    login(testapp, user.email)
    secret, _codes = set_up(testapp)
    form = testapp.get("/two-factor").forms["two-factor-off-form"]
    form["password"], form["off-code"] = "not my password", code_at(secret, 1)
    refused = form.submit(status=422)
    assert "The password is incorrect." in refused.text
    dbsession.expire_all()
    assert user.two_factor_enabled_at is not None
    form = refused.forms["two-factor-off-form"]
    form["password"], form["off-code"] = PASSWORD, code_at(secret, 1)
    form.submit(status=303)
    dbsession.expire_all()
    assert user.two_factor_enabled_at is None
    assert dbsession.get(TotpSecret, user.id) is None
    assert "user.two_factor_disabled" in actions(dbsession, user)


def test_new_recovery_codes_replace_the_old_ones(testapp, user):
    login(testapp, user.email)
    secret, old = set_up(testapp)
    form = testapp.get("/two-factor").forms["recovery-codes-form"]
    form["code"] = code_at(secret, 1)
    new = [li.text.strip() for li in form.submit().html.select("#recovery-code-list li")]
    assert len(new) == 10 and not set(new) & set(old)
    testapp.reset()
    assert sign_in_with_code(testapp, user.email, old[0]).status_int == 422
    testapp.reset()
    assert sign_in_with_code(testapp, user.email, new[0]).status_int == 303


@pytest.mark.parametrize("code", ["", "1" * 41, "abc def"])
def test_bad_codes_get_a_message_never_a_500(testapp, user, code):
    login(testapp, user.email)
    set_up(testapp)
    testapp.reset()
    login(testapp, user.email)
    form = testapp.get("/login-code").forms["login-code-form"]
    form["code"] = code
    response = form.submit(status=422)
    assert response.html.select_one(".field.has-error") is not None


def test_audit_text_never_holds_the_address(testapp, user, dbsession):
    login(testapp, user.email, "wrong password!!")
    login(testapp, "nobody@example.org", "wrong password!!")
    login(testapp, user.email)
    rows = dbsession.scalars(select(AuditEvent)).all()
    assert {r.action for r in rows} >= {"user.sign_in_failed", "user.signed_in"}
    for row in rows:
        text = " ".join(str(v) for v in (row.entity_id, row.old_value, row.new_value, row.reason))
        assert "example.org" not in text
