"""The client's address: X-Forwarded-For only from trusted proxies (the rightmost address that
is not one), and a sign-in throttle per address that slows down rather than locks out."""

from __future__ import annotations

from datetime import timedelta

import pytest
import webtest
from sqlalchemy import select

from datacapt.client_address import resolve
from datacapt.config import ConfigurationError, configure, parse_trusted_proxies
from datacapt.models import AuditEvent, LoginAttempt
from tests.conftest import app_settings, bound_to
from tests.factories import PASSWORD, login, make_user

PROXIES = parse_trusted_proxies("10.0.0.0/8 ::1")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # untrusted peer: its header is ignored
        ("203.0.113.9", "", "203.0.113.9"),
        ("10.0.0.1", "198.51.100.1", "198.51.100.1"),  # one trusted proxy
        ("10.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # forged entry on the left
        ("10.0.0.1", "6.6.6.6, 198.51.100.1, 10.0.0.7", "198.51.100.1"),  # two proxies
        ("10.0.0.1", "10.0.0.9, 10.0.0.7", "10.0.0.9"),  # all trusted: the farthest
        ("10.0.0.1", "", "10.0.0.1"),  # the proxy added nothing
        ("10.0.0.1", "1.2.3.4, not-an-address", "10.0.0.1"),  # garbage ends the walk
        ("10.0.0.1", "' OR 1=1 --", "10.0.0.1"),
        ("::1", "2001:db8::5", "2001:db8::5"),
        ("10.0.0.1", "::ffff:198.51.100.1", "198.51.100.1"),
        ("10.0.0.1", "fe80::1%eth0", "10.0.0.1"),
        ("", "198.51.100.1", None),
        ("unix:/run/app.sock", "198.51.100.1", None),
    ],
)
def test_the_client_is_the_rightmost_untrusted_address(peer, forwarded, expected):
    assert resolve(peer, forwarded, PROXIES) == expected


def test_no_trusted_proxy_by_default_and_a_wrong_one_is_a_clear_error():
    assert parse_trusted_proxies("") == ()
    assert resolve("10.0.0.1", "198.51.100.1", ()) == "10.0.0.1"
    with pytest.raises(ConfigurationError, match="trusted_proxies"):
        parse_trusted_proxies("10.0.0.0/8 proxy.internal")


@pytest.fixture(scope="module")
def proxied_app(database_url):
    """The app behind a reverse proxy at 10.0.0.0/8 (the test client's address is 10.0.0.1)."""
    settings = app_settings(database_url)
    settings["datacapt.trusted_proxies"] = "10.0.0.0/8"
    return configure(settings).make_wsgi_app()


@pytest.fixture
def user(dbsession, registry):
    found = make_user(dbsession, registry, "proxy-user@example.org")
    dbsession.flush()
    return found


def recorded_addresses(dbsession) -> tuple[set[str], set[str | None]]:
    attempts = set(dbsession.scalars(select(LoginAttempt.ip)))
    events = set(dbsession.scalars(select(AuditEvent.ip).where(AuditEvent.ip.is_not(None))))
    return attempts, events


def test_a_forged_header_from_an_untrusted_peer_is_ignored(testapp, dbsession, user, registry):
    limit = registry["datacapt.settings"].login_max_failures_per_ip
    for number in range(limit):
        testapp.extra_environ["HTTP_X_FORWARDED_FOR"] = f"198.51.100.{number}"
        assert login(testapp, f"guess{number}@example.org", "wrong").status_int == 422
    testapp.extra_environ["HTTP_X_FORWARDED_FOR"] = "198.51.100.200"
    assert login(testapp, "another@example.org", "wrong").status_int == 429  # same peer
    assert recorded_addresses(dbsession)[0] == {"10.0.0.1"}


