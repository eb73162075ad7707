"""The door's reading of an urlencoded form gives webob's own ``request.POST``, item for item,
on bodies made to differ (blanks, repeated names, ``+``, escapes, bytes that are not UTF-8,
NULs), and leaves every other form to webob."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyramid.request import Request

from datacapt import door

URLENCODED = "application/x-www-form-urlencoded"
BODIES = [
    b"",
    b"a=1",
    b"a=1&a=2&b=&a=3",  # repeated names, in order; a blank kept
    b"a&b=&=c&&d==e&f=g=h&",  # no "=", empty name, empty fields skipped, "=" in a value
    b"text=two+words&plus=%2B&amp=%26&eq=%3D&pct=%25&bad=%zz&half=%4",
    b"name%20with+space=caf%C3%A9&raw=caf\xc3\xa9",
    b"a=%ff&b=\xff&c=%C0%AF&d=%ED%A0%80&e=\xed\xa0\x80",  # not UTF-8: replaced, as webob does
    b"%E2%82=x&y=%E2%82%AC",  # an escape cut in the middle of a character
    b"a=%00",
    b"a%00=1",
    b"a=\x00",
    b"lock=3&csrf_token=abc&I_W=72.5&missing-I_X=NA&complete=1",
]


def _request(body: bytes, content_type: str = URLENCODED) -> Request:
    return Request.blank("/", method="POST", content_type=content_type, body=body)


def _webob(body: bytes, content_type: str = URLENCODED) -> list[tuple[str, str]]:
    return list(_request(body, content_type).POST.items())


def _door(body: bytes, content_type: str = URLENCODED) -> tuple[bool | None, Request]:
    request = _request(body, content_type)
    return door._read_urlencoded(request), request


@pytest.mark.parametrize("body", BODIES)
def test_an_urlencoded_form_reads_as_webob_reads_it(body):
    holds_nul, request = _door(body)
    assert holds_nul is not None
    assert list(request.POST.items()) == _webob(body)
    assert holds_nul == any("\x00" in name + value for name, value in _webob(body))
    assert request.body == body  # the body is still there to read


#: The pieces of generated bodies: separators, escapes whole and cut, bytes that are not UTF-8.
PIECES = [b"a", b"b", b"=", b"&", b";", b"+", b"%", b"2B", b"00", b"C3", b"A9", b"zz", b"\xff"]
PIECES += [b"\xc3", b"\x00", b" ", b"\xa9", b"\r\n"]


@given(st.lists(st.sampled_from(PIECES)))
def test_any_body_reads_as_webob_reads_it(parts):
    body = b"".join(parts)
    holds_nul, request = _door(body)
    expected = _webob(body)
    assert list(request.POST.items()) == expected
    assert holds_nul == any("\x00" in name + value for name, value in expected)


@pytest.mark.parametrize(
    "content_type",
    [
        f"{URLENCODED}; charset=UTF-8",
        f"{URLENCODED}; charset=latin-1",
        "multipart/form-data; boundary=xyz",
        "text/plain",
    ],
)
def test_other_forms_are_left_to_webob(content_type):
    holds_nul, request = _door(b"a=1", content_type)
    assert holds_nul is None
    assert "webob._parsed_post_vars" not in request.environ


def test_a_length_webob_would_read_otherwise_is_left_to_it():
    request = _request(b"a=1")
    request.environ["CONTENT_LENGTH"] = " 3"
    request.environ["webob.is_body_seekable"] = True
    assert door._read_urlencoded(request) is None


def test_a_nul_in_the_form_is_refused():
    request = _request(b"a=1&b=x%00y")
    with pytest.raises(door.ForbiddenCharacters):
        door.check(request)
    assert list(request.POST.items()) == []  # blanked, as for every refused form
