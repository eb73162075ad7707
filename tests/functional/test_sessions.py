"""Server-side sessions: listed on “Your sessions”, ended there, by sign-out and by timeouts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import webtest
from sqlalchemy import select

from datacapt.config import get_app_settings
from datacapt.models import AuditEvent, UserSession
from datacapt.security import session_cookie_reissue_time
from tests.factories import csrf_token, login, make_user


@pytest.fixture
def user(dbsession, registry):
    return make_user(dbsession, registry, "ines@example.org", name="Inès Martin")


def browser(testapp: webtest.TestApp, address: str) -> webtest.TestApp:
    return webtest.TestApp(
        testapp.app,
        extra_environ={
            "HTTP_HOST": "localhost:80",
            "REMOTE_ADDR": address,
            "HTTP_USER_AGENT": f"Browser at {address}",
        },
    )


def rows(dbsession, user) -> list[UserSession]:
    dbsession.expire_all()
    return list(dbsession.scalars(select(UserSession).where(UserSession.user_id == user.id)))


def test_sessions_are_listed_with_the_current_one_marked(testapp, user):
    laptop, phone = browser(testapp, "10.0.0.2"), browser(testapp, "10.0.0.3")
    login(laptop, user.email)
    login(phone, user.email)
    page = laptop.get("/sessions")
    listed = page.html.select("#sessions tbody tr")
    assert len(listed) == 2
    assert "Browser at 10.0.0.2" in page.text and "Browser at 10.0.0.3" in page.text
    assert page.text.count("This session") == 1


def test_ending_another_session_signs_that_device_out(testapp, user, dbsession):
    laptop, phone = browser(testapp, "10.0.0.2"), browser(testapp, "10.0.0.3")
    login(laptop, user.email)
    login(phone, user.email)
    page = laptop.get("/sessions")
    (form,) = [f for f in page.forms.values() if "session" in f.fields]
    form.submit().follow()
    assert phone.get("/", status=303).location.startswith("http://localhost/login")
    assert laptop.get("/").status_int == 200
    ended = [r for r in rows(dbsession, user) if r.ended_at is not None]
    assert [r.end_reason for r in ended] == ["ended_by_user"]
    events = dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.sessions_ended")
    ).all()
    assert [e.new_value for e in events] == ['{"count": 1}']


def test_ending_all_other_sessions(testapp, user):
    devices = [browser(testapp, f"10.0.0.{n}") for n in range(2, 5)]
    for device in devices:
        login(device, user.email)
    devices[0].get("/sessions").forms["end-others-form"].submit().follow()
    assert devices[0].get("/").status_int == 200
    for device in devices[1:]:
        assert device.get("/", status=303).status_int == 303


def test_a_session_of_someone_else_cannot_be_ended(testapp, user, dbsession, registry):
    other = make_user(dbsession, registry, "marc@example.org", name="Marc")
    login(browser(testapp, "10.0.0.9"), other.email)
    login(testapp, user.email)
    theirs = next(r for r in rows(dbsession, other))
    testapp.post(
        "/sessions",
        {"csrf_token": csrf_token(testapp), "step": "end", "session": str(theirs.id)},
        status=400,
    )
    assert rows(dbsession, other)[0].ended_at is None


def test_sign_out_ends_the_server_side_session(testapp, user, dbsession):
    login(testapp, user.email)
    testapp.get("/logout").forms["logout-form"].submit()
    (row,) = rows(dbsession, user)
    assert row.end_reason == "signed_out"


@pytest.mark.parametrize(
    ("field", "age", "reason"),
    [
        ("last_seen_at", timedelta(minutes=31), "idle"),
        ("created_at", timedelta(hours=13), "expired"),
    ],
)
def test_idle_and_absolute_timeouts(testapp, user, dbsession, field, age, reason):
    login(testapp, user.email)
    (row,) = rows(dbsession, user)
    setattr(row, field, datetime.now(UTC) - age)
    dbsession.flush()
    assert testapp.get("/", status=303).location.startswith("http://localhost/login")
    (row,) = rows(dbsession, user)
    assert row.end_reason == reason


def test_an_active_session_is_touched_at_most_once_a_minute(testapp, user, dbsession):
    login(testapp, user.email)
    (row,) = rows(dbsession, user)
    seen = row.last_seen_at
    testapp.get("/")
    assert rows(dbsession, user)[0].last_seen_at == seen
    row.last_seen_at = seen - timedelta(minutes=5)
    dbsession.flush()
    testapp.get("/")
    assert rows(dbsession, user)[0].last_seen_at > seen - timedelta(minutes=5)


class CookieClock:
    """The clock of the cookie session (``pyramid.session`` reads ``time.time()``) and of the
    server-side rows (moved back), advanced together."""

    def __init__(self, monkeypatch, dbsession, user) -> None:
        self.offset = 0.0
        self.dbsession, self.user = dbsession, user
        monkeypatch.setattr(
            "pyramid.session.time", SimpleNamespace(time=lambda: time.time() + self.offset)
        )

    def advance(self, seconds: int) -> None:
        self.offset += seconds
        for row in rows(self.dbsession, self.user):
            row.created_at -= timedelta(seconds=seconds)
            row.last_seen_at -= timedelta(seconds=seconds)
        self.dbsession.flush()


def test_a_page_without_a_flash_message_leaves_the_cookie_alone(testapp, user):
    login(testapp, user.email)
    page = testapp.get("/preferences")
    assert "Set-Cookie" not in page.headers
    assert testapp.get("/sessions").headers.get("Set-Cookie") is None


def test_an_active_user_is_never_signed_out_by_the_cookie(
    testapp, user, dbsession, registry, monkeypatch
):
    """Pages inside the reissue time leave the cookie as it was, so what it says of its last use
    lags; the next request, just inside the idle timeout of the last one, still stands."""
    settings = get_app_settings(registry)
    idle, reissue = settings.session_idle_timeout, session_cookie_reissue_time(settings)
    clock = CookieClock(monkeypatch, dbsession, user)
    login(testapp, user.email)
    clock.advance(reissue - 1)
    assert "Set-Cookie" not in testapp.get("/preferences").headers  # not written again
    for _ in range(3):
        clock.advance(idle - 1)
        page = testapp.get("/preferences")
        assert page.status_int == 200
        assert "Set-Cookie" in page.headers  # written again: more than the reissue time passed
    (row,) = rows(dbsession, user)
    assert row.ended_at is None


@pytest.mark.parametrize("past_the_cookie", [False, True])
def test_an_idle_user_is_still_signed_out(
    testapp, user, dbsession, registry, monkeypatch, past_the_cookie
):
    """Idle a second past the idle timeout: the server's session ends (the cookie still names
    it); past the cookie's own timeout too: the cookie names no session any more."""
    settings = get_app_settings(registry)
    clock = CookieClock(monkeypatch, dbsession, user)
    login(testapp, user.email)
    testapp.get("/preferences")
    extra = session_cookie_reissue_time(settings) if past_the_cookie else 0
    clock.advance(settings.session_idle_timeout + extra + 1)
    assert testapp.get("/preferences", status=303).location.startswith("http://localhost/login")
    (row,) = rows(dbsession, user)
    assert row.end_reason == (None if past_the_cookie else "idle")