def test_behind_a_trusted_proxy_the_forwarded_address_is_used(
    proxied_app, connection, dbsession, user
):
    with bound_to(proxied_app.registry, connection):
        app = webtest.TestApp(
            proxied_app,
            extra_environ={
                "HTTP_HOST": "localhost:80",
                "REMOTE_ADDR": "10.0.0.1",
                "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7",
            },
        )
        assert login(app, user.email, "wrong password").status_int == 422
        assert login(app, user.email).status_int == 303
    attempts, events = recorded_addresses(dbsession)
    assert attempts == {"198.51.100.7"} and events == {"198.51.100.7"}


def test_clients_behind_one_proxy_do_not_share_a_throttle(proxied_app, connection, user):
    limit = proxied_app.registry["datacapt.settings"].login_max_failures_per_ip
    with bound_to(proxied_app.registry, connection):
        environ = {"HTTP_HOST": "localhost:80", "REMOTE_ADDR": "10.0.0.1"}
        guesser = webtest.TestApp(
            proxied_app, extra_environ={**environ, "HTTP_X_FORWARDED_FOR": "198.51.100.66"}
        )
        for number in range(limit):
            login(guesser, f"guess{number}@example.org", "wrong")
        assert login(guesser, "more@example.org", "wrong").status_int == 429
        colleague = webtest.TestApp(
            proxied_app, extra_environ={**environ, "HTTP_X_FORWARDED_FOR": "198.51.100.8"}
        )
        assert login(colleague, user.email).status_int == 303


def age_attempts(dbsession, seconds: int) -> None:
    """Move every recorded attempt ``seconds`` into the past (as if that time had gone by)."""
    for attempt in dbsession.scalars(select(LoginAttempt)):
        attempt.at -= timedelta(seconds=seconds)
    dbsession.flush()


def test_an_address_is_slowed_down_and_a_correct_password_still_signs_in(
    testapp, dbsession, user, registry
):
    settings = registry["datacapt.settings"]
    for number in range(settings.login_max_failures_per_ip):
        login(testapp, f"guess{number}@example.org", "wrong")
    refused = login(testapp, user.email, PASSWORD)
    spacing = settings.login_window_seconds // settings.login_max_failures_per_ip
    assert refused.status_int == 429
    assert 0 < int(refused.headers["Retry-After"]) <= spacing + 1  # seconds, not the window
    age_attempts(dbsession, spacing + 1)
    assert login(testapp, user.email, PASSWORD).status_int == 303


def test_the_address_gets_one_try_per_interval(testapp, dbsession, registry):
    settings = registry["datacapt.settings"]
    for number in range(settings.login_max_failures_per_ip):
        login(testapp, f"guess{number}@example.org", "wrong")
    spacing = settings.login_window_seconds // settings.login_max_failures_per_ip
    age_attempts(dbsession, spacing + 1)
    assert login(testapp, "one-more@example.org", "wrong").status_int == 422  # one try
    assert login(testapp, "and-another@example.org", "wrong").status_int == 429


def test_the_account_lock_stays(testapp, dbsession, user, registry):
    settings = registry["datacapt.settings"]
    for _ in range(settings.login_max_failures_per_account):
        login(testapp, user.email, "wrong password")
    age_attempts(dbsession, 60)
    locked = login(testapp, user.email, PASSWORD)
    assert locked.status_int == 429
    assert int(locked.headers["Retry-After"]) > settings.login_window_seconds - 120


def test_a_resolved_address_is_kept_per_peer_header_and_trusted_proxies():
    """The kept answer changes with each of its inputs."""
    proxies = parse_trusted_proxies("10.0.0.0/8")
    assert resolve("10.0.0.5", "203.0.113.9", proxies) == "203.0.113.9"
    assert resolve("10.0.0.5", "203.0.113.9", proxies) == "203.0.113.9"
    assert resolve("192.0.2.1", "203.0.113.9", proxies) == "192.0.2.1"
    assert resolve("10.0.0.5", "198.51.100.4", proxies) == "198.51.100.4"
    assert resolve("10.0.0.5", "203.0.113.9", ()) == "10.0.0.5"
    assert resolve.cache_info().maxsize is not None
