"""An unexpected error: our page in the user's language with a reference to quote, the
traceback in the log under the request's id, the transaction rolled back."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from datacapt import errors
from datacapt.exports import views as export_views
from datacapt.models import DataExport
from tests.factories import build_world, login


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def broken(*args, **kwargs):
    raise RuntimeError("a bug nobody foresaw")


def test_an_unexpected_error_shows_our_page_with_a_reference_and_logs_the_traceback(
    testapp, dbsession, world, monkeypatch, caplog
):
    manager = world.users["data_manager"]
    manager.locale = "fr"
    dbsession.flush()
    login(testapp, manager.email)
    monkeypatch.setattr(export_views.services, "recent_exports", broken)
    with caplog.at_level(logging.ERROR, logger="datacapt.errors"):
        page = testapp.get("/acme/demo/exports/", status=500)
    assert page.content_type == "text/html"
    assert "Un problème est survenu" in page.text
    reference = page.html.find("strong", class_="code").text
    logged = next(r for r in caplog.records if r.getMessage().startswith("unexpected error"))
    request_id = logged.getMessage().rsplit(" ", 1)[1]
    assert len(reference) == 8 and request_id.startswith(reference)
    assert logged.exc_info[0] is RuntimeError
    assert "a bug nobody foresaw" not in page.text


def test_a_failed_request_saves_nothing(testapp, dbsession, world, monkeypatch):
    """The error is raised after the export row was added: pyramid_tm still rolls it back."""
    login(testapp, world.users["data_manager"].email)
    page = testapp.get("/acme/demo/exports/")
    form = page.forms["export-form"]
    monkeypatch.setattr(export_views, "redirect", broken)
    form.submit(status=500)
    assert dbsession.scalars(select(DataExport)).all() == []


def test_when_the_error_page_fails_too_plain_words_still_give_the_reference(
    testapp, dbsession, world, monkeypatch
):
    login(testapp, world.users["data_manager"].email)
    monkeypatch.setattr(export_views.services, "recent_exports", broken)
    monkeypatch.setattr(errors, "render_to_response", broken)
    page = testapp.get("/acme/demo/exports/", status=500)
    assert page.content_type == "text/plain"
    assert page.text.startswith("Something went wrong on our side. Reference: ")
    assert len(page.text.rsplit(" ", 1)[1]) == 8
