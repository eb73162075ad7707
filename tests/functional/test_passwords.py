"""Changing one's password, its strength while typing, and resetting it by e-mail link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import webtest
from sqlalchemy import select

from datacapt.models import AuditEvent, LoginAttempt, PasswordResetToken, User
from datacapt.signin.reset import MAX_REQUESTS_PER_ACCOUNT, token_hash
from tests.factories import PASSWORD, csrf_token, login, make_user

NEW_PASSWORD = "violet tractor sings under the bridge"
LINK = re.compile(r"http://localhost/reset-password\?token=([\w-]+)")


@pytest.fixture
def user(dbsession, registry):
    user = make_user(dbsession, registry, "ines@example.org", name="Inès Martin-Dupont")
    dbsession.flush()
    return user


def events(dbsession, action):
    return dbsession.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def reloaded(dbsession, user):
    dbsession.expire_all()
    return dbsession.get(User, user.id)


def another_browser(testapp):
    return webtest.TestApp(testapp.app, extra_environ=testapp.extra_environ)


# --- change -----------------------------------------------------------------------------------


def change(testapp, current=PASSWORD, new=NEW_PASSWORD, confirm=None, **submit):
    form = testapp.get("/password").forms["password-form"]
    form["current_password"] = current
    form["new_password"] = new
    form["confirm_password"] = new if confirm is None else confirm
    return form.submit(status="*", **submit)


def test_change_password_keeps_this_session_and_ends_the_others(testapp, user, dbsession, mailbox):
    other = another_browser(testapp)
    login(other, user.email)
    login(testapp, user.email)
    response = change(testapp)
    assert response.status_int == 303
    assert response.location == "http://localhost/password"
    assert "Your other sessions have ended." in response.follow().text
    assert testapp.get("/", status=200)
    assert other.get("/", status=303).location.startswith("http://localhost/login")

    [event] = events(dbsession, "user.password_changed")
    assert (event.actor_id, event.entity_type, event.entity_id) == (user.id, "user", str(user.id))
    assert event.old_value is None and event.new_value is None  # no secret in the trail
    [mail] = mailbox.messages()
    assert mail["To"] == user.email
    assert mail["Subject"] == "Your password was changed"

    fresh = another_browser(testapp)
    assert login(fresh, user.email, PASSWORD).status_int == 422
    assert login(fresh, user.email, NEW_PASSWORD).status_int == 303


def test_the_form_has_labels_and_a_strength_meter(testapp, user):
    login(testapp, user.email)
    page = testapp.get("/password")
    for name in ("current_password", "new_password", "confirm_password"):
        assert page.html.find("label", attrs={"for": f"field-{name}"}) is not None
    field = page.html.find(id="field-new_password")
    assert field["hx-post"] == "http://localhost/password-strength"
    assert "delay:" in field["hx-trigger"]
    assert field["hx-select"] == "unset"  # not the form's, which selects the whole section
    assert page.html.find(id="password-strength")["aria-live"] == "polite"
    assert page.html.find("a", href="http://localhost/password")  # in the user menu


@pytest.mark.parametrize(
    ("current", "new", "confirm", "field", "message"),
    [
        ("wrong password!!", NEW_PASSWORD, None, "current_password", "is incorrect"),
        ("", NEW_PASSWORD, None, "current_password", "Enter your current password."),
        ("x" * 100_000, NEW_PASSWORD, None, "current_password", "is incorrect"),
        (PASSWORD, "short", None, "new_password", "Use at least 12 characters."),
        (PASSWORD, "y" * 129, None, "new_password", "Use at most 128 characters."),
        (PASSWORD, "Password1234", None, "new_password", "most common passwords"),
        (PASSWORD, "ines@example.org", None, "new_password", "e-mail address or name"),
        (PASSWORD, "inès martin-dupont", None, "new_password", "e-mail address or name"),
        (PASSWORD, NEW_PASSWORD, "something else", "confirm_password", "differ"),
        (PASSWORD, "", None, "new_password", "Enter a new password."),
    ],
)
def test_refused_changes_say_why_and_change_nothing(
    testapp, user, dbsession, mailbox, current, new, confirm, field, message
):
    login(testapp, user.email)
    before = user.password_hash
    response = change(testapp, current, new, confirm)
    assert response.status_int == 422
    error = response.html.find(id=f"field-{field}-error")
    assert error is not None and message in error.text
    assert response.forms["password-form"]["current_password"].value == ""
    assert reloaded(dbsession, user).password_hash == before
    assert events(dbsession, "user.password_changed") == []
    assert mailbox.messages() == []
    assert testapp.get("/", status=200)  # still signed in


def test_a_wrong_current_password_counts_as_a_failed_sign_in(testapp, user, dbsession, registry):
    login(testapp, user.email)
    limit = registry["datacapt.settings"].login_max_failures_per_account
    for _ in range(limit):
        assert change(testapp, current="wrong password!!").status_int == 422
    failures = dbsession.scalars(select(LoginAttempt).where(LoginAttempt.succeeded.is_(False)))
    assert len(failures.all()) == limit
    response = change(testapp)  # even the right one now waits
    assert response.status_int == 429
    assert "Too many failed sign-in attempts." in response.text


def test_a_replayed_change_is_refused(testapp, user, dbsession):
    login(testapp, user.email)
    form = testapp.get("/password").forms["password-form"]
    form["current_password"], form["new_password"] = PASSWORD, NEW_PASSWORD
    form["confirm_password"] = NEW_PASSWORD
    fields = dict(form.submit_fields())
    assert testapp.post("/password", fields).status_int == 303
    # The session was renewed with a new CSRF token: the same form sent again is stale.
    assert testapp.post("/password", fields, status=400)
    assert len(events(dbsession, "user.password_changed")) == 1


def test_htmx_refusal_swaps_the_fragment(testapp, user):
    login(testapp, user.email)
    response = change(testapp, new="short", headers={"HX-Request": "true"})
    assert response.status_int == 422
    assert "<html" not in response.text
    assert 'id="change-password"' in response.text


# --- strength ---------------------------------------------------------------------------------


def strength(testapp, password):
    token = csrf_token(testapp)
    return testapp.post(
        "/password-strength",
        {"new_password": password},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("password1234", "Very weak"),
        (NEW_PASSWORD, "Very strong"),
        ("short", "Use at least 12 characters."),
        ("z" * 50_000, "Use at most 128 characters."),
    ],
)
def test_strength_is_told_in_words_and_on_a_meter(testapp, password, expected):
    response = strength(testapp, password)
    assert response.status_int == 200
    assert expected in response.text
    meter = response.html.find("meter")
    assert meter["min"] == "0" and meter["max"] == "4"


def test_strength_knows_the_signed_in_users_data(testapp, user):
    login(testapp, user.email)
    token = testapp.get("/password").forms["password-form"]["csrf_token"].value
    response = testapp.post(
        "/password-strength",
        {"new_password": "Inès Martin-Dupont"},
        headers={"X-CSRF-Token": token},
    )
    assert "e-mail address or name" in response.text


def test_strength_of_nothing_is_nothing(testapp):
    assert strength(testapp, "").html.find("meter") is None


def test_strength_needs_the_csrf_token(testapp):
    testapp.get("/login")
    testapp.post("/password-strength", {"new_password": "whatever"}, status=400)


# --- forgotten password -----------------------------------------------------------------------


def ask_link(testapp, email, **submit):
    page = testapp.get("/login").click("Forgot your password?")
    form = page.forms["forgot-password-form"]
    form["email"] = email
    return form.submit(status="*", **submit)


def link_in(mail) -> str:
    return LINK.search(mail.get_content()).group(0)


def test_a_known_address_gets_a_single_use_link(testapp, user, dbsession, mailbox):
    response = ask_link(testapp, "INES@example.org ")
    assert response.status_int == 303
    assert "If an account uses this address" in response.follow().text
    [mail] = mailbox.messages()
    assert mail["To"] == user.email
    assert mail["Subject"] == "Reset your Datacapt password"
    token = LINK.search(mail.get_content()).group(1)
    [row] = dbsession.scalars(select(PasswordResetToken)).all()
    assert row.token_hash == token_hash(token) != token  # only the hash is stored
    assert timedelta(minutes=55) < row.expires_at - datetime.now(UTC) <= timedelta(hours=1)


@pytest.mark.parametrize("email", ["nobody@example.org", "inactive@example.org"])
def test_an_unknown_or_inactive_address_gets_the_same_answer_and_no_mail(
    testapp, user, dbsession, registry, mailbox, email
):
    make_user(dbsession, registry, "inactive@example.org").is_active = False
    dbsession.flush()
    known = ask_link(another_browser(testapp), user.email)
    unknown = ask_link(testapp, email)
    assert (unknown.status_int, unknown.location) == (known.status_int, known.location)
    assert (
        unknown.follow().html.find(class_="flash").text
        == known.follow().html.find(class_="flash").text
    )
    assert [mail["To"] for mail in mailbox.messages()] == [user.email]


@pytest.mark.parametrize("email", ["", "not an address", "a@" + "b" * 300 + ".example"])
def test_a_malformed_address_is_refused_next_to_the_field(testapp, mailbox, email):
    response = ask_link(testapp, email)
    assert response.status_int == 422
    assert response.html.find(id="field-email-error") is not None
    assert mailbox.messages() == []


@pytest.mark.parametrize("email", ["ines@example.org", "nobody@example.org"])
def test_asking_too_often_is_throttled_alike_for_every_address(testapp, user, mailbox, email):
    for _ in range(MAX_REQUESTS_PER_ACCOUNT):
        assert ask_link(testapp, email).status_int == 303
    response = ask_link(testapp, email)
    assert response.status_int == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many reset links were asked for." in response.text
    assert len(mailbox.messages()) == (MAX_REQUESTS_PER_ACCOUNT if email == user.email else 0)


def test_the_mail_speaks_the_users_language(testapp, user, dbsession, mailbox):
    user.locale = "pl"
    dbsession.flush()
    ask_link(testapp, user.email, headers={"Accept-Language": "de"})
    [mail] = mailbox.messages()
    assert mail["Subject"] == "Zresetuj hasło do Datacapt"
    assert "Dzień dobry Inès Martin-Dupont," in mail.get_content()


# --- reset by link ----------------------------------------------------------------------------


def open_link(testapp, link):
    """Follow the mail's link as a browser does; the token leaves the URL at once."""
    landing = testapp.get(link, status="*")
    if landing.status_int != 303:
        return landing
    assert landing.location == "http://localhost/reset-password"
    assert landing.headers["Referrer-Policy"] == "no-referrer"
    return landing.follow(status="*")


