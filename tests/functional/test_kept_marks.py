"""The form status and monitoring marks are kept per process by what they show
(``templating.KEPT_MACROS``): a form frozen, unlocked or completed shows on the very next form
page and casebook, in the reader's language."""

from __future__ import annotations

import pytest
import webtest

from tests.factories import build_world, login

SUBJECT = "/acme/demo/subjects/par01-0001/"
DEMOGRAPHICS = SUBJECT + "screening/demographics/"


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def user_app(app, world, role):
    testapp = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(testapp, world.users[role].email).status_int == 303
    return testapp


def form_marks(testapp):
    return " ".join(testapp.get(DEMOGRAPHICS).html.select_one("p.form-meta").text.split())


def casebook_marks(testapp):
    [line] = [
        li
        for li in testapp.get(SUBJECT).html.select("li")
        if li.a and li.a.get("href", "").endswith("/screening/demographics/")
    ]
    return " ".join(line.text.split())


def move(testapp, action, reason=""):
    form = testapp.get(DEMOGRAPHICS).forms["data-state-form"]
    form["state-reason"] = reason
    return form.submit("action", value=action, status="*")


def test_a_form_s_state_changed_shows_at_once_on_its_page_and_casebook(app, world):
    coordinator = user_app(app, world, "coordinator")
    manager = user_app(app, world, "data_manager")
    assert "Not started" in form_marks(coordinator)
    assert "Not started" in casebook_marks(coordinator)
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form["initials"], form["sex"] = "JM", "1"
    assert form.submit(status="*").status_int == 303
    assert "In progress" in form_marks(coordinator) and "Frozen" not in form_marks(coordinator)
    assert "In progress" in casebook_marks(coordinator)
    assert move(manager, "freeze").status_int == 303
    assert "Frozen" in form_marks(coordinator) and "Frozen" in casebook_marks(coordinator)
    assert "Frozen" in form_marks(manager)
    assert move(manager, "unlock", "Site corrects a typo").status_int == 303
    assert "Frozen" not in form_marks(coordinator)
    assert "Frozen" not in casebook_marks(coordinator)
    french = coordinator.get(DEMOGRAPHICS).forms[0]
    french.submit("language", value="fr")
    assert "En cours" in form_marks(coordinator) and "En cours" in casebook_marks(coordinator)
