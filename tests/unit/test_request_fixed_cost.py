"""What every request pays outside its view, done with fewer calls: the same results."""

from __future__ import annotations

import hashlib
import hmac
from types import SimpleNamespace

import pytest
from pyramid.session import JSONSerializer
from webob.cookies import SignedSerializer

from datacapt.operations import metrics
from datacapt.security import CookieSerializer
from datacapt.signin.sessions import password_stamp

SECRET = "s" * 40
STATE = [1764900000.5, 1764899000.25, {"auth.session": "token", "_csrft_": "abc"}]


def serializers() -> tuple[SignedSerializer, CookieSerializer]:
    return (
        SignedSerializer(SECRET, "pyramid.session.", "sha512", serializer=JSONSerializer()),
        CookieSerializer(SECRET, "pyramid.session.", "sha512", serializer=JSONSerializer()),
    )


def test_the_session_cookie_is_webobs_byte_for_byte():
    webob, ours = serializers()
    cookie = webob.dumps(STATE)
    assert ours.dumps(STATE) == cookie
    assert ours.loads(cookie) == webob.loads(cookie) == STATE


@pytest.mark.parametrize(
    "tamper",
    [
        lambda cookie: cookie[:-2] + (b"AA" if cookie[-2:] != b"AA" else b"BB"),
        lambda cookie: cookie[:10],
        lambda cookie: cookie[:40] + (b"x" if cookie[40:41] != b"x" else b"y") + cookie[41:],
        lambda cookie: cookie + b"A",
        lambda cookie: b"",
    ],
)
def test_a_tampered_or_damaged_cookie_is_refused_as_webob_refuses_it(tamper):
    webob, ours = serializers()
    damaged = tamper(webob.dumps(STATE))
    with pytest.raises(ValueError, match=r"[Ss]ignature|base64"):
        webob.loads(damaged)
    with pytest.raises(ValueError, match=r"[Ss]ignature|base64"):
        ours.loads(damaged)


def test_a_cookie_signed_with_another_secret_is_refused():
    other = CookieSerializer("t" * 40, "pyramid.session.", "sha512", serializer=JSONSerializer())
    with pytest.raises(ValueError, match="signature"):
        serializers()[1].loads(other.dumps(STATE))


@pytest.mark.parametrize("password_hash", ["$argon2id$v=19$m=65536,t=3,p=4$abc$def", "", None])
def test_the_password_stamp_is_the_hmac_it_was(password_hash):
    settings = SimpleNamespace(secret=SECRET)
    user = SimpleNamespace(password_hash=password_hash)
    material = (password_hash or "").encode()
    expected = hmac.new(SECRET.encode(), material, hashlib.sha256).hexdigest()[:32]
    assert password_stamp(settings, user) == expected


def _count(view: str, method: str, status: str) -> float:
    return metrics.REQUESTS.labels(view, method, status)._value.get()


def test_each_request_is_counted_whether_its_series_are_kept_or_not(monkeypatch):
    view = "tests.fixed_cost.kept"
    metrics.observe(view, "GET", 200, 0.001)
    metrics.observe(view, "GET", 200, 0.001)
    metrics.observe(view, "BREW", 200, 0.001)
    assert _count(view, "GET", "200") == 2
    assert _count(view, "other", "200") == 1
    monkeypatch.setattr(metrics, "CHILDREN_CAP", 0)
    view = "tests.fixed_cost.past_the_cap"
    metrics.observe(view, "GET", 404, 0.001)
    metrics.observe(view, "GET", 404, 0.001)
    assert _count(view, "GET", "404") == 2
    assert (view, "GET", 404) not in metrics._CHILDREN