def reset(testapp, link, new=NEW_PASSWORD, confirm=None):
    page = open_link(testapp, link)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    form = page.forms["reset-password-form"]
    form["new_password"] = new
    form["confirm_password"] = new if confirm is None else confirm
    return form.submit(status="*")


@pytest.fixture
def link(testapp, user, mailbox):
    ask_link(another_browser(testapp), user.email)
    return link_in(mailbox.messages()[-1])


def test_a_reset_sets_the_password_ends_every_session_and_sends_to_sign_in(
    testapp, user, dbsession, mailbox, link
):
    signed_in = another_browser(testapp)
    login(signed_in, user.email)
    response = reset(testapp, link)
    assert response.status_int == 303
    assert response.location == "http://localhost/login"
    assert "Sign in with your new password." in response.follow().text
    assert signed_in.get("/", status=303).location.startswith("http://localhost/login")
    assert login(testapp, user.email, NEW_PASSWORD).status_int == 303

    [event] = events(dbsession, "user.password_reset")
    assert (event.actor_id, event.entity_id) == (user.id, str(user.id))
    assert reloaded(dbsession, user) and dbsession.scalar(select(PasswordResetToken)).used_at
    assert [mail["Subject"] for mail in mailbox.messages()] == [
        "Reset your Datacapt password",
        "Your password was changed",
    ]


