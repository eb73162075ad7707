"""Everyday details of data entry as site staff and monitors meet them: numbers with their
decimals, exclusive options, the marks and warnings beside a field, and the form's languages."""

from __future__ import annotations

from pathlib import Path

import pytest
import webtest
from pyramid.i18n import make_localizer
from sqlalchemy import select

from datacapt.ecrf import versions
from datacapt.ecrf.definition import Choice, Item, ItemType
from datacapt.models import FormInstance, ItemValue, Query, QueryMessage, Subject
from datacapt.queries.services import AUTO_CLOSE_NOTE, shown_body
from tests.factories import build_world, csrf_token, login, publish_definition

LOCALE = Path(__file__).resolve().parents[2] / "datacapt" / "locale"
SUBJECT = "/acme/demo/subjects/par01-0001/"
DEMOGRAPHICS = SUBJECT + "screening/demographics/"
VITALS = SUBJECT + "screening/vital_signs/"


SYMPTOMS = Item(
    oid="I.SYMPTOMS",
    name="symptoms",
    type=ItemType.MULTIPLE_CHOICE,
    label={"en": "Symptoms", "fr": "Symptômes"},
    choices=[
        Choice("1", {"en": "Cough", "fr": "Toux"}),
        Choice("2", {"en": "Fever", "fr": "Fièvre"}),
        Choice("99", {"en": "None of these", "fr": "Aucun de ceux-ci"}, exclusive=True),
    ],
)


@pytest.fixture
def world(dbsession, registry):
    """The demo design with checkboxes (symptoms, "None of these" alone) in demographics."""
    world = build_world(dbsession, registry)
    draft = versions.draft(dbsession, world.study)
    definition = versions.definition_of(draft)
    definition.form("demographics").sections[0].subsections[0].blocks.append(SYMPTOMS)
    publish_definition(dbsession, world.study, draft, definition, "Symptoms")
    dbsession.flush()
    return world


@pytest.fixture
def coordinator(testapp, world):
    assert login(testapp, world.users["coordinator"].email).status_int == 303
    return testapp


def values_of(dbsession, form="demographics"):
    dbsession.expire_all()
    rows = dbsession.execute(
        select(ItemValue)
        .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(Subject.label == "par01-0001", FormInstance.form == form)
    ).scalars()
    return {row.item_oid: row for row in rows}


def save(app, path, **values):
    form = app.get(path).forms["entry-form"]
    for name, value in values.items():
        form[name] = value
    return form.submit(status="*")


# --- numbers and their decimals ----------------------------------------------------------------


def test_a_whole_number_fills_a_one_decimal_item_and_too_many_decimals_are_refused(
    coordinator, dbsession
):
    assert save(coordinator, DEMOGRAPHICS, height_cm="180", weight_kg="73").status_int == 303
    assert values_of(dbsession)["I.WEIGHT_KG"].value == "73.0"
    assert coordinator.get(DEMOGRAPHICS).html.find(id="item-weight_kg")["value"] == "73.0"
    refused = save(coordinator, DEMOGRAPHICS, weight_kg="73.25")
    assert refused.status_int == 422
    message = refused.html.find(id="item-weight_kg-message").text
    assert "at most 1 decimal(s): 73.25 has 2" in message
    assert values_of(dbsession)["I.WEIGHT_KG"].value == "73.0"


# --- exclusive options ----------------------------------------------------------------------------


def test_none_of_these_is_chosen_alone_or_refused(coordinator, dbsession):
    page = coordinator.get(DEMOGRAPHICS)
    boxes = page.html.select('input[name="symptoms"]')
    assert [box.has_attr("data-exclusive") for box in boxes] == [False, False, True]
    form = page.forms["entry-form"]
    form.set("symptoms", True, index=0)
    form.set("symptoms", True, index=2)
    refused = form.submit(status=422)
    assert "excludes the others" in refused.html.find(id="item-symptoms-message").text
    assert values_of(dbsession) == {}
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    form.set("symptoms", True, index=2)
    assert form.submit().status_int == 303
    assert values_of(dbsession)["I.SYMPTOMS"].value == "99"


# --- monitoring marks ----------------------------------------------------------------------------


def test_sdv_marks_show_to_monitors_and_not_to_site_staff(coordinator, app, world, dbsession):
    assert save(coordinator, DEMOGRAPHICS, sex="1", height_cm="180").status_int == 303
    page = coordinator.get(DEMOGRAPHICS)
    assert page.html.select(".sdv-mark") == []
    assert "Awaiting SDV" not in page.html.find(id="entry-form").text  # only the form's state
    monitor = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(monitor, world.users["monitor"].email)
    assert "Awaiting SDV" in monitor.get(DEMOGRAPHICS).html.find(id="sdv-I.SEX").text


# --- soft ranges --------------------------------------------------------------------------------


