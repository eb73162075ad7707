"""The pages of the tree as the roles see them, and the conventions every response keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from datacapt.studies.services import create_site, create_study
from tests.factories import build_world, csrf_token, login, make_subject


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def signed_in(testapp, world, role):
    assert login(testapp, world.users[role].email).status_int == 303
    return testapp


def test_home_lists_the_studies_of_each_tenant(testapp, world):
    page = signed_in(testapp, world, "coordinator").get("/")
    assert page.html.find("a", href="http://localhost/acme/demo/") is not None
    assert "Globex" not in page.text


def test_tenant_home_shows_only_studies_with_a_role_except_to_its_admin(testapp, world, dbsession):
    create_study(dbsession, world.tenant, "secret", "A study without the coordinator")
    dbsession.flush()
    assert "secret" not in signed_in(testapp, world, "coordinator").get("/acme/").text
    testapp.reset()
    assert "secret" in signed_in(testapp, world, "tenant_admin").get("/acme/").text


def test_study_home_counts_only_the_sites_one_may_see(testapp, world):
    page = signed_in(testapp, world, "coordinator").get("/acme/demo/")
    rows = page.html.select("table.data tbody tr")
    assert [row.find("a").text for row in rows] == ["par01"]
    figures = [dd.text for dd in page.html.select("dl.figures dd")]
    assert figures == ["1", "1"]
    assert "Study coordinator" in page.text

    testapp.reset()
    page = signed_in(testapp, world, "monitor").get("/acme/demo/")
    assert [row.find("a").text for row in page.html.select("table.data tbody tr")] == [
        "ber01",
        "par01",
    ]


def test_subject_list_is_filtered_by_site_and_paginated(testapp, world, dbsession):
    for number in range(2, 61):
        make_subject(dbsession, world.sites["par01"], f"par01-{number:04d}")
    dbsession.flush()
    app = signed_in(testapp, world, "coordinator")
    first = app.get("/acme/demo/subjects/")
    assert "60 subjects" in first.text
    labels = [a.text for a in first.html.select("table.data tbody a.code")]
    assert len(labels) == 50 and all(label.startswith("par01-") for label in labels)
    second = app.get("/acme/demo/subjects/?page=2")
    assert len(second.html.select("table.data tbody tr")) == 10
    assert app.get("/acme/demo/subjects/?page=oops").status_int == 200


def test_subject_page_shows_its_site_and_times_in_the_user_zone(testapp, world, dbsession):
    subject = world.subjects["par01-0001"]
    subject.created_at = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
    dbsession.flush()
    app = signed_in(testapp, world, "coordinator")
    page = app.get("/acme/demo/subjects/par01-0001/")
    assert "16 Jan 2026 00:30" in page.text  # Europe/Paris, UTC+1 in winter

    form = app.get("/preferences").forms["preferences-form"]
    form["timezone"] = "America/New_York"
    form.submit()
    assert "15 Jan 2026 18:30" in app.get("/acme/demo/subjects/par01-0001/").text


def test_breadcrumbs_follow_the_lineage(testapp, world):
    page = signed_in(testapp, world, "coordinator").get("/acme/demo/subjects/par01-0001/")
    crumbs = page.html.select("nav.breadcrumbs li a")
    assert [a.text for a in crumbs] == ["Home", "Acme Research", "demo", "Subjects", "par01-0001"]
    assert crumbs[-1]["aria-current"] == "page"
    assert [a["href"] for a in crumbs] == [
        "/",
        "/acme/",
        "/acme/demo/",
        "/acme/demo/subjects/",
        "/acme/demo/subjects/par01-0001/",
    ]


def test_switcher_lists_the_users_tenants_and_studies(testapp, world):
    page = signed_in(testapp, world, "auditor").get("/")
    switcher = page.html.select_one("details.switcher")
    assert switcher.find("a", href="http://localhost/acme/demo/") is not None


def test_htmx_requests_get_a_fragment_and_responses_vary_on_it(testapp, world):
    app = signed_in(testapp, world, "monitor")
    full = app.get("/acme/demo/sites/")
    assert "<html" in full.text and "HX-Request" in full.headers["Vary"]
    fragment = app.get("/acme/demo/sites/", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "par01" in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]
    boosted = app.get("/acme/demo/sites/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text


def test_security_headers_on_every_page(testapp, world):
    for response in (testapp.get("/login"), signed_in(testapp, world, "monitor").get("/acme/")):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe" not in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        cookie = response.headers.get("Set-Cookie", "")
        if cookie:
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_carry_no_inline_script_or_style(testapp, world):
    page = signed_in(testapp, world, "monitor").get("/acme/demo/")
    assert all(script.get("src") for script in page.html.find_all("script"))
    assert not page.html.find_all(style=True)
    assert not page.html.find_all("style")
    body = page.html.body
    assert body["hx-headers"] == f'{{"X-CSRF-Token": "{csrf_token(testapp)}"}}'


def test_static_files_are_served_and_cached(testapp):
    response = testapp.get("/static/vendor/htmx-2.0.11.min.js")
    assert 'version:"2.0.11"' in response.text
    assert "max-age=3600" in response.headers["Cache-Control"]


def test_language_menu_switches_to_french_and_remembers_it(testapp, world):
    app = signed_in(testapp, world, "coordinator")
    page = app.get("/acme/demo/")
    response = page.forms[0].submit("language", value="fr")
    assert response.status_int == 303 and response.location == "http://localhost/acme/demo/"
    french = response.follow()
    assert french.html.html["lang"] == "fr"
    assert "Vos rôles" in french.text and "Coordinateur d’étude" in french.text
    # Remembered for the user, beyond this browser's cookie.
    testapp.reset()
    assert "Vos études" in signed_in(testapp, world, "coordinator").get("/").text


def test_anonymous_visitors_can_choose_a_language(testapp):
    page = testapp.get("/login")
    page.forms[0].submit("language", value="de")
    assert "Anmelden" in testapp.get("/login").text


def test_browser_language_is_used_first(testapp):
    page = testapp.get("/login", headers={"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"})
    assert "Zaloguj się" in page.text


def test_unknown_language_is_refused(testapp):
    response = testapp.post(
        "/language", {"language": "xx", "csrf_token": csrf_token(testapp)}, status=422
    )
    assert "Choose one of the offered languages." in response.text


def test_preferences_refuse_an_unknown_time_zone_next_to_the_field(testapp, world):
    form = signed_in(testapp, world, "monitor").get("/preferences").forms["preferences-form"]
    form["timezone"].force_value("Mars/Olympus_Mons")
    response = form.submit(status=422)
    assert response.html.find(id="field-timezone")["aria-invalid"] == "true"
    assert "Choose a time zone from the list." in response.html.find(id="field-timezone-error").text


def test_preferences_and_the_language_switch_are_kept_for_the_signed_in_user(
    testapp, world, dbsession
):
    """The identity reads the user as plain values: what these pages change is written to the
    account itself, and the next request (in a browser without the language cookie) sees it."""
    form = signed_in(testapp, world, "monitor").get("/preferences").forms["preferences-form"]
    form["language"], form["timezone"] = "de", "Europe/Warsaw"
    assert form.submit().status_int == 303
    user = world.users["monitor"]
    dbsession.refresh(user)
    assert (user.locale, user.timezone) == ("de", "Europe/Warsaw")
    testapp.post("/language", {"language": "pl", "csrf_token": csrf_token(testapp)}, status=303)
    dbsession.refresh(user)
    assert user.locale == "pl"
    testapp.set_cookie("datacapt_language", "fr")  # the account comes first
    assert 'lang="pl"' in testapp.get("/preferences").text


def test_post_to_a_page_is_not_a_read(testapp, world):
    app = signed_in(testapp, world, "monitor")
    app.post("/acme/demo/", {"csrf_token": csrf_token(app)}, status=404)


def test_study_home_query_count_does_not_grow_with_sites(testapp, world, dbsession, query_counter):
    app = signed_in(testapp, world, "monitor")
    query_counter.clear()
    app.get("/acme/demo/")
    baseline = len(query_counter)
    # identity (3), traversal (2), the sites with their counts (1), the administrators holding
    # a data role (1; their grants' events only when there are some)
    assert baseline <= 7
    query_counter.clear()
    for number in range(20):
        site = create_site(dbsession, world.study, f"s{number:02d}", f"Site {number}")
        make_subject(dbsession, site, f"s{number:02d}-0001")
    dbsession.flush()
    query_counter.clear()
    app.get("/acme/demo/")
    assert len(query_counter) == baseline


def test_anonymous_htmx_request_is_told_to_sign_in_not_redirected(testapp, world):
    """A part of a page gets 401 (the page signs in again in place), never the sign-in page."""
    response = testapp.get(
        "/acme/demo/sites/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/acme/demo/?page=2"},
        status=401,
    )
    assert "HX-Redirect" not in response.headers
    assert response.headers["Datacapt-Sign-In"] == (
        "http://localhost/login?came_from=%2Facme%2Fdemo%2F%3Fpage%3D2"
    )


def test_anonymous_boosted_navigation_goes_to_sign_in(testapp, world):
    response = testapp.get(
        "/acme/demo/sites/",
        headers={
            "HX-Request": "true",
            "HX-Boosted": "true",
            "HX-Current-URL": "http://localhost/acme/demo/",
        },
        status=204,
    )
    assert response.headers["HX-Redirect"] == "http://localhost/login?came_from=%2Facme%2Fdemo%2F"


def test_forbidden_page_explains_and_offers_a_way_back(testapp, world):
    page = signed_in(testapp, world, "tenant_admin").get("/acme/demo/subjects/", status=403)
    assert "Your role does not allow this." in page.text
    assert page.html.find("a", href="http://localhost/") is not None