def test_a_used_link_is_refused_and_audited(testapp, user, dbsession, link):
    assert reset(testapp, link).status_int == 303
    again = open_link(another_browser(testapp), link)
    assert again.status_int == 410
    assert "already used" in again.text
    [event] = events(dbsession, "user.password_reset_refused")
    assert (event.entity_id, event.new_value) == (str(user.id), "used")


def test_a_replayed_reset_form_is_refused(testapp, user, dbsession, link):
    page = open_link(testapp, link)
    form = page.forms["reset-password-form"]
    form["new_password"] = form["confirm_password"] = NEW_PASSWORD
    fields = dict(form.submit_fields())
    assert testapp.post("/reset-password", fields).status_int == 303
    testapp.post("/reset-password", fields, status=400)  # the session (and its token) ended
    assert len(events(dbsession, "user.password_reset")) == 1


def test_an_expired_link_is_refused_and_audited(testapp, user, dbsession, link):
    row = dbsession.scalar(select(PasswordResetToken))
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    dbsession.flush()
    response = open_link(testapp, link)
    assert response.status_int == 410
    assert "This link has expired." in response.text
    assert response.html.find("a", href="http://localhost/forgot-password")
    [event] = events(dbsession, "user.password_reset_refused")
    assert event.new_value == "expired"


def test_a_link_expiring_while_the_form_is_open_is_refused(testapp, user, dbsession, link):
    page = open_link(testapp, link)
    dbsession.scalar(select(PasswordResetToken)).expires_at = datetime.now(UTC)
    dbsession.flush()
    form = page.forms["reset-password-form"]
    form["new_password"] = form["confirm_password"] = NEW_PASSWORD
    assert form.submit(status=410)
    assert reloaded(dbsession, user).password_hash == user.password_hash


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token[:-1],
        lambda token: token + "x" * 5000,
        lambda token: "",
    ],
)
def test_a_tampered_link_is_refused(testapp, user, dbsession, link, tamper):
    token = link.rsplit("=", 1)[1]
    response = open_link(testapp, f"/reset-password?token={tamper(token)}")
    assert response.status_int == 404
    assert "This link is not valid." in response.text
    assert events(dbsession, "user.password_reset_refused") == []


def test_the_form_without_a_link_is_refused(testapp, user):
    testapp.get("/reset-password", status=404)
    token = csrf_token(testapp)
    testapp.post(
        "/reset-password",
        {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "csrf_token": token},
        status=404,
    )


def test_a_refused_new_password_keeps_the_link_usable(testapp, user, dbsession, link):
    response = reset(testapp, link, new="Password1234")
    assert response.status_int == 422
    assert "most common passwords" in response.html.find(id="field-new_password-error").text
    assert dbsession.scalar(select(PasswordResetToken)).used_at is None
    form = response.forms["reset-password-form"]
    form["new_password"] = form["confirm_password"] = NEW_PASSWORD
    assert form.submit().status_int == 303


def test_only_the_latest_link_works(testapp, user, mailbox, link):
    ask_link(another_browser(testapp), user.email)
    latest = link_in(mailbox.messages()[-1])
    assert open_link(testapp, link).status_int == 404
    assert reset(testapp, latest).status_int == 303
