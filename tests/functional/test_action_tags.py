"""Action tags in items' annotations, as site staff meet them on a form: hidden, read-only and
refused if changed, filled in on a new form, computed, limited in length, chosen by @IF."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from datacapt import clock
from datacapt.design import services
from datacapt.ecrf import versions
from datacapt.ecrf.definition import Item, ItemType, Validation
from tests.factories import SETUP, build_world, login, publish_definition
from tests.functional.test_entry import DEMOGRAPHICS, HTMX, entry_form, fill, values_of


def tagged(name: str, annotation: str, **more: object) -> Item:
    return Item(
        oid=f"I.{name.upper()}",
        name=name,
        type=ItemType.TEXT,
        label={"en": name.replace("_", " ").capitalize()},
        annotation=annotation,
        **more,  # type: ignore[arg-type]
    )


TAGGED = [
    tagged("secret", "@HIDDEN @DEFAULT='kept'"),
    tagged("site_note", "@READONLY @DEFAULT='[record-dag-name]'"),
    tagged("seen_on", "@TODAY", validation=Validation.DATE, date_format="dmy"),
    tagged("seen_at", "@NOW", validation=Validation.DATETIME, date_format="ymd"),
    tagged("monogram", "@CHARLIMIT=3"),
    tagged("greeting", "@CALCTEXT(concat('Hello ', upper([record-name])))"),
    tagged(
        "next_visit",
        "@CALCDATE([seen_on], 7, 'd')",
        validation=Validation.DATE,
        date_format="dmy",
    ),
    tagged("entered_by", "@SETVALUE='[user-name]'"),
    tagged("paris_only", "@IF([record-dag-name] = 'par01', @HIDDEN, @READONLY)"),
    tagged("kept_tag", "@PLACEHOLDER='x' @DEFAULT='plain'"),
]

NOW = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)


@pytest.fixture
def world(dbsession, registry):
    """The demo design with the tagged items above, published as version 2."""
    world = build_world(dbsession, registry)
    draft = versions.draft(dbsession, world.study)
    definition = versions.definition_of(draft)
    definition.form("demographics").sections[0].subsections[0].blocks.extend(TAGGED)
    publish_definition(dbsession, world.study, draft, definition, "Action tags")
    services.start_draft(dbsession, world.study, SETUP)
    dbsession.flush()
    return world


@pytest.fixture
def coordinator(testapp, world, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    assert login(testapp, world.users["coordinator"].email).status_int == 303
    return testapp


def block(page, name):
    return page.html.find(id=f"block-I.{name.upper()}")


def test_a_new_form_is_filled_in_and_hides_what_is_hidden(coordinator):
    page = coordinator.get(DEMOGRAPHICS)
    form = entry_form(page)
    assert block(page, "secret").has_attr("hidden")
    assert form["secret"].value == "kept"
    assert not block(page, "site_note").has_attr("hidden")
    assert form["site_note"].value == "par01"
    assert page.html.find(id="item-site_note").has_attr("readonly")
    assert form["seen_on"].value == "04/03/2026"
    assert form["seen_at"].value.startswith("2026-03-04 ")
    assert form["entered_by"].value == "coordinator@example.org"
    assert block(page, "paris_only").has_attr("hidden")
    assert form["kept_tag"].value == "plain"
    assert not page.html.find(id="item-monogram").has_attr("readonly")


def test_saving_keeps_hidden_and_filled_values_and_computes_the_calculated_ones(
    coordinator, dbsession
):
    response = entry_form(coordinator.get(DEMOGRAPHICS)).submit()
    assert response.status_int == 303
    saved = {oid: row.value for oid, row in values_of(dbsession).items()}
    assert saved["I.SECRET"] == "kept"
    assert saved["I.SITE_NOTE"] == "par01"
    assert saved["I.SEEN_ON"] == "2026-03-04"
    assert saved["I.GREETING"] == "Hello PAR01-0001"
    assert saved["I.NEXT_VISIT"] == "2026-03-11"
    assert saved["I.ENTERED_BY"] == "coordinator@example.org"
    again = coordinator.get(DEMOGRAPHICS)
    assert entry_form(again)["secret"].value == "kept"
    assert again.html.find(id="item-greeting").has_attr("readonly")


def test_a_read_only_value_changed_is_refused_next_to_its_field(coordinator, dbsession):
    form = entry_form(coordinator.get(DEMOGRAPHICS))
    form["site_note"].force_value("ber01")
    refused = form.submit(status=422)
    message = refused.html.find(id="block-I.SITE_NOTE").text
    assert "read-only" in message
    assert values_of(dbsession) == {}
    entry_form(coordinator.get(DEMOGRAPHICS)).submit()
    form = entry_form(coordinator.get(DEMOGRAPHICS))
    form["site_note"].force_value("changed")
    assert "read-only" in form.submit(status=422).text
    assert values_of(dbsession)["I.SITE_NOTE"].value == "par01"


def test_a_text_longer_than_its_charlimit_is_refused_with_the_limit(coordinator, dbsession):
    form = fill(entry_form(coordinator.get(DEMOGRAPHICS)), monogram="ABCD")
    refused = form.submit(status=422)
    assert "Use at most 3 characters." in refused.html.find(id="block-I.MONOGRAM").text
    fill(entry_form(refused), monogram="ABC").submit()
    assert values_of(dbsession)["I.MONOGRAM"].value == "ABC"


def test_a_default_fills_only_a_new_form_and_typing_keeps_what_is_typed(coordinator, dbsession):
    form = fill(entry_form(coordinator.get(DEMOGRAPHICS)), kept_tag="")
    form.submit()
    assert "I.KEPT_TAG" not in values_of(dbsession)
    assert entry_form(coordinator.get(DEMOGRAPHICS))["kept_tag"].value == ""


def test_a_hidden_item_stays_hidden_while_typing(coordinator):
    fields = dict(entry_form(coordinator.get(DEMOGRAPHICS)).submit_fields())
    evaluated = coordinator.post(DEMOGRAPHICS + "@@evaluate", fields, headers=HTMX)
    state = json.loads(evaluated.headers["HX-Trigger"])["datacapt:form-state"]
    assert "block-I.SECRET" in state["hidden"]
    assert "block-I.SITE_NOTE" in state["shown"]


def test_a_computed_value_follows_what_is_typed(coordinator):
    fields = dict(entry_form(coordinator.get(DEMOGRAPHICS)).submit_fields())
    fields["seen_on"] = "20/03/2026"
    evaluated = coordinator.post(DEMOGRAPHICS + "@@evaluate", fields, headers=HTMX)
    computed = evaluated.html.find(id="item-next_visit")
    assert computed["value"] == "27/03/2026"
    assert computed["hx-swap-oob"] == "true" and computed.has_attr("readonly")
    assert evaluated.html.find(id="item-seen_on") is None  # what is typed is never replaced


def test_the_compiled_form_hides_and_locks_as_the_template_does(coordinator, monkeypatch):
    from tests.functional.test_hot_views import pages_compiled_and_not

    compiled, plain = pages_compiled_and_not(coordinator, monkeypatch, DEMOGRAPHICS)
    assert compiled == plain
    assert 'id="block-I.SECRET" hidden>' in compiled
    assert 'aria-describedby="item-site_note-message" readonly>' in compiled
