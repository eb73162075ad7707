"""The designer, as a study administrator uses it: drafts, forms, questions, preview, schedule,
publication and versions."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from datacapt.design import services
from datacapt.ecrf import versions
from datacapt.models import AuditEvent, StudyVersion, VersionState
from tests.factories import build_world, csrf_token, login

DESIGN = "/acme/demo/design/"
FORM = DESIGN + "forms/demographics/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def admin(testapp, world):
    assert login(testapp, world.users["study_admin"].email).status_int == 303
    return testapp


def draft(dbsession, world) -> StudyVersion:
    dbsession.expire_all()
    return versions.draft(dbsession, world.study)


def draft_definition(dbsession, world):
    return versions.definition_of(draft(dbsession, world))


def events(dbsession, action):
    """The audit events of one kind, oldest first."""
    statement = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return dbsession.scalars(statement).all()


def editor_form(page):
    return page.forms[next(k for k, f in page.forms.items() if "kind" in f.fields)]


def new_question(admin, subsection: str, form_url: str = FORM, **fields):
    """Open the editor for a new question, choose its type (which shows that type's fields, as
    the select does with htmx), fill it, and save with a plain form post."""
    page = admin.get(form_url + "@@block", {"subsection": subsection, "kind": "item"})
    form = editor_form(page)
    form["type"].force_value(fields.pop("type", "text"))
    form = editor_form(form.submit("refresh", value="1"))
    for name, value in fields.items():
        form[name] = value
    return form.submit(status="*")


def first_subsection(dbsession, world, form_name="demographics") -> str:
    return draft_definition(dbsession, world).form(form_name).sections[0].subsections[0].oid


def test_overview_shows_the_draft_its_forms_and_no_blocking_problem(admin):
    page = admin.get(DESIGN)
    assert "You are editing draft version 2." in page.text
    names = [a.text for a in page.html.select("table.data tbody a.code")]
    assert names == ["consent", "demographics", "vital_signs", "adverse_events"]
    assert not page.html.select(".problems li.blocking")


def test_a_form_is_added_with_a_translated_title(admin, dbsession, world):
    form = admin.get(DESIGN).forms["add-form"]
    form["name"] = "medical_history"
    form["title-en"] = "Medical history"
    form["title-fr"] = "Antécédents médicaux"
    response = form.submit()
    assert response.location.endswith("/design/forms/medical_history/")
    added = draft_definition(dbsession, world).form("medical_history")
    assert added.title == {"en": "Medical history", "fr": "Antécédents médicaux"}
    [event] = events(dbsession, "design.form_added")
    assert event.actor_id == world.users["study_admin"].id
    assert event.reason is None and "Medical history" in event.new_value


def test_a_refused_form_keeps_what_was_typed_and_says_why(admin, dbsession, world):
    before = draft(dbsession, world).lock_version
    form = admin.get(DESIGN).forms["add-form"]
    form["name"] = "Demographics 2"
    response = form.submit(status=422)
    assert response.html.find(id="field-name")["aria-invalid"] == "true"
    assert response.html.find(id="field-name")["value"] == "Demographics 2"
    assert "Give a title in the default language." in response.text
    assert draft(dbsession, world).lock_version == before


def test_a_question_with_branching_is_added_through_the_editor(admin, dbsession, world):
    response = new_question(
        admin,
        first_subsection(dbsession, world),
        **{
            "name": "smoker",
            "type": "yes_no",
            "label-en": "Does the participant smoke?",
            "label-fr": "Le participant fume-t-il ?",
            "show_if": "[sex] = '1'",
            "required": "1",
        },
    )
    assert response.status_int == 303
    item = draft_definition(dbsession, world).item("smoker")
    assert item.show_if == "[sex] = '1'" and item.required
    assert item.label["fr"] == "Le participant fume-t-il ?"
    page = admin.get(FORM)
    assert "smoker" in page.html.select_one("#outline").text
    [event] = events(dbsession, "design.block_added")
    assert event.field == item.oid and '"smoker"' in event.new_value


def test_choices_are_read_as_code_label_lines_in_each_language(admin, dbsession, world):
    response = new_question(
        admin,
        first_subsection(dbsession, world),
        **{
            "name": "marital",
            "type": "single_choice",
            "label-en": "Marital status",
            "choices-en": "1, Single\n2, Married, or in a civil partnership\n",
            "choices-fr": "2, Marié(e)\n1, Célibataire",
        },
    )
    assert response.status_int == 303
    choices = draft_definition(dbsession, world).item("marital").choices
    assert [(c.code, c.label) for c in choices] == [
        ("1", {"en": "Single", "fr": "Célibataire"}),
        ("2", {"en": "Married, or in a civil partnership", "fr": "Marié(e)"}),
    ]


def test_an_option_is_marked_to_be_chosen_alone(admin, dbsession, world):
    fields = {
        "name": "symptoms",
        "type": "multiple_choice",
        "label-en": "Symptoms",
        "choices-en": "1, Cough\n2, Fever\n99, None of these",
    }
    unknown = new_question(admin, first_subsection(dbsession, world), exclusive="98", **fields)
    assert unknown.status_int == 422
    assert "not among the choices: 98" in unknown.html.find(id="field-exclusive").parent.text
    response = new_question(admin, first_subsection(dbsession, world), exclusive="99", **fields)
    assert response.status_int == 303
    choices = draft_definition(dbsession, world).item("symptoms").choices
    assert [(c.code, c.exclusive) for c in choices] == [("1", False), ("2", False), ("99", True)]


def test_bad_questions_are_refused_next_to_each_field(admin, dbsession, world):
    before = draft(dbsession, world).lock_version
    response = new_question(
        admin,
        first_subsection(dbsession, world),
        **{
            "name": "sex",
            "type": "single_choice",
            "label-en": "",
            "choices-en": "1 Single",
            "show_if": "[nothing] = 1 and",
        },
    )
    assert response.status_int == 422
    html = response.html
    message = html.find(id="field-name").find_next("p").text
    assert "The form demographics already has an item named sex." in message
    assert html.find(id="field-label-en")["aria-invalid"] == "true"
    assert 'write "code, label"' in html.find(id="field-choices-en-error").text
    assert "Line 1, column" in html.find(id="field-show_if-check").text
    assert html.select_one(".error-summary") is not None
    assert draft(dbsession, world).lock_version == before


def test_changing_the_type_shows_its_fields_and_saves_nothing(admin, dbsession, world):
    before = draft(dbsession, world).lock_version
    page = admin.get(FORM + "@@block", {"subsection": first_subsection(dbsession, world)})
    form = editor_form(page)
    assert "choices-en" not in form.fields
    form["type"].force_value("multiple_choice")
    refreshed = form.submit("refresh", value="1", headers=HTMX)
    assert refreshed.html.find(id="field-choices-en") is not None
    assert draft(dbsession, world).lock_version == before


def test_an_item_is_edited_and_the_change_audited_old_to_new(admin, dbsession, world):
    form = editor_form(admin.get(FORM + "@@block", {"oid": "I.HEIGHT_CM"}))
    assert form["hard-max"].value == "250"
    form["hard-max"] = "240"
    assert form.submit().status_int == 303
    assert draft_definition(dbsession, world).item("height_cm").hard_range.max == "240"
    [event] = events(dbsession, "design.block_changed")
    assert '"250"' in event.old_value and '"240"' in event.new_value


def test_blocks_move_with_buttons_duplicate_and_delete(admin, dbsession, world):
    def order():
        form = draft_definition(dbsession, world).form("demographics")
        return [b.name for b in form.sections[0].subsections[0].blocks]

    assert order()[:4] == ["initials", "birth_date", "sex", "pregnant"]
    page = admin.get(FORM)
    token = csrf_token(admin)
    lock = page.html.find("input", attrs={"name": "lock"})["value"]
    response = admin.post(
        FORM + "@@move-block",
        {"oid": "I.SEX", "direction": "up", "csrf_token": token, "lock": lock},
        headers=HTMX,
    )
    assert response.status_int == 200 and 'id="designer"' in response.text
    assert "<html" not in response.text
    assert order()[:3] == ["initials", "sex", "birth_date"]
    lock = response.html.find("input", attrs={"name": "lock"})["value"]
    response = admin.post(
        FORM + "@@duplicate-block",
        {"oid": "I.SEX", "csrf_token": token, "lock": lock},
        headers=HTMX,
    )
    assert order()[:4] == ["initials", "sex", "sex_2", "birth_date"]
    copy = draft_definition(dbsession, world).item("sex_2")
    assert (
        copy.oid != "I.SEX"
        and copy.choices == draft_definition(dbsession, world).item("sex").choices
    )
    lock = response.html.find("input", attrs={"name": "lock"})["value"]
    admin.post(
        FORM + "@@delete-block", {"oid": copy.oid, "csrf_token": token, "lock": lock}, headers=HTMX
    )
    assert "sex_2" not in order()


def test_a_stale_page_is_refused_with_409_and_changes_nothing(admin, dbsession, world):
    page = admin.get(FORM)
    token = csrf_token(admin)
    stale = page.html.find("input", attrs={"name": "lock"})["value"]
    admin.post(
        FORM + "@@move-block",
        {"oid": "I.SEX", "direction": "down", "csrf_token": token, "lock": stale},
    )
    before = draft_definition(dbsession, world)
    response = admin.post(
        FORM + "@@delete-block", {"oid": "I.SEX", "csrf_token": token, "lock": stale}, status=409
    )
    assert "changed by someone else" in response.text
    assert draft_definition(dbsession, world) == before


def test_expressions_are_checked_while_typed(admin):
    token = csrf_token(admin)
    bad = admin.post(
        FORM + "@@check-expression",
        {
            "show_if": "[sexx] = '1'",
            "field": "show_if",
            "target": "show_if",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert 'id="field-show_if-check"' in bad.text
    assert "sexx" in bad.text and "column 1" in bad.text
    good = admin.post(
        FORM + "@@check-expression",
        {"show_if": "[sex] = '2'", "field": "show_if", "target": "show_if", "csrf_token": token},
        headers=HTMX,
    )
    assert "Valid expression." in good.text
    typo = admin.post(
        FORM + "@@check-expression",
        {"show_if": "[sex] = '3'", "field": "show_if", "target": "show_if", "csrf_token": token},
        headers=HTMX,
    )
    assert "Valid expression." not in typo.text


def fill_preview(admin):
    form = admin.get(FORM + "@@preview").forms["preview-form"]
    form["sex"] = "2"
    form["height_cm"] = "180"
    form["weight_kg"] = "72.5"
    form["birth_date"] = "31/02/1980"
    return form


def test_preview_branches_calculates_and_validates_on_the_server(admin):
    assert admin.get(FORM + "@@preview").html.find(id="block-I.PREGNANT").has_attr("hidden")
    html = fill_preview(admin).submit().html  # without JavaScript: the whole page
    assert not html.find(id="block-I.PREGNANT").has_attr("hidden")
    assert html.find(id="item-bmi").text.strip() == "22.4"
    assert "This date does not exist." in html.find(id="item-birth_date-message").text
    assert html.find(id="item-birth_date")["aria-invalid"] == "true"
    assert html.find(id="item-height_cm")["value"] == "180"  # nothing typed is lost


def test_with_htmx_the_preview_answer_never_replaces_an_input(admin):
    """What the server decides comes back out of band; inputs stay as they are in the page,
    so a value typed while the request was on its way is never overwritten."""
    response = fill_preview(admin).submit(headers=HTMX)
    assert not response.html.find_all(["input", "select", "textarea"])
    assert response.html.find(id="item-bmi")["hx-swap-oob"] == "true"
    assert response.html.find(id="item-bmi").text.strip() == "22.4"
    message = response.html.find(id="item-birth_date-message")
    assert message["hx-swap-oob"] == "true" and "does not exist" in message.text
    state = json.loads(response.headers["HX-Trigger"])["datacapt:form-state"]
    assert "block-I.PREGNANT" in state["shown"]
    assert "item-birth_date" in state["invalid"] and "item-height_cm" in state["valid"]


def test_preview_in_another_language_of_the_design(admin):
    page = admin.get(FORM + "@@preview", {"lang": "fr"})
    assert "Date de naissance" in page.text and "Date of birth" not in page.text


def test_publication_needs_a_reason_and_a_design_without_problems(admin, dbsession, world):
    version = draft(dbsession, world)
    definition = versions.definition_of(version)
    definition.item("bmi").calculation = "round([weight_kg] / [height], 1)"
    version.definition = services.to_json(definition)
    dbsession.flush()
    page = admin.get(DESIGN + "@@publish")
    assert "height" in page.html.select_one(".problems").text
    assert "publish-form" not in page.forms

    definition.item("bmi").calculation = "round([weight_kg] / ([height_cm] / 100) ^ 2, 2)"
    version.definition = services.to_json(definition)
    dbsession.flush()
    page = admin.get(DESIGN + "@@publish")
    changes = page.html.select_one("table.changes").text
    assert "bmi" in changes and "calculation" in changes
    form = page.forms["publish-form"]
    refused = form.submit(status=422)
    assert "Say why this version is published" in refused.text
    form = refused.forms["publish-form"]
    form["reason"] = "Amendment 1: BMI with two decimals"
    response = form.submit()
    assert response.location.endswith("/design/versions/2/")
    dbsession.expire_all()
    published = versions.version(dbsession, world.study, 2)
    assert published.state is VersionState.PUBLISHED
    assert published.publish_reason == "Amendment 1: BMI with two decimals"
    assert len(published.content_hash) == 64
    assert versions.draft(dbsession, world.study) is None
    event = events(dbsession, "design.version_published")[-1]
    assert (event.entity_id, event.reason) == ("2", "Amendment 1: BMI with two decimals")
    assert event.actor_id == world.users["study_admin"].id

    listing = admin.get(DESIGN + "versions/")
    assert len(listing.html.select("table.data tbody tr")) == 2
    diff = admin.get(DESIGN + "versions/2/", {"against": "1"})
    assert "calculation" in diff.html.select_one("table.changes").text


def test_a_published_version_is_frozen_by_the_database(dbsession, world):
    published = versions.version(dbsession, world.study, 1)
    nested = dbsession.begin_nested()
    with pytest.raises(DBAPIError, match="frozen"):
        dbsession.execute(
            text("UPDATE study_version SET publish_reason = 'rewritten' WHERE id = :id"),
            {"id": published.id},
        )
    nested.rollback()
    nested = dbsession.begin_nested()
    with pytest.raises(DBAPIError, match="frozen"):
        dbsession.execute(text("DELETE FROM study_version WHERE id = :id"), {"id": published.id})
    nested.rollback()


def test_a_new_draft_starts_as_a_copy_of_the_published_version(admin, dbsession, world):
    version = draft(dbsession, world)
    token = csrf_token(admin)
    admin.post(DESIGN + "@@discard-draft", {"csrf_token": token, "lock": str(version.lock_version)})
    assert draft(dbsession, world) is None
    page = admin.get(DESIGN)
    assert "Start a new draft" in page.text
    page.forms[
        next(k for k, f in page.forms.items() if f.action.endswith("@@start-draft"))
    ].submit()
    started = draft(dbsession, world)
    assert started.number == 3  # the discarded draft keeps number 2
    assert versions.version(dbsession, world.study, 2).state is VersionState.DISCARDED
    assert started.definition == versions.version(dbsession, world.study, 1).definition
    assert [
        e.action
        for e in dbsession.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("design.draft_%"))
            .order_by(AuditEvent.id)
        )
    ][-2:] == ["design.draft_discarded", "design.draft_started"]


def test_the_schedule_gets_a_visit_and_its_forms(admin, dbsession, world):
    page = admin.get(DESIGN + "schedule/")
    form = page.forms["visit-form"]
    form["name"] = "week12"
    form["title-en"] = "Week 12"
    form["day"] = "84"
    form["window-before"] = "-2"
    refused = form.submit(status=422)
    assert "Enter a number between 0 and 3650." in refused.text
    form = refused.forms["visit-form"]
    form["window-before"] = "7"
    form["window-after"] = "7"
    form.submit()
    visit = next(
        v for v in draft_definition(dbsession, world).schedule.visits if v.name == "week12"
    )
    assert (visit.day, visit.window_before, visit.window_after) == (84, 7, 7)

    grid = admin.get(DESIGN + "schedule/").forms["assign-form"]
    for box in grid.fields["assign"]:
        if box._value == f"{visit.oid}:vital_signs":
            box.checked = True
    grid.submit()
    assert draft_definition(dbsession, world).schedule.visits[-1].forms == ["vital_signs"]


def test_languages_of_the_forms_can_be_extended(admin, dbsession, world):
    form = admin.get(DESIGN).forms["languages"]
    form["languages"] = "en, fr, de"
    form.submit()
    assert draft_definition(dbsession, world).languages == ["en", "fr", "de"]
    page = admin.get(FORM + "@@block", {"oid": "I.SEX"})
    assert page.html.find(id="field-label-de") is not None
    form = admin.get(DESIGN).forms["languages"]
    form["languages"] = "en, fr"
    form["default-language"] = "xx"
    assert "must be one of the list" in form.submit(status=422).text


def test_the_designer_is_keyboard_friendly(admin):
    """Every action is a real button or link with a name; nothing needs dragging."""
    page = admin.get(FORM)
    for button in page.html.select("#outline button"):
        assert button.get("aria-label") or button.text.strip()
    assert not page.html.select("[draggable]")
    labels = {label["for"] for label in page.html.select("label[for]")}
    for field in page.html.select("#designer input:not([type=hidden]), #designer textarea"):
        if field.get("type") not in ("checkbox", "radio"):
            assert field["id"] in labels, field


def test_read_only_when_there_is_no_draft(admin, dbsession, world):
    version = draft(dbsession, world)
    admin.post(
        DESIGN + "@@discard-draft",
        {"csrf_token": csrf_token(admin), "lock": str(version.lock_version)},
    )
    page = admin.get(FORM)
    assert "This version is read-only." in page.text
    assert not page.html.select("#outline form")
    assert re.search(r"Version 1 is published and frozen", page.text)


def test_designer_text_is_never_rendered_as_html(admin, dbsession, world):
    version = draft(dbsession, world)
    definition = versions.definition_of(version)
    definition.item("sex").label["en"] = '<img src=x onerror="alert(1)">Sex'
    form = definition.form("vital_signs")
    form.sections[0].subsections[0].blocks[0].content["en"] = (
        "**Seated** <script>alert(1)</script> [link](javascript:alert(1))"
    )
    version.definition = services.to_json(definition)
    dbsession.flush()
    preview = admin.get(FORM + "@@preview")
    assert "<img src=x" not in preview.text and "&lt;img src=x" in preview.text
    static = admin.get(DESIGN + "forms/vital_signs/@@preview").html.select_one(".ecrf-static")
    assert static.find("strong").text == "Seated"
    assert static.find("script") is None and "javascript:" not in str(static.find_all("a"))


FIELD_NAMES = [
    "name",
    "type",
    "label-en",
    "label-fr",
    "choices-en",
    "choices-fr",
    "validation",
    "decimals",
    "date-format",
    "hard-min",
    "hard-max",
    "soft-min",
    "pattern",
    "calculation",
    "show_if",
    "check-count",
    "check-0-condition",
    "check-0-severity",
    "widget",
    "max-length",
    "slider-min",
    "aliases",
    "oid",
    "subsection",
    "kind",
]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payload=st.dictionaries(
        st.sampled_from(FIELD_NAMES),
        st.one_of(
            st.text(max_size=60),
            st.sampled_from(
                ["I.SEX", "text", "single_choice", "999", "-1", "[sex] = '1'", "1, A\n1, B"]
            ),
        ),
        max_size=12,
    )
)
def test_any_post_to_the_block_editor_is_answered_and_keeps_the_draft_on_refusal(
    admin, dbsession, world, payload
):
    version = draft(dbsession, world)
    before = (version.lock_version, version.definition)
    payload = {**payload, "csrf_token": csrf_token(admin), "lock": str(version.lock_version)}
    response = admin.post(FORM + "@@block", payload, status="*")
    assert response.status_int < 500, response.text[:500]
    if response.status_int >= 400:
        after = draft(dbsession, world)
        assert (after.lock_version, after.definition) == before
