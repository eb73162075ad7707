"""Sign-in and sign-out through the real forms."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from datacapt.models import LoginAttempt, User
from tests.factories import PASSWORD, login, make_user


@pytest.fixture
def user(dbsession, registry):
    user = make_user(dbsession, registry, "ines@example.org", name="Inès Martin")
    dbsession.flush()
    return user


def test_login_page_sets_a_csrf_protected_form(testapp):
    page = testapp.get("/login")
    form = page.forms["login-form"]
    assert form["csrf_token"].value
    assert page.html.find("label", attrs={"for": "field-email"}) is not None
    assert "datacapt_session" in testapp.cookies


def test_sign_in_then_reach_the_home_page(testapp, user):
    response = login(testapp, "INES@example.org ")
    assert response.status_int == 303
    assert response.location == "http://localhost/"
    home = response.follow()
    assert "Inès Martin" in home.text


def test_sign_in_returns_to_came_from(testapp, user):
    page = testapp.get("/login?came_from=/preferences")
    form = page.forms["login-form"]
    form["email"], form["password"] = user.email, PASSWORD
    assert form.submit().location == "http://localhost/preferences"


@pytest.mark.parametrize(
    "came_from", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/\\evil"]
)
def test_came_from_never_leaves_the_site(testapp, user, came_from):
    form = testapp.get("/login", {"came_from": came_from}).forms["login-form"]
    form["email"], form["password"] = user.email, PASSWORD
    assert form.submit().location == "http://localhost/"


def test_wrong_password_is_refused_with_a_message_and_counted(testapp, user, dbsession):
    response = login(testapp, user.email, "wrong password!!")
    assert response.status_int == 422
    assert "The e-mail address or password is incorrect." in response.text
    assert response.forms["login-form"]["password"].value == ""
    attempts = dbsession.scalars(select(LoginAttempt)).all()
    assert [a.succeeded for a in attempts] == [False]
    assert user.email not in attempts[0].account_key  # a keyed hash, not the address


def test_unknown_account_gets_the_same_answer(testapp, user):
    response = login(testapp, "nobody@example.org", "whatever password")
    assert response.status_int == 422
    assert "The e-mail address or password is incorrect." in response.text


def test_empty_fields_get_messages_next_to_them(testapp):
    form = testapp.get("/login").forms["login-form"]
    response = form.submit(status=422)
    email = response.html.find(id="field-email")
    assert email["aria-invalid"] == "true"
    assert email["aria-describedby"] == "field-email-error"
    assert (
        response.html.find(id="field-email-error")
        .text.strip()
        .endswith("Enter your e-mail address.")
    )
    assert response.html.find(id="field-password-error") is not None


def test_oversized_password_is_refused_without_hashing(testapp, user):
    response = login(testapp, user.email, "x" * 100_000)
    assert response.status_int == 422


def test_inactive_user_cannot_sign_in(testapp, user, dbsession):
    user.is_active = False
    dbsession.flush()
    assert login(testapp, user.email).status_int == 422


def test_post_without_csrf_token_is_refused(testapp, user):
    testapp.get("/login")
    response = testapp.post("/login", {"email": user.email, "password": PASSWORD}, status=400)
    assert "Form expired" in response.text
    assert testapp.get("/", status=303).location.startswith("http://localhost/login")


def test_account_is_throttled_after_repeated_failures(testapp, user, registry):
    limit = registry["datacapt.settings"].login_max_failures_per_account
    for _ in range(limit):
        assert login(testapp, user.email, "wrong password!!").status_int == 422
    response = login(testapp, user.email, PASSWORD)  # even the right password waits
    assert response.status_int == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed sign-in attempts." in response.text


def test_address_is_throttled_across_accounts(testapp, user, registry):
    limit = registry["datacapt.settings"].login_max_failures_per_ip
    for number in range(limit):
        login(testapp, f"guess{number}@example.org", "wrong password!!")
    assert login(testapp, user.email, PASSWORD).status_int == 429


def test_a_success_clears_the_account_count(testapp, user, registry):
    limit = registry["datacapt.settings"].login_max_failures_per_account
    for _ in range(limit - 1):
        login(testapp, user.email, "wrong password!!")
    assert login(testapp, user.email).status_int == 303
    testapp.post(
        "/logout", {"csrf_token": testapp.get("/logout").forms["logout-form"]["csrf_token"].value}
    )
    for _ in range(limit - 1):
        login(testapp, user.email, "wrong password!!")
    assert login(testapp, user.email).status_int == 303


def test_session_is_renewed_at_sign_in(testapp, user, app):
    testapp.get("/login")
    planted = testapp.cookies["datacapt_session"]
    login(testapp, user.email)
    assert testapp.cookies["datacapt_session"] != planted
    # The pre-sign-in cookie does not carry the identity.
    other = type(testapp)(app, extra_environ=testapp.extra_environ)
    other.set_cookie("datacapt_session", planted)
    assert other.get("/", status=303).location.startswith("http://localhost/login")


def test_changing_the_password_ends_existing_sessions(testapp, user, dbsession, registry):
    from datacapt.accounts.passwords import hash_password

    login(testapp, user.email)
    testapp.get("/", status=200)
    user.password_hash = hash_password(registry, "another long password")
    dbsession.flush()
    assert testapp.get("/", status=303).location.startswith("http://localhost/login")


def test_sign_out_needs_a_post_and_ends_the_session(testapp, user):
    login(testapp, user.email)
    page = testapp.get("/logout")
    response = page.forms["logout-form"].submit()
    assert response.status_int == 303
    assert response.location == "http://localhost/login"
    assert "You have signed out." in response.follow().text
    assert testapp.get("/", status=303).location.startswith("http://localhost/login")


def test_htmx_sign_in_uses_hx_redirect(testapp, user):
    form = testapp.get("/login").forms["login-form"]
    form["email"], form["password"] = user.email, PASSWORD
    response = form.submit(headers={"HX-Request": "true"})
    assert response.status_int == 204
    assert response.headers["HX-Redirect"] == "http://localhost/"


def test_htmx_failed_sign_in_renders_the_fragment_with_422(testapp, user):
    form = testapp.get("/login").forms["login-form"]
    form["email"], form["password"] = user.email, "wrong password!!"
    response = form.submit(headers={"HX-Request": "true"}, status=422)
    assert "<html" not in response.text
    assert 'id="login"' in response.text


def test_outdated_hash_is_upgraded_at_sign_in(testapp, user, dbsession):
    from argon2 import PasswordHasher

    user.password_hash = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(PASSWORD)
    dbsession.flush()
    login(testapp, user.email)
    dbsession.expire_all()
    assert "m=1024" in dbsession.get(User, user.id).password_hash


def test_a_nul_character_in_a_form_is_refused_with_a_message(testapp, user):
    token = testapp.get("/login").forms["login-form"]["csrf_token"].value
    response = testapp.post(
        "/login", {"email": "a\x00b@example.org", "password": "x", "csrf_token": token}, status=400
    )
    assert "cannot be stored" in response.text
