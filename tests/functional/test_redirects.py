"""Redirect targets taken from the request are percent-encoded: a ``came_from`` holding
characters a header cannot carry still lands where it points (it used to commit a session whose
cookie never arrived)."""

from __future__ import annotations

import pytest

from datacapt.errors import safe_came_from
from tests.factories import login, make_user

TARGET = "/\u3002x?q=caf\u00e9"
ENCODED = "/%E3%80%82x?q=caf%C3%A9"


@pytest.fixture
def user(dbsession, registry):
    found = make_user(dbsession, registry, "redirect-user@example.org")
    dbsession.flush()
    return found


def ascii_location(response, header: str = "Location") -> str:
    location = response.headers[header]
    location.encode("ascii")
    return location


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (TARGET, ENCODED),
        ("/acme/demo/?page=2", "/acme/demo/?page=2"),
        ("/a%20b", "/a%20b"),  # escapes are kept, not doubled
        ("//evil.example/\u3002", "/"),
    ],
)
def test_safe_came_from_encodes_what_a_header_cannot_carry(value, expected):
    assert safe_came_from(value) == expected


def test_sign_in_with_a_non_latin_came_from(testapp, user):
    form = testapp.get("/login", {"came_from": TARGET}).forms["login-form"]
    form["email"], form["password"] = user.email, "correct horse battery staple"
    response = form.submit(status=303)
    assert ascii_location(response) == "http://localhost" + ENCODED
    assert "datacapt_session" in response.headers.get("Set-Cookie", "")
    assert testapp.get("/", status=200)  # the session arrived


def test_a_posted_came_from_is_encoded_for_htmx_too(testapp, user):
    token = testapp.get("/login").forms["login-form"]["csrf_token"].value
    response = testapp.post(
        "/login",
        {
            "email": user.email,
            "password": "correct horse battery staple",
            "csrf_token": token,
            "came_from": TARGET,
        },
        headers={"HX-Request": "true"},
        status=204,
    )
    assert ascii_location(response, "HX-Redirect") == "http://localhost" + ENCODED


def test_the_login_page_while_signed_in(testapp, user):
    login(testapp, user.email)
    response = testapp.get("/login", {"came_from": TARGET}, status=303)
    assert ascii_location(response) == "http://localhost" + ENCODED


@pytest.mark.parametrize("signed_in", [False, True])
def test_choosing_a_language(testapp, user, signed_in):
    if signed_in:
        login(testapp, user.email)
    page = testapp.get("/login" if not signed_in else "/preferences")
    token = page.html.find("input", attrs={"name": "csrf_token"})["value"]
    response = testapp.post(
        "/language", {"language": "fr", "came_from": TARGET, "csrf_token": token}, status=303
    )
    assert ascii_location(response) == "http://localhost" + ENCODED
