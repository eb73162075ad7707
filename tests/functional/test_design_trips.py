"""The designer's everyday trips, as the server answers them: expression checks that leave Save
alone, unsaved-change warnings, placing questions, a readable outline and publication page."""

from __future__ import annotations

import pytest

from tests.factories import build_world, csrf_token, login
from tests.functional.test_design import FORM, HTMX


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def admin(testapp, world):
    assert login(testapp, world.users["study_admin"].email).status_int == 303
    return testapp


def test_an_expression_check_disables_nothing_and_answers_only_its_message(admin):
    page = admin.get(FORM + "@@block", {"oid": "I.SEX"})
    designer = page.html.find(id="designer")
    assert designer["hx-disabled-elt"] == "#designer button"  # a save disables the buttons ...
    for field in page.html.select("textarea[hx-post$='@@check-expression']"):
        assert field["hx-disabled-elt"] == "unset"  # ... a check does not: Save stays clickable
        assert field.has_attr("data-expression-check")
    answer = admin.post(
        FORM + "@@check-expression",
        {"show_if": "[sex] = '2'", "field": "show_if", "target": "show_if"}
        | {"csrf_token": csrf_token(admin)},
        headers=HTMX,
    )
    assert answer.html.find(id="field-show_if-check")
    assert not answer.html.find("textarea") and not answer.html.find("input")


def test_the_editors_ask_before_unsaved_changes_are_left(admin):
    message = "Changes on this form are not saved. Leave anyway?"
    page = admin.get(FORM + "@@block", {"oid": "I.SEX"})
    editor = page.html.select_one("#editor-panel form")
    assert editor["data-unsaved-warning"] == message and not editor.has_attr("data-dirty")
    assert page.html.find(id="form-settings")["data-unsaved-warning"] == message
    group = admin.get(FORM + "@@group", {"oid": page.html.select_one(".outline-section")["id"]})
    assert group.html.select_one("#editor-panel form")["data-unsaved-warning"] == message

    # A refused save is still unsaved: the form comes back marked so, with what was typed.
    form = page.forms[next(k for k, f in page.forms.items() if "kind" in f.fields)]
    form["label-en"] = ""
    refused = form.submit(headers=HTMX, status=422)
    editor = refused.html.select_one("#editor-panel form")
    assert editor["data-dirty"] == "1"
