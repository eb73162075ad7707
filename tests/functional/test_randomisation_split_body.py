"""Several randomisations in one study, one of them split-body: the study administrator adds a
second design beside the main one, site staff randomise a subject under each from the
casebook, and see each zone's product code (never what the product is, in a blinded study)
on the casebook and the visit's pages; the allocation is balanced and audited."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from datacapt.models import AuditEvent, Randomisation, RandomisationDesign
from datacapt.randomisation import services
from tests.factories import PASSWORD, build_world, login, make_subject

PAGE = "/acme/demo/randomisation/"
SUBJECT = "/acme/demo/subjects/par01-0001/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def as_user(testapp, world, role):
    testapp.reset()
    assert login(testapp, world.users[role].email).status_int == 303
    return testapp


def save(testapp, url, **fields):
    form = testapp.get(url).forms["design-form"]
    for name, value in fields.items():
        form[name] = value
    return form.submit(status="*")


def two_designs(testapp, world, blinded=True):
    """A main blocks design, then a split-body one (``skin``), each with its lists."""
    admin = as_user(testapp, world, "study_admin")
    main = save(admin, PAGE, method="blocks", arms="A Placebo\nB Active", list_length="8")
    assert main.status_int == 303
    assert admin.get(PAGE).forms["generate-form"].submit().status_int == 303
    skin = save(
        admin,
        PAGE + "?new=1",
        key="skin",
        name="Cheeks",
        method="latin_square",
        arms="X17 Retinol cream\nY42 Vehicle cream",
        zones="L Left cheek\nR Right cheek",
        list_length="8",
        blinded=blinded,
    )
    assert skin.status_int == 303 and "design=skin" in skin.location
    generate = admin.get(PAGE + "?design=skin").forms["generate-form"]
    assert generate["design"].value == "skin"
    assert generate.submit().status_int == 303
    return admin


def panel_form(testapp, url, design):
    panel = testapp.get(url + "@@randomisation")
    form_id = "randomise-form" if design == "main" else f"randomise-form-{design}"
    return panel.forms[form_id]


def test_a_second_design_is_added_beside_the_first_and_each_keeps_its_lists(
    testapp, dbsession, world
):
    admin = two_designs(testapp, world)
    designs = services.designs_of(dbsession, world.study)
    assert [(d.key, d.method.value) for d in designs] == [
        ("main", "blocks"),
        ("skin", "latin_square"),
    ]
    assert designs[1].zones == [
        {"code": "L", "label": "Left cheek"},
        {"code": "R", "label": "Right cheek"},
    ]
    skin = admin.get(PAGE + "?design=skin")
    assert skin.html.find(id="randomisation-designs").find("a", attrs={"aria-current": "page"})
    assert services.list_summary(dbsession, designs[1])[designs[1].environment] == (8, 0)
    assert services.list_summary(dbsession, designs[0])[designs[0].environment] == (8, 0)
    listed = admin.get(PAGE + "@@list?environment=test&design=skin")
    rows = list(csv.DictReader(io.StringIO(listed.text)))
    assert len(rows) == 8 and {row["arm"] for row in rows} == {"X17,Y42", "Y42,X17"}
    assert listed.content_disposition.endswith('demo-randomisation-skin-test.csv"')


def test_a_split_body_design_needs_as_many_zones_as_products(testapp, world):
    admin = as_user(testapp, world, "study_admin")
    refused = save(
        admin,
        PAGE,
        method="permutations",
        arms="X17 Retinol\nY42 Vehicle\nZ03 Untreated",
        zones="L Left\nR Right",
    )
    assert refused.status_int == 422
    error = refused.html.find(id="field-zones-error")
    assert error is not None and "as many zones as products" in error.text
    bad_key = save(admin, PAGE, key="Main Design", method="blocks")
    assert bad_key.status_int == 422 and bad_key.html.find(id="field-key-error") is not None


def test_blinded_staff_randomise_under_each_design_and_see_product_codes_only(
    testapp, dbsession, world
):
    two_designs(testapp, world)
    coordinator = as_user(testapp, world, "coordinator")
    for key in ("skin", "main"):
        form = panel_form(coordinator, SUBJECT, key)
        assert form["design"].value == key
        answer = form.submit(headers=HTMX)
        assert answer.status_int == 200
    found = dbsession.scalars(
        select(Randomisation).where(Randomisation.subject_id == world.subjects["par01-0001"].id)
    ).all()
    assert len(found) == 2
    by_design = {dbsession.get(RandomisationDesign, r.design_id).key: r for r in found}
    skin = by_design["skin"]
    panel = coordinator.get(SUBJECT + "@@randomisation")
    table = panel.html.find(id="split-body-skin")
    cells = [row.find("td").text for row in table.find("tbody").find_all("tr")]
    assert cells == skin.arm.split(",")
    assert sorted(cells) == ["X17", "Y42"]
    assert "Retinol" not in panel.text and "Vehicle" not in panel.text  # what they are
    assert "Concealed" in panel.html.find(id="randomisation-arm").text  # the main arm too
    # The visit's and the form's pages load the zones from the same panel.
    visit = coordinator.get(SUBJECT + "screening/")
    loader = visit.html.find(id="split-body-zones")
    assert loader["hx-get"] == SUBJECT + "@@randomisation"
    assert loader["hx-select"] == "#split-body-zones"
    form_page = coordinator.get(SUBJECT + "screening/demographics/")
    assert form_page.html.find(id="split-body-zones")["hx-get"] == SUBJECT + "@@randomisation"
    zones = panel.html.find(id="split-body-zones")
    assert [li.text.split()[-1] for li in zones.find_all("li")] == skin.arm.split(",")
    assert "Left cheek L → " + skin.arm.split(",")[0] in " ".join(zones.text.split())
    # Randomising again under the same design returns the first allocation, never a second.
    coordinator.post(
        SUBJECT + "@@randomise",
        {"csrf_token": panel.forms["unblind-form-skin"]["csrf_token"].value, "design": "skin"}
        if "unblind-form-skin" in panel.forms
        else {
            "csrf_token": visit.html.find("input", attrs={"name": "csrf_token"})["value"],
            "design": "skin",
        },
        headers=HTMX,
    )
    assert (
        dbsession.scalar(
            select(func.count())
            .select_from(Randomisation)
            .where(Randomisation.subject_id == world.subjects["par01-0001"].id)
        )
        == 2
    )
    events = dbsession.scalars(
        select(AuditEvent.new_value).where(AuditEvent.action == "randomisation.randomised")
    ).all()
    assert sorted(event.split()[0] for event in events) == ["main", "skin"]
    assert all("X17" not in event and "Y42" not in event for event in events)


def test_who_sees_arms_sees_what_each_product_is(testapp, dbsession, world):
    two_designs(testapp, world, blinded=False)
    coordinator = as_user(testapp, world, "coordinator")
    panel_form(coordinator, SUBJECT, "skin").submit(headers=HTMX)
    panel = coordinator.get(SUBJECT + "@@randomisation")
    table = panel.html.find(id="split-body-skin")
    assert "Retinol cream" in table.text and "Vehicle cream" in table.text


def test_consecutive_subjects_are_balanced_across_zones(testapp, dbsession, world):
    two_designs(testapp, world)
    second = make_subject(dbsession, world.sites["par01"], "par01-0002")
    dbsession.flush()
    coordinator = as_user(testapp, world, "coordinator")
    for url in (SUBJECT, f"/acme/demo/subjects/{second.label}/"):
        assert panel_form(coordinator, url, "skin").submit(headers=HTMX).status_int == 200
    design = services.design_of(dbsession, world.study, key="skin")
    arms = dbsession.scalars(
        select(Randomisation.arm)
        .where(Randomisation.design_id == design.id)
        .order_by(Randomisation.id)
    ).all()
    # One Latin square of two: the second subject has the products on the other sides.
    assert sorted(arms) == ["X17,Y42", "Y42,X17"]


def test_an_investigator_unblinds_the_split_body_design_alone(testapp, dbsession, world):
    two_designs(testapp, world)
    coordinator = as_user(testapp, world, "coordinator")
    for key in ("main", "skin"):
        panel_form(coordinator, SUBJECT, key).submit(headers=HTMX)
    investigator = as_user(testapp, world, "investigator")
    panel = investigator.get(SUBJECT + "@@randomisation", headers=HTMX)
    ids = [tag["id"] for tag in panel.html.find_all(id=True)]
    assert len(ids) == len(set(ids))  # two unblinding forms, no id twice
    form = panel.forms["unblind-form-skin"]
    assert "unblind-reason" not in form.fields
    form["unblind-reason-skin"] = "Severe reaction on one cheek"
    form["unblind-password-skin"] = PASSWORD
    revealed = form.submit(headers=HTMX)
    assert revealed.status_int == 200
    table = revealed.html.find(id="split-body-skin")
    assert "Retinol cream" in table.text and "Vehicle cream" in table.text
    assert "Concealed" in revealed.html.find(id="randomisation-arm").text  # main stays blind
    skin = services.design_of(dbsession, world.study, key="skin")
    row = dbsession.scalar(select(Randomisation).where(Randomisation.design_id == skin.id))
    assert row.unblinded_at is not None
    main = services.design_of(dbsession, world.study, key="main")
    other = dbsession.scalar(select(Randomisation).where(Randomisation.design_id == main.id))
    assert other.unblinded_at is None
    # Without a reason: the message is beside the skin design's own field.
    again = investigator.get(SUBJECT + "@@randomisation", headers=HTMX).forms["unblind-form"]
    again["unblind-password"] = PASSWORD
    refused = again.submit(headers=HTMX, status=422)
    assert refused.html.find(id="field-unblind-reason-error") is not None


def test_an_existing_designs_code_is_read_only_and_a_new_one_starts_blank(testapp, world):
    two_designs(testapp, world)
    admin = as_user(testapp, world, "study_admin")
    existing = admin.get(PAGE + "?design=skin").html.find(id="field-key")
    assert existing["value"] == "skin" and existing.has_attr("readonly")
    fresh = admin.get(PAGE + "?new=1").html.find(id="field-key")
    assert fresh["value"] == "" and not fresh.has_attr("readonly")
    # a new design never takes, nor changes, another's code
    taken = save(admin, PAGE + "?new=1", key="skin", method="latin_square", arms="X17 A\nY42 B")
    assert taken.status_int == 422
    assert "has this code" in taken.html.find(id="field-key-error").text
