"""The probes: /healthz says the process serves, /readyz what it depends on answers."""

from __future__ import annotations

import pytest
import webtest

from datacapt.config import configure
from tests.conftest import TEST_REDIS_URL, app_settings

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"
CLOSED_PORT_DATABASE = "postgresql+psycopg://datacapt@127.0.0.1:1/nowhere"


def probe_app(database_url: str, redis_url: str = "") -> webtest.TestApp:
    app = configure(app_settings(database_url, redis_url)).make_wsgi_app()
    return webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})


@pytest.fixture(scope="module")
def no_redis_app(database_url):
    return probe_app(database_url, CLOSED_PORT_REDIS)


@pytest.fixture(scope="module")
def no_database_app():
    return probe_app(CLOSED_PORT_DATABASE)


def test_healthz_answers_without_touching_anything(testapp, query_counter):
    response = testapp.get("/healthz")
    assert response.status_int == 200
    assert response.json == {"status": "ok"}
    assert query_counter == []
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_answers_even_without_a_database(no_database_app):
    assert no_database_app.get("/healthz").json == {"status": "ok"}


def test_readyz_is_ready_with_the_database_and_redis_as_configured(database_url, jobs_mode):
    app = probe_app(database_url, TEST_REDIS_URL if jobs_mode == "redis" else "")
    response = app.get("/readyz")
    assert response.status_int == 200
    expected_redis = "ok" if jobs_mode == "redis" else "not configured"
    assert response.json == {
        "status": "ready",
        "checks": {"database": "ok", "redis": expected_redis},
    }
    assert "Set-Cookie" not in response.headers


def test_readyz_is_degraded_but_up_when_redis_is_away(no_redis_app):
    response = no_redis_app.get("/readyz")
    assert response.status_int == 200
    assert response.json == {"status": "degraded", "checks": {"database": "ok", "redis": "down"}}


def test_readyz_is_down_without_the_database(no_database_app):
    response = no_database_app.get("/readyz", status=503)
    assert response.json == {
        "status": "down",
        "checks": {"database": "down", "redis": "not configured"},
    }
    assert "Set-Cookie" not in response.headers
