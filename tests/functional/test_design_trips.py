"""The designer's everyday trips, as the server answers them: expression checks that leave Save
alone, unsaved-change warnings, placing questions, a readable outline and publication page."""

from __future__ import annotations

import csv
import io

import pytest

from datacapt.design import services
from datacapt.ecrf import versions
from tests.factories import build_world, csrf_token, login
from tests.functional.test_design import (
    DESIGN,
    FORM,
    HTMX,
    draft,
    draft_definition,
    editor_form,
    events,
    new_question,
)


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


def order(dbsession, world) -> list[str]:
    form = draft_definition(dbsession, world).form("demographics")
    return [block.name for block in form.sections[0].subsections[0].blocks]


def test_a_question_is_inserted_where_asked_not_only_at_the_end(admin, dbsession, world):
    assert order(dbsession, world)[:3] == ["initials", "birth_date", "sex"]
    page = admin.get(FORM)
    insert = page.html.find("a", attrs={"aria-label": "Insert a question before sex"})
    editor = admin.get(insert["href"])
    assert "New question (position 3)" in editor.html.find(id="editor-panel").h2.text
    form = editor_form(editor)
    form["type"].force_value("yes_no")
    form = editor_form(form.submit("refresh", value="1"))  # the position survives a type change
    assert form["position"].value == "3"
    form["name"] = "ethnicity_known"
    form["label-en"] = "Is the ethnicity known?"
    assert form.submit().status_int == 303
    assert order(dbsession, world)[:4] == ["initials", "birth_date", "ethnicity_known", "sex"]


def test_a_block_moves_to_a_position_in_one_act(admin, dbsession, world):
    page = admin.get(FORM)
    place = page.forms[
        next(
            k
            for k, f in page.forms.items()
            if f.action.endswith("@@place-block") and f["oid"].value == "I.SEX"
        )
    ]
    assert place["position"].value == "3"
    place["position"] = "1"
    response = place.submit(headers=HTMX)
    assert response.status_int == 200 and "<html" not in response.text
    assert order(dbsession, world)[:3] == ["sex", "initials", "birth_date"]
    [event] = events(dbsession, "design.block_moved")
    assert '"position": 3' in event.old_value and '"position": 1' in event.new_value

    lock = response.html.find("input", attrs={"name": "lock"})["value"]
    before = order(dbsession, world)
    for wrong in ("0", "99", "two"):
        refused = admin.post(
            FORM + "@@place-block",
            {"oid": "I.SEX", "position": wrong, "lock": lock, "csrf_token": csrf_token(admin)},
            headers=HTMX,
            status=422,
        )
        field = refused.html.find(id="field-position-I.SEX")
        assert field["aria-invalid"] == "true" and field["value"] == wrong
        assert "Enter a position between 1 and" in refused.text
    assert order(dbsession, world) == before


def summary(page, oid: str) -> str:
    return " ".join(page.html.find(id=oid).select_one(".block-summary").get_text(" ").split())


def test_the_outline_shows_each_items_type_range_and_checks(admin):
    page = admin.get(FORM)
    height = summary(page, "I.HEIGHT_CM")
    assert "height_cm Text · Whole number (cm) Height" in height
    assert "Accepted range 50 – 250" in height and "Expected range 140 – 210" in height
    assert "Single choice" in summary(page, "I.SEX") and "range" not in summary(page, "I.SEX")
    assert "Accepted range ≥ 1900-01-01" in summary(page, "I.BIRTH_DATE")
    bmi = page.html.find(id="I.BMI").select_one("ul.checks")
    assert bmi["aria-label"] == "Edit checks of bmi"
    assert " ".join(bmi.get_text(" ").split()) == (
        "Warning [bmi] > 40 — BMI above 40: please confirm height and weight."
    )
    french = admin.get(FORM, headers={"Accept-Language": "fr"})
    assert "IMC supérieur à 40" in summary(french, "I.BMI")


def test_labels_help_and_texts_read_as_markdown_in_the_outline_and_the_changes(
    admin, dbsession, world
):
    version = draft(dbsession, world)
    definition = versions.definition_of(version)
    definition.item("sex").label["en"] = "Sex *at birth* <b>x</b>"
    definition.item("weight_kg").help["en"] = "See the [scale](https://example.org/scale) `kg`"
    static = definition.form("vital_signs").sections[0].subsections[0].blocks[0]
    static.content["en"] = "**Seated** for 5 minutes:\n\n- left arm\n- [x](javascript:alert(1))"
    version.definition = services.to_json(definition)
    dbsession.flush()

    outline = admin.get(FORM).html
    label = outline.find(id="I.SEX").select_one(".block-label")
    assert label.find("em").text == "at birth" and label.find("p") is None
    assert "<b>" in label.text and label.find("b") is None  # raw HTML stays text
    help_text = outline.find(id="I.WEIGHT_KG").select_one(".help")
    assert help_text.find("a")["href"] == "https://example.org/scale"
    assert help_text.find("code").text == "kg"
    text = admin.get(FORM.replace("demographics", "vital_signs")).html.find(id=static.oid)
    assert text.find("strong").text == "Seated" and len(text.select("li")) == 2
    assert "javascript:" not in str(text.find_all("a"))

    changes = admin.get(DESIGN + "@@publish").html.select_one("table.changes")
    rows = {" ".join(row.get_text(" ").split()): row for row in changes.select("tbody tr")}
    sex = next(row for text, row in rows.items() if "sex — Sex" in text)
    assert sex.find("em").text == "at birth"
    seated = next(row for row in rows.values() if row.find("strong"))
    assert seated.find("strong").text == "Seated" and seated.find("ul")


