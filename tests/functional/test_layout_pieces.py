"""The layout's header and session dialog are kept per process (``templating.KeptPieces``):
whatever a user or an administrator changes shows on the very next page."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import webtest
from jinja2 import DictLoader, Environment, StrictUndefined, UndefinedError
from jinja2.utils import htmlsafe_json_dumps
from pyramid_jinja2 import IJinja2Environment

from datacapt.accounts.services import grant_study_role, set_preferences
from datacapt.htmx import HTMX_CONFIG
from datacapt.models import Study
from datacapt.permissions import StudyRole
from datacapt.templating import KeptPieces
from tests.factories import build_world, login


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def signed_in(testapp, world, role):
    assert login(testapp, world.users[role].email).status_int == 303
    return testapp


def header(app, path="/acme/demo/"):
    return app.get(path).html.select_one("header.site-header")


def studies_listed(app):
    return [a["href"] for a in header(app).select("details.switcher a")]


def test_a_role_granted_then_revoked_shows_in_the_switcher_at_once(testapp, world, dbsession):
    app = signed_in(testapp, world, "coordinator")
    before = studies_listed(app)
    assert before == ["http://localhost/acme/", "http://localhost/acme/demo/"]
    other = dbsession.query(Study).filter_by(code="other").one()
    assignment = grant_study_role(dbsession, world.users["coordinator"], other, StudyRole.MONITOR)
    assert studies_listed(app) == [
        "http://localhost/acme/",
        "http://localhost/acme/demo/",
        "http://localhost/globex/",
        "http://localhost/globex/other/",
    ]
    dbsession.delete(assignment)
    dbsession.flush()
    assert studies_listed(app) == before


def test_a_renamed_study_tenant_or_user_shows_in_the_header_at_once(testapp, world, dbsession):
    app = signed_in(testapp, world, "coordinator")
    assert "Demo study" in header(app).select_one("details.switcher").text
    world.study.title = "Renamed study"
    world.tenant.name = "Acme Renamed"
    world.users["coordinator"].name = "Ada Lovelace"
    dbsession.flush()
    shown = header(app)
    switcher = shown.select_one("details.switcher").text
    assert "Renamed study" in switcher and "Acme Renamed" in switcher
    assert "Demo study" not in switcher
    assert shown.select_one("details.user-menu summary").text == "Ada Lovelace"


def test_language_and_time_zone_changed_show_at_once(testapp, world, dbsession):
    app = signed_in(testapp, world, "monitor")
    page = app.get("/acme/demo/")
    assert page.html.select_one("details.language-menu summary").text == "Language: English"
    page.forms[0].submit("language", value="fr")
    french = app.get("/acme/demo/")
    assert french.html.select_one("details.language-menu summary").text == "Langue: Français"
    assert "Préférences" in french.html.select_one("details.user-menu").text
    assert french.html.select_one("#session-dialog h2").text != "Your session is about to end"
    set_preferences(world.users["monitor"], "en", "Europe/Paris")
    dbsession.flush()
    english = app.get("/acme/demo/")
    assert english.html.select_one("details.language-menu summary").text == "Language: English"
    assert "Europe/Paris" in english.html.select_one("footer").text


def test_each_session_and_page_gets_its_own_token_and_return_path(testapp, app, world):
    first = signed_in(testapp, world, "coordinator")
    second = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(second, world.users["coordinator"].email).status_int == 303
    tokens = []
    for client, path in ((first, "/acme/demo/?a=1&b=<2>"), (second, "/acme/")):
        page = client.get(path)
        token = json.loads(page.html.body["hx-headers"])["X-CSRF-Token"]
        shown = page.html.select_one("header.site-header")
        assert {field["value"] for field in shown.select("input[name=csrf_token]")} == {token}
        assert shown.select_one("input[name=came_from]")["value"] == page.request.path_qs
        tokens.append(token)
    assert tokens[0] != tokens[1]


def _pieces(size=4):
    environment = Environment(
        loader=DictLoader(
            {
                "name.html": "{{ name }} [{{ language }}] <{{ hole('came_from') }}>",
                "leaky.html": "{{ request.path_qs }}",
            }
        ),
        undefined=StrictUndefined,
        autoescape=True,
        auto_reload=False,
    )
    inputs = {"name.html": lambda request: {"name": request.name}, "leaky.html": lambda request: {}}
    return KeptPieces(environment, inputs, size=size)


def _request(name, path="/a?b=1&c=<d>"):
    return {"request": SimpleNamespace(name=name, locale_name="en", path_qs=path)}


def test_a_kept_piece_is_keyed_by_its_inputs_and_fills_its_holes_escaped():
    pieces = _pieces()
    assert pieces.render(_request("Ada"), "name.html") == "Ada [en] </a?b=1&amp;c=&lt;d&gt;>"
    assert pieces.render(_request("Bob & co", "/x"), "name.html") == "Bob &amp; co [en] </x>"
    assert len(pieces.kept) == 2


def test_kept_pieces_are_bounded():
    pieces = _pieces(size=2)
    for name in ("a", "b", "c"):
        pieces.render(_request(name), "name.html")
    assert len(pieces.kept) <= 2
    assert pieces.render(_request("a"), "name.html").startswith("a [en]")


def test_a_piece_cannot_read_what_its_key_does_not_hold():
    with pytest.raises(UndefinedError):
        _pieces().render(_request("Ada"), "leaky.html")


def test_static_files_and_header_links_follow_the_script_name(testapp, world):
    for script_name, prefix in (("/edc", "/edc/"), ("", "/"), ("/edc", "/edc/")):
        page = testapp.get("/login", extra_environ={"SCRIPT_NAME": script_name})
        assert page.html.find("link", rel="stylesheet")["href"].startswith(f"{prefix}static/")
        brand = page.html.select_one("header.site-header a.brand")["href"]
        assert brand == f"http://localhost{prefix}"


def test_the_htmx_config_is_the_json_of_the_constant(testapp, world):
    """Made JSON once at start: the same as ``|tojson`` of it on every page."""
    page = signed_in(testapp, world, "coordinator").get("/acme/demo/")
    meta = page.html.find("meta", attrs={"name": "htmx-config"})
    assert json.loads(meta["content"]) == HTMX_CONFIG
    assert f"content='{htmlsafe_json_dumps(HTMX_CONFIG, sort_keys=True)}'" in page.text


def test_the_body_messages_and_footer_follow_the_language_and_time_zone(testapp, world, dbsession):
    app = signed_in(testapp, world, "monitor")
    user = world.users["monitor"]
    shown = []
    for language, zone in [("en", "Europe/Paris"), ("fr", "Europe/Paris"), ("fr", "Asia/Tokyo")]:
        set_preferences(user, language, zone)
        dbsession.flush()
        page = app.get("/acme/demo/")
        shown.append(
            (
                page.html.body["data-message-forbidden"],
                page.html.select_one("a.skip-link").text,
                page.html.select_one("footer").text.strip(),
            )
        )
    assert shown[0] == (
        "You are not allowed to do that.",
        "Skip to content",
        "Datacapt · Times are shown in Europe/Paris.",
    )
    assert shown[1][0] != shown[0][0] and shown[1][1] != shown[0][1]
    assert "Europe/Paris" in shown[1][2] and shown[1][2] != shown[0][2]
    assert shown[2][:2] == shown[1][:2] and "Asia/Tokyo" in shown[2][2]


def test_a_views_template_is_found_without_looking_for_it_again(testapp, registry, monkeypatch):
    """Rendered once, a view's template comes from Jinja's cache: the loader is not asked (as
    pyramid_jinja2's own factory did on every render, for the name relative to the view's
    package, before the name in the search path)."""
    environment = registry.getUtility(IJinja2Environment, name=".jinja2")
    assert testapp.get("/login").status_int == 200
    asked: list[str] = []
    source = environment.loader.get_source
    monkeypatch.setattr(
        environment.loader, "get_source", lambda env, name: asked.append(name) or source(env, name)
    )
    assert testapp.get("/login").status_int == 200
    assert asked == []