def test_a_soft_range_warns_while_typing_and_opens_a_query_only_on_save_saying_so(
    coordinator, dbsession
):
    typed = {"systolic": "120", "diastolic": "80", "heart_rate": "130"}
    evaluated = coordinator.post(
        VITALS + "@@evaluate",
        {**typed, "csrf_token": csrf_token(coordinator)},
        headers={"HX-Request": "true"},
    )
    warning = evaluated.html.find(id="item-heart_rate-message").text
    assert "Expected between 45 and 120." in warning and "opens a query" in warning
    assert dbsession.scalar(select(Query.id)) is None  # checking is not saving
    saved = save(coordinator, VITALS, **typed)
    assert saved.status_int == 303
    assert "Queries opened for monitoring on values to check: 1." in saved.follow().text
    dbsession.expire_all()
    assert len(dbsession.scalars(select(Query)).all()) == 1


# --- languages ---------------------------------------------------------------------------------


def test_a_form_without_the_readers_language_says_which_language_it_falls_back_to(coordinator):
    assert coordinator.get(DEMOGRAPHICS).html.find(id="language-fallback") is None
    coordinator.set_cookie("datacapt_language", "fr")
    assert coordinator.get(DEMOGRAPHICS).html.find(id="language-fallback") is None
    coordinator.set_cookie("datacapt_language", "de")
    notice = coordinator.get(DEMOGRAPHICS).html.find(id="language-fallback")
    assert "Dieses Formular" in notice.text and "Englisch" in notice.text


def test_french_reads_and_writes_decimal_commas_and_stores_dots(coordinator, dbsession):
    coordinator.set_cookie("datacapt_language", "fr")
    assert save(coordinator, DEMOGRAPHICS, height_cm="180", weight_kg="72,5").status_int == 303
    assert values_of(dbsession)["I.WEIGHT_KG"].value == "72.5"
    assert values_of(dbsession)["I.BMI"].value == "22.4"
    page = coordinator.get(DEMOGRAPHICS)
    assert page.html.find(id="item-weight_kg")["value"] == "72,5"
    assert page.html.find(id="item-bmi").text.strip() == "22,4"
    assert save(coordinator, DEMOGRAPHICS, weight_kg="73.5").status_int == 303  # a dot too
    history = coordinator.get(DEMOGRAPHICS + "@@history", {"item": "I.WEIGHT_KG"})
    cells = [td.text.strip() for td in history.html.select("tbody td")]
    assert "72,5" in cells and "73,5" in cells
    coordinator.set_cookie("datacapt_language", "en")
    assert coordinator.get(DEMOGRAPHICS).html.find(id="item-weight_kg")["value"] == "73.5"
    assert save(coordinator, DEMOGRAPHICS, weight_kg="74,5").status_int == 422  # not in English


def test_automatic_query_texts_are_shown_in_each_readers_language(coordinator, dbsession):
    typed = {"systolic": "120", "diastolic": "80", "heart_rate": "130"}
    assert save(coordinator, VITALS, **typed).status_int == 303
    assert save(coordinator, DEMOGRAPHICS, height_cm="150", weight_kg="120.0").status_int == 303
    rate = VITALS + "@@queries?item=I.HEART_RATE"
    bmi = DEMOGRAPHICS + "@@queries?item=I.BMI"
    assert "Expected between 45 and 120." in coordinator.get(rate).html.select_one(".body").text
    assert "BMI above 40" in coordinator.get(bmi).html.select_one(".body").text
    coordinator.set_cookie("datacapt_language", "fr")
    assert "entre 45 et 120" in coordinator.get(rate).html.select_one(".body").text
    assert "IMC supérieur à 40" in coordinator.get(bmi).html.select_one(".body").text
    coordinator.set_cookie("datacapt_language", "de")
    assert "zwischen 45 und 120" in coordinator.get(rate).html.select_one(".body").text


def test_a_query_message_kept_before_its_wording_shows_its_stored_words(registry):
    localizer = make_localizer("fr", [str(LOCALE)])
    old = QueryMessage(body="Expected between 45 and 120.", author_id=None, wording=None)
    assert shown_body(old, localizer, "fr", "en") == "Expected between 45 and 120."
    note = QueryMessage(body=AUTO_CLOSE_NOTE, author_id=None, wording=None)
    assert shown_body(note, localizer, "fr", "en").startswith("Fermée automatiquement")


def test_missing_data_codes_are_labelled_in_the_readers_language(coordinator, world, dbsession):
    coordinator.set_cookie("datacapt_language", "fr")
    options = coordinator.get(DEMOGRAPHICS).html.select("#field-missing-height_cm option")
    assert "NA — Non applicable" in [option.text for option in options]
    world.study.missing_codes = [["NA", "Not applicable"], ["LOST", "Lost in the flood"]]
    dbsession.flush()
    options = coordinator.get(DEMOGRAPHICS).html.select("#field-missing-height_cm option")
    labels = [option.text for option in options]
    assert "NA — Non applicable" in labels and "LOST — Lost in the flood" in labels  # as typed


def test_units_in_words_are_translated_and_symbols_kept(coordinator):
    coordinator.set_cookie("datacapt_language", "fr")
    page = coordinator.get(VITALS)
    assert page.html.select_one("#block-I\\.HEART_RATE .units").text == "(batt./min)"
    assert page.html.select_one("#block-I\\.SYSTOLIC .units").text == "(mmHg)"
    coordinator.set_cookie("datacapt_language", "de")
    assert "(Schläge/min)" in coordinator.get(VITALS).html.select_one("#block-I\\.HEART_RATE").text
