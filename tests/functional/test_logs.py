"""Structured logs: one line per request with ids only, the request's id on every line it
logs (the id the error page quotes), and no person's data anywhere."""

from __future__ import annotations

import configparser
import io
import json
import logging
import pkgutil
from collections.abc import Callable, Iterator

import pytest

from datacapt.accounts.services import grant_study_role
from datacapt.exports import views as export_views
from datacapt.logs import ConsoleFormatter, JSONFormatter
from datacapt.permissions import StudyRole
from tests.conftest import ROOT
from tests.factories import build_world, login, make_user

SUBJECT = "/acme/demo/subjects/par01-0001/"
DEMOGRAPHICS = SUBJECT + "screening/demographics/"

#: Personal data planted in the flow below; none of it may reach a log line.
USER_EMAIL = "canary.user@pii.example"
USER_NAME = "Quillon Canarywood"
CONTACT_NAME = "Zyxwvut Canaryson"
CONTACT_EMAIL = "canary.contact@pii.example"
CONTACT_PHONE = "+33 6 98 76 54 32"
INITIALS = "QXZW"  # a personal-data question: sealed at rest
FORM_VALUE = "Canaryheight"  # a value typed into a form (refused: not a number)
CANARIES = (USER_EMAIL, USER_NAME, CONTACT_NAME, CONTACT_EMAIL, CONTACT_PHONE, INITIALS, FORM_VALUE)


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[str]]]:
    """Every line logged while the test runs, written as production.ini writes it (JSON), with
    the app's loggers at DEBUG and every other library at INFO: chattier than production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    root, ours = logging.getLogger(), logging.getLogger("datacapt")
    levels = root.level, ours.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    ours.setLevel(logging.DEBUG)
    yield lambda: stream.getvalue().splitlines()
    root.removeHandler(handler)
    root.setLevel(levels[0])
    ours.setLevel(levels[1])


def request_lines(lines: list[str]) -> list[dict]:
    return [line for line in map(json.loads, lines) if line["event"] == "request"]


def test_a_flow_through_personal_data_logs_none_of_it(testapp, dbsession, world, log_lines):
    user = make_user(dbsession, testapp.app.registry, USER_EMAIL, name=USER_NAME)
    grant_study_role(dbsession, user, world.study, StudyRole.COORDINATOR, [world.sites["par01"]])
    dbsession.flush()

    assert login(testapp, USER_EMAIL, "not-the-password").status_int == 422
    assert login(testapp, USER_EMAIL).status_int == 303
    form = testapp.get("/acme/demo/subjects/@@enrol").forms["enrol-form"]
    form["contact-name"], form["contact-email"] = CONTACT_NAME, CONTACT_EMAIL
    form["contact-phone"] = CONTACT_PHONE
    enrolled = form.submit().follow()
    assert CONTACT_NAME in enrolled.click(href="@@contact").text  # shown, and recorded
    form = testapp.get(DEMOGRAPHICS).forms["entry-form"]
    form["initials"] = INITIALS
    assert form.submit().status_int == 303
    form = testapp.get(DEMOGRAPHICS).forms["entry-form"]
    form["height_cm"] = FORM_VALUE
    assert FORM_VALUE in form.submit(status=422).text
    assert INITIALS in testapp.get(DEMOGRAPHICS + "@@history?item=I.INITIALS").text

    lines = log_lines()
    requests = request_lines(lines)
    assert len(requests) >= 10
    for line in lines:
        for canary in CANARIES:
            assert canary.lower() not in line.lower(), f"{canary!r} logged: {line}"
    signed_in = [line for line in requests if line["status"] != 422 and "user_id" in line]
    assert {line["user_id"] for line in signed_in} == {user.id}
    assert {line["tenant_id"] for line in requests if "tenant_id" in line} == {world.tenant.id}


def test_each_request_logs_one_line_of_ids_and_measures(testapp, world, log_lines):
    login(testapp, world.users["data_manager"].email)
    response = testapp.get("/acme/demo/")
    [line] = [
        line
        for line in request_lines(log_lines())
        if line["request_id"] == response.headers["X-Request-Id"]
    ]
    assert line["method"] == "GET"
    assert line["view"] == "datacapt.studies.views.study_home"
    assert line["status"] == 200
    assert line["user_id"] == world.users["data_manager"].id
    assert line["tenant_id"] == world.tenant.id
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["level"] == "info" and line["logger"] == "datacapt.request"
    assert set(line) == {
        "event", "level", "logger", "timestamp", "request_id", "method", "view", "status",
        "duration_ms", "user_id", "tenant_id",
    }  # fmt: skip


def test_an_unexpected_error_is_logged_under_the_id_the_page_quotes(
    testapp, world, log_lines, monkeypatch
):
    login(testapp, world.users["data_manager"].email)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug nobody foresaw")

    monkeypatch.setattr(export_views.services, "recent_exports", broken)
    page = testapp.get("/acme/demo/exports/", status=500)
    reference = page.html.find("strong", class_="code").text
    request_id = page.headers["X-Request-Id"]
    assert request_id.startswith(reference)
    mine = [json.loads(line) for line in log_lines() if request_id in line]
    assert all(line["request_id"] == request_id for line in mine)
    error = next(line for line in mine if line["event"].startswith("unexpected error"))
    assert error["level"] == "error" and "RuntimeError: a bug nobody foresaw" in error["exception"]
    [request] = [line for line in mine if line["event"] == "request"]
    assert (request["status"], request["view"]) == (500, "datacapt.exports.views.exports_page")


def test_the_development_format_is_readable_text(testapp):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ConsoleFormatter())
    logger = logging.getLogger("datacapt.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        response = testapp.get("/healthz")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    text = stream.getvalue()
    assert (
        "request" in text
        and "status=200" in text
        and "view=datacapt.operations.views.healthz" in text
    )
    assert f"request_id={response.headers['X-Request-Id']}" in text


@pytest.mark.parametrize(
    ("ini", "formatter"), [("production.ini", JSONFormatter), ("development.ini", ConsoleFormatter)]
)
def test_each_ini_chooses_its_format(ini, formatter):
    """Production logs JSON, development readable text: the class each INI's formatter names,
    built the way ``logging.config.fileConfig`` builds it."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / ini)
    section = parser["formatter_generic"]
    built = pkgutil.resolve_name(section["class"])(section.get("format"), None, "%")
    assert type(built) is formatter
    record = logging.LogRecord("datacapt.test", logging.INFO, __file__, 1, "hello", None, None)
    text = built.format(record)
    if formatter is JSONFormatter:
        assert json.loads(text)["event"] == "hello"
    else:
        assert "hello" in text and not text.startswith("{")
