"""A session that ends while a page is open: the page's request is answered so the page can sign
in again in place (401, never the sign-in page), the sign-in in place is a real sign-in (a new
session and CSRF token, throttled, with the second factor), and “Stay signed in” renews."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from datacapt.models import UserSession
from tests.factories import PASSWORD, build_world, login
from tests.functional.test_entry import DEMOGRAPHICS, entry_form, fill, values_of
from tests.functional.test_two_factor import actions, code_at, set_up

HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def coordinator(testapp, world):
    assert login(testapp, world.users["coordinator"].email).status_int == 303
    return testapp


def expire_sessions(dbsession, user) -> None:
    """The user went idle for longer than the idle timeout (the server's clock says so)."""
    dbsession.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id)
        .values(last_seen_at=datetime.now(UTC) - timedelta(hours=2))
    )
    dbsession.flush()


def open_rows(dbsession, user) -> list[UserSession]:
    dbsession.expire_all()
    return list(
        dbsession.scalars(
            select(UserSession).where(
                UserSession.user_id == user.id, UserSession.ended_at.is_(None)
            )
        )
    )


def dialog_form(testapp):
    return testapp.get("/sign-in-again", headers=HTMX).forms["sign-in-again-form"]


def signed_in(response) -> dict:
    return json.loads(response.headers["HX-Trigger"])["datacapt:signed-in"]


def test_a_save_on_an_ended_session_gets_401_and_saves_nothing(coordinator, world, dbsession):
    form = fill(entry_form(coordinator.get(DEMOGRAPHICS)), initials="JM", height_cm="180")
    expire_sessions(dbsession, world.users["coordinator"])
    response = form.submit(headers=HTMX, status=401)
    assert response.headers["Datacapt-Sign-In"].startswith("http://localhost/login?came_from=")
    assert "HX-Redirect" not in response.headers
    assert values_of(dbsession) == {}


def test_signing_in_again_opens_a_new_session_with_a_new_csrf_token(coordinator, world, dbsession):
    user = world.users["coordinator"]
    old_cookie = coordinator.cookies["datacapt_session"]
    form = fill(entry_form(coordinator.get(DEMOGRAPHICS)), initials="JM", height_cm="180")
    old_token = form["csrf_token"].value
    (old_session,) = open_rows(dbsession, user)
    expire_sessions(dbsession, user)
    form.submit(headers=HTMX, status=401)

    again = dialog_form(coordinator)
    assert again["email"].value == user.email  # proposed: the cookie named their session
    again["password"] = PASSWORD
    response = again.submit(headers=HTMX)
    assert response.status_int == 200
    assert "You are signed in again." in response.text
    event = signed_in(response)
    assert event["user"] == user.id
    assert event["csrfToken"] != old_token
    (new_session,) = open_rows(dbsession, user)
    assert new_session.id != old_session.id  # no session fixation
    assert coordinator.cookies["datacapt_session"] != old_cookie
    assert actions(dbsession, user)[-1] == "user.signed_in"

    # The page's request, replayed with the new token, is saved; with the old one it is not.
    form["csrf_token"] = old_token
    form.submit(headers=HTMX, status=400)
    assert values_of(dbsession) == {}
    form["csrf_token"] = event["csrfToken"]
    assert form.submit(headers=HTMX).headers["HX-Redirect"].endswith("/demographics/")
    assert values_of(dbsession)["I.HEIGHT_CM"].value == "180"


def test_a_wrong_password_is_refused_in_place(coordinator, world, dbsession):
    user = world.users["coordinator"]
    expire_sessions(dbsession, user)
    again = dialog_form(coordinator)
    again["password"] = "not the password"
    response = again.submit(headers=HTMX, status=422)
    assert "The e-mail address or password is incorrect." in response.text
    assert "HX-Trigger" not in response.headers
    assert response.forms["sign-in-again-form"]["password"].value == ""
    assert open_rows(dbsession, user) == []
    assert actions(dbsession, user)[-1] == "user.sign_in_failed"


def test_the_sign_in_form_needs_its_csrf_token(testapp, world):
    testapp.post(
        "/sign-in-again",
        {"email": world.users["coordinator"].email, "password": PASSWORD},
        headers=HTMX,
        status=400,
    )


def test_another_account_signing_in_is_named_in_the_answer(coordinator, world, dbsession):
    """The page compares who signed in with who made its request (app.js drops it if they
    differ): the answer names the account that signed in."""
    expire_sessions(dbsession, world.users["coordinator"])
    again = dialog_form(coordinator)
    again["email"] = world.users["monitor"].email
    again["password"] = PASSWORD
    event = signed_in(again.submit(headers=HTMX))
    assert event["user"] == world.users["monitor"].id


def test_an_enrolled_account_gives_its_code_too(coordinator, world, dbsession):
    user = world.users["coordinator"]
    secret, _codes = set_up(coordinator)
    expire_sessions(dbsession, user)
    again = dialog_form(coordinator)
    again["password"] = PASSWORD
    step = again.submit(headers=HTMX)
    assert "HX-Trigger" not in step.headers
    code_form = step.forms["sign-in-again-form"]
    code_form["code"] = "000000" if code_at(secret, 1) != "000000" else "111111"
    wrong = code_form.submit(headers=HTMX, status=422)
    assert "This code is not valid, or it was used already." in wrong.text
    assert open_rows(dbsession, user) == []
    code_form = wrong.forms["sign-in-again-form"]
    code_form["code"] = code_at(secret, 1)
    event = signed_in(code_form.submit(headers=HTMX))
    assert event["user"] == user.id
    assert len(open_rows(dbsession, user)) == 1
    assert actions(dbsession, user)[-1] == "user.signed_in"


def test_a_code_without_a_password_first_is_refused(testapp, world):
    page = testapp.get("/sign-in-again", headers=HTMX)
    token = page.forms["sign-in-again-form"]["csrf_token"].value
    response = testapp.post(
        "/sign-in-again",
        {"step": "code", "code": "123456", "csrf_token": token},
        headers=HTMX,
        status=422,
    )
    assert "Your sign-in took too long. Sign in again." in response.text
    assert "HX-Trigger" not in response.headers


def test_a_user_still_signed_in_needs_no_password(coordinator, world):
    event = signed_in(coordinator.get("/sign-in-again", headers=HTMX))
    assert event["user"] == world.users["coordinator"].id


def test_staying_signed_in_renews_the_session(coordinator, world, dbsession):
    user = world.users["coordinator"]
    (row,) = open_rows(dbsession, user)
    dbsession.execute(
        update(UserSession)
        .where(UserSession.id == row.id)
        .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=25))
    )
    dbsession.flush()
    page = coordinator.get("/")
    dialog = page.html.find(id="session-dialog")
    assert dialog["data-idle-seconds"] == "1800"
    assert page.html.body["data-user"] == str(user.id)
    token = page.html.find("input", attrs={"name": "csrf_token"})["value"]
    coordinator.post("/keep-alive", headers={**HTMX, "X-CSRF-Token": token}, status=204)
    (renewed,) = open_rows(dbsession, user)
    assert datetime.now(UTC) - renewed.last_seen_at < timedelta(minutes=1)


def test_staying_signed_in_after_the_end_asks_to_sign_in(coordinator, world, dbsession):
    token = coordinator.get("/").html.find("input", attrs={"name": "csrf_token"})["value"]
    expire_sessions(dbsession, world.users["coordinator"])
    coordinator.post("/keep-alive", headers={**HTMX, "X-CSRF-Token": token}, status=401)
