"""The record status dashboard as a monitor scans it: one symbol per state (its word hidden for
screen readers, all of them in a key), the subject column apart from the scrolling forms, and
filters that live in the URL, at a constant number of statements."""

from __future__ import annotations

import pytest
import webtest

from tests.factories import add_queries, build_world, login, make_subject

DASHBOARD = "/acme/demo/subjects/@@dashboard"
DEMOGRAPHICS = "/acme/demo/subjects/par01-0001/screening/demographics/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def monitor(testapp, world):
    assert login(testapp, world.users["monitor"].email).status_int == 303
    return testapp


def enter(app, world, **values):
    """Save demographics as par01's coordinator (the monitor's session is kept aside)."""
    coordinator = webtest.TestApp(app.app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(coordinator, world.users["coordinator"].email)
    form = coordinator.get(DEMOGRAPHICS).forms["entry-form"]
    for name, value in values.items():
        form[name] = value
    assert form.submit().status_int == 303


def labels(page):
    return [th.a.text for th in page.html.select("tbody th.subject-column")]


def test_each_cell_is_a_symbol_with_its_word_for_screen_readers_and_the_key_says_them_all(
    monitor, world
):
    enter(monitor, world, height_cm="180")
    page = monitor.get(DASHBOARD)
    row = page.html.select("tbody tr")[1]
    assert row.th.a.text == "par01-0001"
    cell = row.select("td a")[1]  # screening / demographics
    assert cell["href"].endswith("/screening/demographics/")
    assert cell.select_one("[aria-hidden=true]").text == "◐"
    assert cell.select_one(".visually-hidden").text.strip() == "In progress"
    # every symbol of the key is its own, and says its word in plain text
    key = [" ".join(li.text.split()) for li in page.html.select(".status-legend li")]
    assert "◐ In progress" in key and "○ Not started" in key and "● Complete" in key
    assert "◇ Awaiting SDV" in key and "🔒 Locked" in key and "⚑ Open queries (their number)" in key
    symbols = [
        li.select_one("[aria-hidden=true]").text for li in page.html.select(".status-legend li")
    ]
    assert len(symbols) == len(set(symbols)), symbols


def test_cells_kept_from_earlier_pages_are_in_each_page_s_own_language(monitor, world):
    enter(monitor, world, height_cm="180")

    def cell_word(page):
        cell = page.html.select("tbody tr")[1].select("td a")[1]  # screening / demographics
        return cell.select_one(".visually-hidden").text.strip()

    english = monitor.get(DASHBOARD)
    assert cell_word(english) == "In progress"
    assert monitor.get(DASHBOARD).text == english.text  # the same page from the kept pieces
    english.forms[0].submit("language", value="fr")
    assert cell_word(monitor.get(DASHBOARD)) == "En cours"
    monitor.get(DASHBOARD).forms[0].submit("language", value="en")
    assert monitor.get(DASHBOARD).text == english.text


def test_the_subject_column_is_apart_from_the_forms_that_scroll(monitor):
    page = monitor.get(DASHBOARD)
    scroller = page.html.select_one(".dashboard-scroll")
    assert scroller["tabindex"] == "0" and scroller["role"] == "region"  # keyboard can scroll it
    assert scroller.select_one("thead th.subject-column").text.strip() == "Subject"
    assert labels(page) == ["ber01-0001", "par01-0001"]
    assert all(td.get("class") is None for td in scroller.select("tbody td"))


def test_the_filters_live_in_the_url_and_a_shared_link_gives_the_same_view(monitor, world):
    filtered = monitor.get(DASHBOARD, {"q": "0001", "site": "ber01"})
    assert labels(filtered) == ["ber01-0001"]
    assert filtered.html.find(id="field-q")["value"] == "0001"
    assert filtered.html.select_one("#field-site option[selected]")["value"] == "ber01"
    assert labels(monitor.get(DASHBOARD, {"q": "par"})) == ["par01-0001"]
    # htmx sends the filter form and pushes its URL; the answer is the same section
    section = monitor.get(DASHBOARD).html.find(id="dashboard")
    assert section["hx-push-url"] == "true" and section["hx-select"] == "#dashboard"
    form = section.find(id="dashboard-filters")
    assert form["method"] == "get" and form["hx-get"] == form["action"] == DASHBOARD
    fragment = monitor.get(DASHBOARD, {"q": "ber"}, headers=HTMX)
    assert "<html" not in fragment.text and labels(fragment) == ["ber01-0001"]


def test_the_next_page_keeps_the_filters(monitor, dbsession, world):
    for number in range(2, 105):
        make_subject(dbsession, world.sites["par01"], f"par01-{number:04d}")
    dbsession.flush()
    page = monitor.get(DASHBOARD, {"q": "par01", "site": "par01"})
    assert len(labels(page)) == 100
    following = page.click(linkid=None, href="page=2")
    assert "q=par01" in following.request.url and "site=par01" in following.request.url
    assert labels(following) == [f"par01-{number:04d}" for number in range(101, 105)]


def test_filters_cost_no_statement_more_than_the_plain_page(
    monitor, dbsession, world, query_counter
):
    add_queries(dbsession, world)
    monitor.get(DASHBOARD)
    query_counter.clear()
    monitor.get(DASHBOARD)
    plain = len(query_counter)
    query_counter.clear()
    page = monitor.get(
        DASHBOARD, {"q": "01", "site": "par01", "status": "screening", "queries": "1"}
    )
    assert labels(page) == ["par01-0001"]
    assert len(query_counter) == plain, "\n".join(query_counter)


def test_a_page_statement_kept_per_shape_of_filters_takes_each_request_s_values(monitor, world):
    """The page's statement is built once per shape of filters: the same shape with another
    site, search, status or page number gives that request's rows."""
    assert labels(monitor.get(DASHBOARD, {"site": "par01"})) == ["par01-0001"]
    assert labels(monitor.get(DASHBOARD, {"site": "ber01"})) == ["ber01-0001"]
    assert labels(monitor.get(DASHBOARD, {"q": "par"})) == ["par01-0001"]
    assert labels(monitor.get(DASHBOARD, {"q": "ber"})) == ["ber01-0001"]
    assert labels(monitor.get(DASHBOARD, {"status": "screening"})) == ["ber01-0001", "par01-0001"]
    assert labels(monitor.get(DASHBOARD, {"status": "included"})) == []
    assert labels(monitor.get(DASHBOARD, {"site": "par01", "q": "ber"})) == []


def test_a_page_past_the_last_still_says_how_many_subjects_there_are(monitor):
    def count(query):
        page = monitor.get(DASHBOARD, query)
        return labels(page), page.html.find(id="dashboard-count").text

    assert count({}) == (["ber01-0001", "par01-0001"], "2 subjects")
    assert count({"page": "3"}) == ([], "2 subjects")
    assert count({"page": "2", "after": "par01-0001"}) == ([], "2 subjects")
    assert count({"q": "nobody"}) == ([], "0 subjects")


def test_the_kept_pagination_follows_the_pages_the_filters_and_the_language(
    monitor, dbsession, world
):
    for number in range(2, 101):
        make_subject(dbsession, world.sites["par01"], f"par01-{number:04d}")
    dbsession.flush()

    def pagination(query=None, **headers):
        nav = monitor.get(DASHBOARD, query, headers=headers).html.select_one("nav.pagination")
        return " ".join(nav.text.split()), nav.find("a", rel="next")["href"]

    first = ("Page 1 of 2 Next", f"{DASHBOARD}?page=2&after=par01-0099")
    assert pagination() == first
    assert pagination() == first  # kept
    for number in range(101, 201):
        make_subject(dbsession, world.sites["par01"], f"par01-{number:04d}")
    dbsession.flush()
    assert pagination() == ("Page 1 of 3 Next", f"{DASHBOARD}?page=2&after=par01-0099")
    assert pagination({"page": "2"}) == (
        "Previous Page 2 of 3 Next",
        f"{DASHBOARD}?page=3&after=par01-0199",
    )
    assert pagination({"site": "par01"}) == (
        "Page 1 of 2 Next",
        f"{DASHBOARD}?site=par01&page=2&after=par01-0100",
    )
    assert pagination(**{"Accept-Language": "fr"}) == (
        "Page 1 sur 3 Suivante",
        f"{DASHBOARD}?page=2&after=par01-0099",
    )


def test_the_filter_form_s_words_kept_per_language_are_each_page_s_own(monitor):
    def words(**headers):
        form = monitor.get(DASHBOARD, headers=headers).html.find(id="dashboard-filters")
        return form.find("label", attrs={"for": "field-status"}).text, [
            option.text for option in form.select("#field-status option")
        ]

    english = words()
    assert english == (
        "Subject status",
        ["All statuses", "Screening", "Included", "Screen failure", "Completed", "Withdrawn"],
    )
    assert words(**{"Accept-Language": "fr"})[0] == "Statut du participant"
    assert words() == english
