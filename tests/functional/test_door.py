"""Malformed addresses, query strings, charsets and multipart bodies are refused at the door
with a 400 and a message, anonymous or signed in, never a 500 (on PostgreSQL a NUL in a path
segment used to reach the database)."""

from __future__ import annotations

import pytest
from webob import Request

from tests.factories import PASSWORD, build_world, csrf_token, login

MALFORMED_PATHS = [
    "/acme/%ff/",  # not UTF-8
    "/%C0%AF",  # an overlong encoding of '/'
    "/?q=%ff",  # a query string that is not UTF-8
    "/%ED%A0%80",  # a lone surrogate
    "/login?came_from=%ED%A0%80",
    "/acme/demo%00/",  # NUL in a path segment
    "/acme/demo/subjects/par01%000001/",
    "/a%00b/login",
    "/login?q=%00",  # NUL in the query string
]
CANNOT_READ = "could not be read"
CANNOT_STORE = "cannot be stored"


def send(testapp, path: str, method: str = "GET", **options) -> Request:
    """Send a raw request with the test browser's cookies (WebTest itself cannot build a URL
    for a path that is not UTF-8)."""
    request = Request.blank(path, method=method, remote_addr="10.0.0.1", **options)
    request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in testapp.cookies.items())
    return request.get_response(testapp.app)


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("path", MALFORMED_PATHS)
def test_a_malformed_address_is_a_400(testapp, world, path, signed_in):
    if signed_in:
        assert login(testapp, world.users["coordinator"].email).status_int == 303
    response = send(testapp, path)
    assert response.status_int == 400
    assert "Content-Security-Policy" in response.headers  # the page went through the app
    assert CANNOT_READ in response.text or CANNOT_STORE in response.text


def form(token: str, boundary: str, *fields: tuple[str, bytes, str | None]) -> bytes:
    parts = []
    for name, value, filename in ((b"csrf_token", token.encode(), None), *fields):
        name = name if isinstance(name, bytes) else name.encode()
        disposition = b'form-data; name="' + name + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename.encode("latin-1") + b'"'
        parts.append(b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disposition)
        parts.append(b"\r\n\r\n" + value + b"\r\n")
    return b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"


def malformed_bodies(token: str) -> dict[str, tuple[str, bytes]]:
    urlencoded = f"csrf_token={token}&email=a%40example.org&password=x"
    return {
        "bogus charset": (
            "application/x-www-form-urlencoded; charset=bogus",
            urlencoded.encode(),
        ),
        "UTF-16 charset": (
            "application/x-www-form-urlencoded; charset=utf-16",
            urlencoded.encode("utf-16"),
        ),
        "multipart without a boundary": ("multipart/form-data", form(token, "xyz")),
        "multipart with a NUL in a filename": (
            "multipart/form-data; boundary=xyz",
            form(token, "xyz", ("file", b"data", "a\x00b.csv")),
        ),
        "multipart with a NUL in a value": (
            "multipart/form-data; boundary=xyz",
            form(token, "xyz", ("email", b"a\x00b@example.org", None)),
        ),
        "a NUL in a field name": (
            "application/x-www-form-urlencoded",
            f"csrf_token={token}&e%00mail=x".encode(),
        ),
    }


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("case", list(malformed_bodies("t")))
@pytest.mark.parametrize("path", ["/login", "/acme/demo/subjects/@@enrol"])
def test_a_malformed_form_is_a_400(testapp, world, case, signed_in, path):
    if signed_in:
        assert login(testapp, world.users["coordinator"].email).status_int == 303
    content_type, body = malformed_bodies(csrf_token(testapp))[case]
    response = send(testapp, path, "POST", content_type=content_type, body=body)
    assert response.status_int == 400, response.text[:500]
    assert CANNOT_READ in response.text or CANNOT_STORE in response.text


def test_a_well_formed_multipart_form_still_works(testapp, world):
    token = csrf_token(testapp)
    body = form(
        token,
        "xyz",
        ("email", world.users["coordinator"].email.encode(), None),
        ("password", PASSWORD.encode(), None),
    )
    response = send(
        testapp, "/login", "POST", content_type="multipart/form-data; boundary=xyz", body=body
    )
    assert response.status_int == 303


def test_a_form_declared_utf8_in_any_spelling_is_read(testapp, world):
    token = csrf_token(testapp)
    response = testapp.post(
        "/login",
        f"csrf_token={token}&email=nobody%40example.org&password=wrong".encode(),
        content_type='application/x-www-form-urlencoded; charset="UTF8"',
        status=422,
    )
    assert "is incorrect" in response.text