def test_a_duplicate_item_name_says_which_form_has_it(admin, dbsession, world):
    vital_signs = draft_definition(dbsession, world).form("vital_signs")
    response = new_question(
        admin,
        vital_signs.sections[0].subsections[0].oid,
        form_url=DESIGN + "forms/vital_signs/",
        **{"name": "weight_kg", "type": "text", "label-en": "Weight again"},
    )
    assert response.status_int == 422
    error = response.html.find(id="field-name").find_next("p", class_="field-error")
    assert error.text.endswith("The form demographics already has an item named weight_kg.")

    # A design that has one anyway (an import, an older draft) is named on the publish page.
    version = draft(dbsession, world)
    definition = versions.definition_of(version)
    definition.form("vital_signs").sections[0].subsections[0].blocks[-1].name = "sex"
    version.definition = services.to_json(definition)
    dbsession.flush()
    problems = admin.get(DESIGN + "@@publish").html.select_one(".problems").text
    assert "The form demographics already has an item named sex." in problems
    french = admin.get(DESIGN + "@@publish", headers={"Accept-Language": "fr"}).html
    assert (
        "Le formulaire demographics a déjà un élément nommé sex."
        in french.select_one(".problems").text
    )


REDCAP_HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
DATEDIFF_FORMS = {
    "age_units": 'rounddown(datediff([dob],[enrolled],"y"))',
    "age_signed": 'rounddown(datediff([enrolled],[dob],"y",true))',
    "age_unsigned": 'rounddown(datediff([enrolled],[dob],"y",false))',
    "age_format": 'rounddown(datediff([dob],[enrolled],"y","dmy"))',
    "age_format_signed": 'rounddown(datediff([enrolled],[dob],"y","dmy",true))',
    "days_text_date": 'datediff("31/12/2023",[enrolled],"d","dmy",true)',
}


def test_a_redcap_dictionary_with_each_form_of_datediff_imports_and_calculates(
    admin, dbsession, world, tmp_path
):
    def row(name: str, kind: str, label: str, choices: str = "", validation: str = "") -> list:
        return [name, "ages", "", kind, label, choices, "", validation, *[""] * 10]

    rows = [
        row("record_id", "text", "Record"),
        row("dob", "text", "Date of birth", validation="date_dmy"),
        row("enrolled", "text", "Enrolled on", validation="date_dmy"),
        *(row(name, "calc", name, calculation) for name, calculation in DATEDIFF_FORMS.items()),
    ]
    text = io.StringIO()
    csv.writer(text).writerows([REDCAP_HEADER, *rows])
    dictionary = tmp_path / "ages.csv"
    dictionary.write_text(text.getvalue(), encoding="utf-8")
    form = admin.get(DESIGN + "@@import").forms["import-form"]
    form["format"] = "redcap"
    form["file"] = (dictionary.name, dictionary.read_bytes())
    report = form.submit()
    assert "left out" not in report.text and "does not parse" not in report.text
    definition = draft_definition(dbsession, world)
    assert definition.item("age_signed").calculation == (
        "rounddown(datediff([enrolled], [dob], 'y', true))"
    )
    assert definition.item("age_format_signed").calculation == (
        "rounddown(datediff([enrolled], [dob], 'y', 'dmy', true))"
    )

    preview = admin.get(DESIGN + "forms/ages/@@preview").forms["preview-form"]
    preview["dob"] = "1980-05-17"
    preview["enrolled"] = "2024-01-10"
    shown = preview.submit()
    results = {name: shown.html.find(id=f"item-{name}").text.strip() for name in DATEDIFF_FORMS}
    assert results == {
        "age_units": "43",
        "age_signed": "-43",  # date2 before date1: negative, as signed asks
        "age_unsigned": "43",
        "age_format": "43",
        "age_format_signed": "-43",
        "days_text_date": "10",
    }

    checked = admin.post(
        DESIGN + "forms/ages/@@check-expression",
        {
            "calculation": 'datediff([dob], "31-12-2023", "d", "dmy", true)',
            "field": "calculation",
            "target": "calculation",
            "csrf_token": csrf_token(admin),
        },
        headers=HTMX,
    )
    assert "Valid expression." in checked.text


def test_missing_translations_are_listed_before_publishing(admin, dbsession, world):
    page = admin.get(DESIGN + "@@publish")
    assert page.html.find(id="missing-translations") is None  # the demo is in en and fr

    version = draft(dbsession, world)
    definition = versions.definition_of(version)
    del definition.item("sex").label["fr"]
    del definition.item("sex").choices[1].label["fr"]
    del definition.item("weight_kg").help["fr"]
    definition.languages.append("de")
    definition.item("height_cm").label["de"] = "Größe"
    version.definition = services.to_json(definition)
    dbsession.flush()

    page = admin.get(DESIGN + "@@publish")
    section = page.html.find(id="missing-translations")
    lines = [" ".join(li.get_text(" ").split()) for li in section.select("li.warning")]
    assert "Warning demographics / sex not translated in fr: label, options" in lines
    assert "Warning demographics / weight_kg not translated in fr: help" in lines
    assert "Warning demographics / sex not translated in de: label, options" in lines
    assert not any("height_cm not translated in de: label" in line for line in lines)
    assert not any(" in en:" in line for line in lines)  # the default language has them all
    assert page.forms["publish-form"]  # a warning: publishing stays possible

    french = admin.get(DESIGN + "@@publish", headers={"Accept-Language": "fr"}).html
    assert "non traduit en fr : libellé, options" in french.find(id="missing-translations").text
