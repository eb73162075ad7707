"""Arbitrary bytes, charsets and multipart bodies posted to every form endpoint, as every role,
never get a 5xx.

The endpoints come from Pyramid's introspector (every view that takes a POST), placed in the
test world by the authorization matrix's ``PLACES``, so a new view is fuzzed without a change
here. The field names are those the templates use, so bodies reach past the first lookup. Each
endpoint gets a few examples (the ``ci`` profile makes them the same on every run); each example
is one body per role.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote_from_bytes

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from webob import Request

from datacapt.resources import Resource
from tests.conftest import ROOT
from tests.factories import add_persons, build_world, csrf_token, login
from tests.functional.test_authorization_matrix import PLACES, ROLES

EXAMPLES_PER_ENDPOINT = 1
FIELD_NAMES = sorted(
    {
        match
        for template in (ROOT / "templates").rglob("*.jinja2")
        for match in re.findall(r'name="([A-Za-z0-9_.:-]+)"', Path(template).read_text())
    }
)
CHARSETS = [None, "utf-8", "UTF8", "latin-1", "utf-16", "bogus", ""]


def post_endpoints(registry) -> list[tuple[type, str]]:
    """(context, view name) of every view that takes a POST; signing out comes last."""
    found = set()
    for entry in registry.introspector.get_category("views"):
        view = entry["introspectable"]
        context, methods = view["context"], view["request_methods"]
        if view["exception_only"] or view["route_name"] or not isinstance(context, type):
            continue
        if issubclass(context, Resource) and (methods is None or "POST" in methods):
            found.add((context, view["name"]))
    return sorted(found, key=lambda item: (item[1] == "logout", item[0].__name__, item[1]))


field_names = st.sampled_from(FIELD_NAMES) | st.text(max_size=12)
field_values = st.binary(max_size=40) | st.text(max_size=40).map(
    lambda text: text.encode("utf-8", "surrogatepass")
)


@st.composite
def urlencoded(draw):
    pairs = draw(st.lists(st.tuples(field_names, field_values), max_size=8))
    body = "&".join(
        quote_from_bytes(name.encode("utf-8", "surrogatepass")) + "=" + quote_from_bytes(value)
        for name, value in pairs
    )
    charset = draw(st.sampled_from(CHARSETS))
    content_type = "application/x-www-form-urlencoded"
    if charset is not None:
        content_type += f"; charset={charset}"
    return content_type, body.encode("ascii")


@st.composite
def multipart(draw):
    boundary = draw(st.sampled_from(["b0undary", "", "x y", "\u00e9"]))
    parts = draw(
        st.lists(st.tuples(field_names, field_values, st.none() | st.text(max_size=12)), max_size=6)
    )
    body = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        body += b"--b0undary\r\nContent-Disposition: " + disposition.encode("utf-8", "replace")
        body += b"\r\n\r\n" + value + b"\r\n"
    body += b"--b0undary--\r\n"
    cut = draw(st.none() | st.integers(min_value=0, max_value=len(body)))
    content_type = "multipart/form-data" + (f"; boundary={boundary}" if boundary else "")
    return content_type, body[:cut] if cut is not None else body


@st.composite
def raw(draw):
    content_type = draw(
        st.sampled_from(["", "text/plain", "application/json", "application/octet-stream"])
        | st.text(max_size=30)
    )
    return content_type, draw(st.binary(max_size=200))


bodies = st.one_of(urlencoded(), multipart(), raw())


def signed_in_cookies(testapp, world) -> dict[str, tuple[str, str]]:
    """Each role's (Cookie header, CSRF token), signed in through the real form."""
    found = {}
    for role in ROLES:
        testapp.reset()
        if role != "anonymous":
            assert login(testapp, world.users[role].email).status_int == 303
        token = csrf_token(testapp)
        cookie = "; ".join(f"{name}={value}" for name, value in testapp.cookies.items())
        found[role] = (cookie, token)
    return found


def send(app, url: str, cookie: str, content_type: str, body: bytes, address: str) -> int:
    request = Request.blank(url, method="POST", remote_addr=address, body=body)
    request.environ["CONTENT_TYPE"] = content_type.encode("utf-8", "replace").decode("latin-1")
    request.headers["Cookie"] = cookie
    request.headers["HX-Request"] = "true"
    return request.get_response(app).status_int


def test_no_form_endpoint_answers_a_5xx(testapp, dbsession, registry):
    world = build_world(dbsession, registry)
    add_persons(dbsession, registry, world)
    sessions = signed_in_cookies(testapp, world)
    endpoints = post_endpoints(registry)
    assert len(endpoints) > 50

    for context, name in endpoints:
        urls = sorted(place + name for place in PLACES[context].values())

        @settings(
            settings.default,
            max_examples=EXAMPLES_PER_ENDPOINT,
            deadline=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failure shows as drawn
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(
            url=st.sampled_from(urls),
            posts=st.lists(
                st.tuples(bodies, st.booleans()), min_size=len(ROLES), max_size=len(ROLES)
            ),
        )
        def post_as_every_role(url, posts):
            for number, (role, ((content_type, body), with_token)) in enumerate(
                zip(ROLES, posts, strict=True)
            ):
                cookie, token = sessions[role]
                if with_token:  # past the CSRF check, into the view's own parsing
                    content_type, body = with_csrf(content_type, body, token)
                status = send(testapp.app, url, cookie, content_type, body, f"10.9.0.{number}")
                assert status < 500, f"{role} POST {url} {content_type!r}: {status}"

        post_as_every_role()


def with_csrf(content_type: str, body: bytes, token: str) -> tuple[str, bytes]:
    """The body with the session's CSRF token added where its format carries one."""
    if content_type.startswith("multipart/form-data"):
        part = b'--b0undary\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        return content_type, part + token.encode() + b"\r\n" + body
    if content_type.startswith("application/x-www-form-urlencoded"):
        return content_type, f"csrf_token={token}&".encode() + body
    return content_type, body
