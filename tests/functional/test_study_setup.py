"""Organisation administrators open studies and sites on the web; study administrators keep
them. Each change is audited as the command line's is; bad input is refused beside its field."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from datacapt.models import AuditEvent, Site, Study
from tests.factories import build_world, csrf_token, login


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def signed_in(testapp, world, role):
    assert login(testapp, world.users[role].email).status_int == 303
    return testapp


def events(dbsession, action):
    statement = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(dbsession.scalars(statement))


def choose(form, name, values):
    for box in form.fields[name]:
        box.checked = box._value in values


def field_error(page, name):
    return page.html.select_one(f"#field-{name}-error").text.strip()


def test_a_tenant_admin_creates_a_study_from_the_tenant_page(testapp, world, dbsession):
    app = signed_in(testapp, world, "tenant_admin")
    form = app.get("/acme/").click("New study").forms["study-form"]
    form["code"] = "onc-002"
    form["title"] = "Oncology 002"
    choose(form, "languages", {"fr", "pl"})
    form["timezone"] = "Europe/Warsaw"
    form["subject_id_pattern"] = "{site}.{seq:03}"
    answer = form.submit()
    assert answer.status_int == 303
    assert answer.location == "http://localhost/acme/onc-002/"
    study = dbsession.scalar(select(Study).where(Study.code == "onc-002"))
    assert (study.title, study.languages, study.timezone, study.subject_id_pattern) == (
        "Oncology 002",
        ["fr", "pl"],
        "Europe/Warsaw",
        "{site}.{seq:03}",
    )
    created = events(dbsession, "study.created")[-1]
    assert created.actor_id == world.users["tenant_admin"].id
    assert created.study_id == study.id and "Europe/Warsaw" in created.new_value
    home = answer.follow()
    assert "Europe/Warsaw" in home.text and "Français, Polski" in home.text


def test_a_bad_study_is_refused_beside_each_field_and_nothing_is_saved(testapp, world, dbsession):
    app = signed_in(testapp, world, "tenant_admin")
    before = dbsession.scalar(select(func.count(Study.id)))
    form = app.get("/acme/@@new-study").forms["study-form"]
    form["code"] = "demo"  # taken
    form["title"] = "Typed by hand"
    choose(form, "languages", set())
    form["subject_id_pattern"] = "{site}-{visit}"
    token = form["csrf_token"].value
    page = app.post(
        "/acme/@@new-study",
        {
            "csrf_token": token,
            "code": "demo",
            "title": "Typed by hand",
            "timezone": "Mars/Olympus_Mons",
            "subject_id_pattern": "{site}-{visit}",
        },
        status=422,
    )
    assert field_error(page, "code").endswith("This code is already used in this organisation.")
    assert "Choose at least one language." in field_error(page, "languages")
    assert "Choose a time zone from the list" in field_error(page, "timezone")
    assert "Use {site} and {seq}" in field_error(page, "subject_id_pattern")
    assert page.html.select_one("#field-title")["value"] == "Typed by hand"
    assert dbsession.scalar(select(func.count(Study.id))) == before

    page = app.post(
        "/acme/@@new-study",
        {"csrf_token": token, "code": "Bad Code!", "title": "", "languages": "xx"},
        status=422,
    )
    assert "lowercase letters" in field_error(page, "code")
    assert "required" in field_error(page, "title")
    assert "Choose languages from the list." in field_error(page, "languages")


def test_only_tenant_admins_open_studies_and_sites(testapp, world):
    app = signed_in(testapp, world, "study_admin")
    assert "New study" not in app.get("/acme/").text
    assert "New site" not in app.get("/acme/demo/sites/").text
    token = csrf_token(app)
    app.post("/acme/@@new-study", {"csrf_token": token, "code": "x"}, status=403)
    app.post("/acme/demo/sites/@@new", {"csrf_token": token, "code": "x"}, status=403)


def test_a_study_admin_changes_the_settings_audited_field_by_field(testapp, world, dbsession):
    app = signed_in(testapp, world, "study_admin")
    form = app.get("/acme/demo/").click("Settings").forms["settings-form"]
    assert form["title"].value == "Demo study"
    form["title"] = "Demo study, second edition"
    form["timezone"] = "America/Montreal"
    choose(form, "languages", {"en", "de"})
    assert form.submit().status_int == 303
    study = world.study
    dbsession.refresh(study)
    assert (study.title, study.timezone, study.languages) == (
        "Demo study, second edition",
        "America/Montreal",
        ["en", "de"],
    )
    changed = {e.field: e for e in events(dbsession, "study.settings_changed")}
    assert set(changed) == {"title", "timezone", "languages"}
    assert changed["timezone"].old_value == "UTC"
    assert changed["timezone"].actor_id == world.users["study_admin"].id

    form = app.get("/acme/demo/@@settings").forms["settings-form"]
    form["timezone"].force_value("Nowhere/Land")
    page = form.submit(status=422)
    assert "Choose a time zone from the list" in field_error(page, "timezone")
    dbsession.refresh(study)
    assert study.timezone == "America/Montreal"


def test_a_tenant_admin_adds_a_site_with_its_country_and_zone(testapp, world, dbsession):
    app = signed_in(testapp, world, "tenant_admin")
    sites = app.get("/acme/demo/sites/")
    form = sites.click("New site").forms["site-form"]
    form["code"] = "waw01"
    form["name"] = "Warsaw Medical University"
    form["country"] = "PL"
    form["timezone"] = "Europe/Warsaw"
    form["target"] = "15"
    answer = form.submit()
    assert answer.location == "http://localhost/acme/demo/sites/"
    site = dbsession.scalar(select(Site).where(Site.code == "waw01"))
    assert (site.country, site.timezone, site.target_enrolment) == ("PL", "Europe/Warsaw", 15)
    created = events(dbsession, "site.created")[-1]
    assert created.site_id == site.id and created.actor_id == world.users["tenant_admin"].id
    row = answer.follow().html.find("a", string="waw01").find_parent("tr")
    assert "Poland" in row.text and "Europe/Warsaw" in row.text


def test_a_bad_site_is_refused_beside_its_fields(testapp, world, dbsession):
    app = signed_in(testapp, world, "tenant_admin")
    token = csrf_token(app)
    page = app.post(
        "/acme/demo/sites/@@new",
        {
            "csrf_token": token,
            "code": "par01",
            "name": "Paris again",
            "country": "XX",
            "timezone": "Europe/Atlantis",
            "target": "0",
        },
        status=422,
    )
    assert "already used in this study" in field_error(page, "code")
    assert "Choose a country from the list." in field_error(page, "country")
    assert "Choose a time zone from the list" in field_error(page, "timezone")
    assert "at least 1" in field_error(page, "target")
    assert page.html.select_one("#field-name")["value"] == "Paris again"
    assert dbsession.scalar(select(func.count(Site.id)).where(Site.name == "Paris again")) == 0


def test_a_study_admin_edits_a_site_and_the_change_is_audited(testapp, world, dbsession):
    app = signed_in(testapp, world, "study_admin")
    sites = app.get("/acme/demo/sites/")
    form = sites.click(description="Edit", href="par01").forms["site-form"]
    assert "code" not in form.fields
    form["name"] = "Paris Saint-Louis"
    form["country"] = "FR"
    form["target"] = "20"
    assert form.submit().status_int == 303
    site = world.sites["par01"]
    dbsession.refresh(site)
    assert (site.name, site.country, site.timezone, site.target_enrolment) == (
        "Paris Saint-Louis",
        "FR",
        None,
        20,
    )
    changed = {e.field: e for e in events(dbsession, "site.changed")}
    assert set(changed) == {"name", "country", "target_enrolment"}
    assert changed["name"].old_value == "Paris"

    page = app.post(
        "/acme/demo/sites/par01/@@edit",
        {"csrf_token": csrf_token(app), "name": " ", "country": "fr", "timezone": ""},
        status=422,
    )
    assert "required" in field_error(page, "name")
    site_page = app.get("/acme/demo/sites/par01/")
    assert "France" in site_page.text and "UTC" in site_page.text
    assert site_page.html.select_one("#edit-site")["href"] == "/acme/demo/sites/par01/@@edit"


def test_site_staff_cannot_edit_sites(testapp, world):
    app = signed_in(testapp, world, "coordinator")
    assert "Edit" not in app.get("/acme/demo/sites/").text
    assert app.get("/acme/demo/sites/par01/").html.select_one("#edit-site") is None
    app.get("/acme/demo/sites/par01/@@edit", status=403)
