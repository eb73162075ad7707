"""The probes: /healthz says the process serves, /readyz what it depends on answers."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack

import pytest
import webtest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from datacapt.config import configure
from datacapt.models import JobState, OutboxJob
from tests.conftest import TEST_REDIS_URL, app_settings, bound_to

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


# --- /metrics -------------------------------------------------------------------------------

TOKEN = "metrics-token-for-the-tests-0123456789"


def metrics_app(database_url: str, redis_url: str = "") -> webtest.TestApp:
    settings = {**app_settings(database_url, redis_url), "datacapt.metrics_token": TOKEN}
    return webtest.TestApp(
        configure(settings).make_wsgi_app(), extra_environ={"HTTP_HOST": "localhost:80"}
    )


@pytest.fixture(scope="module")
def scraped_apps(database_url):
    return {
        "in-process": metrics_app(database_url),
        "redis": metrics_app(database_url, TEST_REDIS_URL),
        "redis away": metrics_app(database_url, CLOSED_PORT_REDIS),
    }


@pytest.fixture
def scraped(scraped_apps, connection):
    """The apps with a token, their sessions inside the test's rolled-back transaction."""
    with ExitStack() as stack:
        for app in scraped_apps.values():
            stack.enter_context(bound_to(app.app.registry, connection))
        yield scraped_apps


def scrape(app: webtest.TestApp) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.content_type == "text/plain"
    assert "Set-Cookie" not in response.headers
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


HEALTHZ_OK = (
    "datacapt_http_requests_total",
    (("method", "GET"), ("status", "200"), ("view", "datacapt.operations.views.healthz")),
)


def test_metrics_do_not_exist_without_a_token(testapp):
    response = testapp.get("/metrics", status=404)
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token-of-the-same-kind-0123456", f"Basic {TOKEN}"]
)
def test_metrics_refuse_a_scrape_without_the_token(scraped, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = scraped["in-process"].get("/metrics", headers=headers, status=401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "datacapt_http" not in response.text


def test_metrics_count_requests_by_view_and_status(scraped):
    app = scraped["in-process"]
    before = scrape(app).get(HEALTHZ_OK, 0.0)
    app.get("/healthz")
    app.get("/healthz")
    after = scrape(app)
    assert after[HEALTHZ_OK] == before + 2
    buckets = {
        dict(labels)["le"]: value
        for (name, labels), value in after.items()
        if name == "datacapt_http_request_duration_seconds_bucket"
        and dict(labels)["view"] == "datacapt.operations.views.healthz"
    }
    assert buckets["+Inf"] >= 2 and buckets["+Inf"] >= buckets["0.005"]
    refused = (
        "datacapt_http_requests_total",
        (("method", "GET"), ("status", "401"), ("view", "datacapt.operations.views.metrics")),
    )
    before = after.get(refused, 0.0)
    app.get("/metrics", status=401)
    assert scrape(app)[refused] == before + 1

    def by_method(found: dict, method: str) -> float:
        return sum(
            value
            for (name, labels), value in found.items()
            if name == "datacapt_http_requests_total" and dict(labels)["method"] == method
        )

    before = by_method(scrape(app), "other")
    unlinted = webtest.TestApp(app.app, extra_environ=app.extra_environ, lint=False)
    unlinted.request("/healthz", method="BREW", status="*")  # a method a client invents …
    after = scrape(app)
    assert by_method(after, "other") == before + 1
    assert by_method(after, "BREW") == 0  # … makes no series of its own


def test_metrics_report_the_jobs_waiting_and_failed(scraped, dbsession):
    dbsession.add_all(
        [
            OutboxJob(name="datacapt.probe", arguments={}, state=JobState.PENDING),
            OutboxJob(name="datacapt.probe", arguments={}, state=JobState.PENDING),
            OutboxJob(name="datacapt.probe", arguments={}, state=JobState.FAILED),
            OutboxJob(name="datacapt.probe", arguments={}, state=JobState.DONE),
        ]
    )
    dbsession.flush()
    found = scrape(scraped["in-process"])
    assert found["datacapt_jobs_pending", ()] == 2
    assert found["datacapt_jobs_failed", ()] == 1
    assert found["datacapt_jobs_oldest_pending_seconds", ()] >= 0
    assert ("datacapt_redis_up", ()) not in found  # in-process jobs: no Redis to report


def test_metrics_report_the_rq_queue_or_that_redis_is_away(scraped, jobs_mode):
    if jobs_mode == "redis":
        Redis.from_url(TEST_REDIS_URL).flushdb()
        found = scrape(scraped["redis"])
        assert found["datacapt_redis_up", ()] == 1
        assert found["datacapt_rq_queue_depth", ()] == 0
        assert found["datacapt_rq_failed_jobs", ()] == 0
    found = scrape(scraped["redis away"])
    assert found["datacapt_redis_up", ()] == 0
    assert ("datacapt_rq_queue_depth", ()) not in found
    assert ("datacapt_jobs_pending", ()) in found


MULTIPROCESS_WORKER = """
from datacapt.operations import metrics
metrics.observe("datacapt.operations.views.healthz", "GET", 200, 0.002)
"""
MULTIPROCESS_SCRAPE = """
import sys
from datacapt.operations import metrics
sys.stdout.write(metrics.exposition(metrics.JobFigures(0, 0, 0.0)).decode())
"""


def test_metrics_add_up_every_worker_process_in_multiprocess_mode(tmp_path):
    """Under gunicorn each worker counts in its own files; a scrape answered by any of them
    adds them all up."""
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def run(code: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code], env=environment, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run(MULTIPROCESS_WORKER)
    run(MULTIPROCESS_WORKER)
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(run(MULTIPROCESS_SCRAPE))
        for sample in family.samples
    }
    assert samples[HEALTHZ_OK] == 2
