"""What people type or design is checked in bounded time and space: patterns run by RE2 on
bounded texts, numbers bounded in digits and exponent, through the real designer, preview and
save endpoints."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from datacapt.design import services
from datacapt.ecrf import versions
from datacapt.ecrf.definition import Item, ItemType, Validation
from datacapt.models import FormInstance, ItemValue
from tests.factories import SETUP, build_world, csrf_token, login, publish_definition

DESIGN = "/acme/demo/design/"
FORM = DESIGN + "forms/demographics/"
DEMOGRAPHICS = "/acme/demo/subjects/par01-0001/screening/demographics/"
HTMX = {"HX-Request": "true"}
NUMBER_MESSAGE = "at most 28 digits before the decimal point and 28 after it"
EXTRA_ITEMS = [
    Item(
        oid="I.DOSE",
        name="dose",
        type=ItemType.TEXT,
        label={"en": "Dose"},
        validation=Validation.NUMBER,
    ),
    Item(
        oid="I.DOSE_SHOWN",
        name="dose_shown",
        type=ItemType.CALCULATED,
        label={"en": "Dose again"},
        calculation="[dose]",
    ),
    Item(
        oid="I.DOSE_SCALED",
        name="dose_scaled",
        type=ItemType.CALCULATED,
        label={"en": "Dose scaled"},
        calculation="[dose] * 10 ^ 27",
    ),
    Item(
        oid="I.CODE",
        name="code",
        type=ItemType.TEXT,
        label={"en": "Code"},
        validation=Validation.REGEX,
        pattern="(a+)+b",
        max_length=20000,
    ),
    Item(
        oid="I.CONTACT",
        name="contact",
        type=ItemType.TEXT,
        label={"en": "Contact"},
        validation=Validation.EMAIL,
    ),
]


@pytest.fixture
def world(dbsession, registry):
    """The demo design with the items above, published as version 2; a draft 3 started."""
    world = build_world(dbsession, registry)
    draft = versions.draft(dbsession, world.study)
    definition = versions.definition_of(draft)
    definition.form("demographics").sections[0].subsections[0].blocks.extend(EXTRA_ITEMS)
    publish_definition(dbsession, world.study, draft, definition, "Bounded input")
    services.start_draft(dbsession, world.study, SETUP)
    dbsession.flush()
    return world


@pytest.fixture
def coordinator(testapp, world):
    assert login(testapp, world.users["coordinator"].email).status_int == 303
    return testapp


@pytest.fixture
def admin(testapp, world):
    assert login(testapp, world.users["study_admin"].email).status_int == 303
    return testapp


def saved_forms(dbsession):
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(FormInstance))


def save(app, **values):
    form = app.get(DEMOGRAPHICS).forms["entry-form"]
    for name, value in {"birth_date": "31/01/1980", "sex": "1", "height_cm": "180"}.items():
        form[name] = value
    for name, value in values.items():
        form[name] = value
    return form.submit(status="*")


def message(response, name):
    return response.html.find(id=f"item-{name}-message").text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1E+150000000", NUMBER_MESSAGE),
        ("1E+999999", NUMBER_MESSAGE),
        ("1E+1000000", NUMBER_MESSAGE),
        ("0E+99999999", NUMBER_MESSAGE),
        ("1" * 29, NUMBER_MESSAGE),
        ("0." + "0" * 28 + "1", NUMBER_MESSAGE),
        ("1_000", "Enter a number."),
        ("١٢٣", "Enter a number."),
    ],
)
def test_huge_or_foreign_numbers_are_refused_at_their_field(
    coordinator, dbsession, typed, expected
):
    before = saved_forms(dbsession)
    response = save(coordinator, dose=typed)
    assert response.status_int == 422
    assert expected in message(response, "dose")
    assert response.html.find(id="item-dose")["aria-invalid"] == "true"
    assert saved_forms(dbsession) == before


def test_a_number_within_bounds_is_saved_and_calculated_with(coordinator, dbsession):
    response = save(coordinator, dose="1.5e-3", code="aab", contact="a@example.org")
    assert response.status_int == 303
    dbsession.expire_all()
    stored = dict(dbsession.execute(select(ItemValue.item_oid, ItemValue.value)).all())
    assert stored["I.DOSE"] == "0.0015" and stored["I.DOSE_SHOWN"] == "0.0015"
    assert stored["I.DOSE_SCALED"] == "1500000000000000000000000.000"


def test_a_calculation_too_large_to_keep_refuses_the_save(coordinator, dbsession):
    before = saved_forms(dbsession)
    response = save(coordinator, dose="10")
    assert response.status_int == 422
    assert "too large to keep" in message(response, "dose_scaled")
    assert saved_forms(dbsession) == before


def test_the_preview_answers_a_huge_number_with_a_message(admin):
    token = csrf_token(admin)
    response = admin.post(
        FORM + "@@preview", {"dose": "1E+999999", "csrf_token": token}, headers=HTMX
    )
    assert NUMBER_MESSAGE in message(response, "dose")
    assert len(response.body) < 100_000


def test_a_pattern_is_matched_on_bounded_text_only(coordinator, dbsession):
    before = saved_forms(dbsession)
    response = save(coordinator, code="a" * 1000 + "b")  # matches, but longer than any code
    assert response.status_int == 422
    assert "Use at most 1000 characters." in message(response, "code")
    response = save(coordinator, code="a" * 60 + "!")  # exponential for a backtracking engine
    assert response.status_int == 422
    assert "does not have the expected format" in message(response, "code")
    assert saved_forms(dbsession) == before


def test_the_preview_matches_an_adversarial_text_and_answers(admin):
    def preview(code):
        token = csrf_token(admin)
        response = admin.post(FORM + "@@preview", {"code": code, "csrf_token": token}, headers=HTMX)
        return message(response, "code")

    assert "Use at most 1000 characters." in preview("a" * 1000 + "b")
    assert "does not have the expected format" in preview("a" * 999 + "!")
    assert preview("aaab").strip() == ""


def test_a_long_email_address_is_refused_by_its_length(coordinator, dbsession):
    before = saved_forms(dbsession)
    response = save(coordinator, contact="a" * 60 + "@" + "b" * 3900 + ".org")
    assert response.status_int == 422
    assert "Use at most 254 characters." in message(response, "contact")
    assert saved_forms(dbsession) == before


def editor_form(page):
    return page.forms[next(k for k, f in page.forms.items() if "kind" in f.fields)]


def new_question(admin, **fields):
    subsection = "G.DEMOGRAPHICS.1"
    page = admin.get(FORM + "@@block", {"subsection": subsection, "kind": "item"})
    form = editor_form(page)
    form["type"].force_value("text")
    form = editor_form(form.submit("refresh", value="1"))
    for name, value in fields.items():
        form[name] = value
    return form.submit(status="*")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a+)\1", r"invalid escape sequence: \1"),
        (r"(?=[A-Z])[A-Z0-9]{4}", "invalid perl operator: (?="),
        (r"(?<!0)[0-9]{5}", "invalid perl operator: (?<"),
    ],
)
def test_the_editor_refuses_a_pattern_re2_cannot_run(admin, dbsession, world, pattern, reason):
    before = versions.draft(dbsession, world.study).lock_version
    response = new_question(
        admin,
        name="postcode",
        **{"label-en": "Postcode", "validation": "regex", "pattern": pattern},
    )
    assert response.status_int == 422
    assert response.html.find(id="field-pattern")["aria-invalid"] == "true"
    shown = response.html.find(id="field-pattern").find_next("p").text
    assert reason in shown and "without back-references or look-arounds" in shown
    dbsession.expire_all()
    assert versions.draft(dbsession, world.study).lock_version == before


def test_the_editor_refuses_a_number_bound_out_of_bounds(admin, dbsession, world):
    response = new_question(
        admin,
        name="volume",
        **{"label-en": "Volume", "validation": "number", "hard-min": "1_000"},
    )
    assert response.status_int == 422
    assert "is not a valid bound" in response.text
