"""The views sites and monitors use all day, at the cost the benchmarks measured (bench/):
a save reads the same whatever it changes and writes little per value, evaluating while typing
costs a fixed number of queries, and the dashboard's rendering shortcuts give the same page."""

from __future__ import annotations

import pytest
import webtest

from tests.factories import build_world, login

SUBJECT = "/acme/demo/subjects/par01-0001/"
DEMOGRAPHICS = SUBJECT + "screening/demographics/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


@pytest.fixture
def coordinator(testapp, world):
    assert login(testapp, world.users["coordinator"].email).status_int == 303
    return testapp


def save(app, query_counter, **values):
    """Save the demographics form as the page shows it, with ``values`` typed in; the SQL
    statements of the save alone."""
    form = app.get(DEMOGRAPHICS).forms["entry-form"]
    for name, value in values.items():
        form[name] = value
    query_counter.clear()
    assert form.submit().status_int == 303
    return list(query_counter)


def reads(statements):
    """The statements that read data (not the database clock)."""
    return [
        s
        for s in statements
        if s.lstrip().startswith("SELECT") and "strftime" not in s and "clock_timestamp" not in s
    ]


def test_a_save_reads_the_same_whatever_it_changes_and_writes_in_batches(
    coordinator, dbsession, query_counter
):
    save(coordinator, query_counter, initials="AB", birth_date="01/02/1980", sex="1")
    one = save(coordinator, query_counter, initials="CD")
    three = save(coordinator, query_counter, initials="EF", birth_date="02/02/1980", sex="2")
    assert len(reads(three)) == len(reads(one)), "\n".join(three)
    # events and changed rows are written in batches, on every database
    assert len(three) == len(one), "\n".join(three)
    # the session with its identity 1, the path 1 (which reads the visit and form instances the
    # save then uses), the stored values 1 (open warnings only when the status row counts some,
    # the subject's other values only those an expression of the form reads: none here), the
    # subject's chain: its lock (PostgreSQL only), the status row 1 (conditional on the lock
    # the page showed: a stale save's check, returning the chain's last link with the clock
    # read under the lock taken before it), the insert returning the events 1, the values'
    # update 1; no consent to read: eConsent's guard reads
    # the subject's hold, which the path loaded, and on PostgreSQL once more under the chain
    # lock (a withdrawal may have committed since the path read it); no signatures to break:
    # the subject holds none, as the status row's update says (review)
    under_lock = 2 if dbsession.get_bind().dialect.name == "postgresql" else 0
    assert len(one) <= 6 + under_lock, "\n".join(one)
    assert not any("FROM signature" in s or "FROM consent" in s for s in one), "\n".join(one)
    writes = [s.lstrip() for s in one if s.lstrip().startswith(("UPDATE", "INSERT"))]
    assert writes[0].startswith("UPDATE form_instance SET"), writes  # the check, before writing
    clock = [s for s in three if "clock_timestamp" in s or "strftime" in s]
    assert len(clock) == 1  # the save's events share one reading of the database clock
    assert clock[0].lstrip().startswith("UPDATE form_instance SET"), clock  # the claim's


def test_evaluating_while_typing_costs_a_fixed_number_of_queries(coordinator, query_counter):
    save(coordinator, query_counter, height_cm="180", weight_kg="72.5")
    token = coordinator.get(DEMOGRAPHICS).forms["entry-form"]["csrf_token"].value
    query_counter.clear()
    coordinator.post(
        DEMOGRAPHICS + "@@evaluate",
        {"height_cm": "181", "weight_kg": "80", "sex": "2", "csrf_token": token},
        headers=HTMX,
    )
    # the session with its identity, the path, the subject's values
    assert len(query_counter) <= 3, "\n".join(query_counter)


def test_the_dashboard_links_each_cell_to_its_form_with_its_status(coordinator):
    save(coordinator, query_counter=[], height_cm="180")
    page = coordinator.get("/acme/demo/subjects/@@dashboard")
    row = page.html.select_one("tbody tr")
    links = [(a["href"], " ".join(a.text.split())) for a in row.select("td a")]
    assert links[:3] == [
        (SUBJECT + "screening/consent/", "○ Not started"),
        (SUBJECT + "screening/demographics/", "◐ In progress"),
        (SUBJECT + "screening/vital_signs/", "○ Not started"),
    ]
    assert row.th.a["href"] == SUBJECT
    for href, _text in links:
        coordinator.get(href)  # each one opens


# --- the cost of a page: the path in one query, the session and identity in another -----------

VITALS = SUBJECT + "screening/vital_signs/"


@pytest.mark.parametrize(
    ("path", "most"),
    [
        (DEMOGRAPHICS, 4),  # a form entered (its values and query counts; never signed)
        (VITALS, 2),  # a form not entered yet
        (SUBJECT, 6),  # the casebook
        ("/acme/demo/subjects/", 6),  # the subject list
        ("/acme/demo/subjects/@@dashboard", 4),  # its sites, and its page with cells and count
    ],
)
def test_a_hot_page_costs_six_statements_at_most_and_a_form_fewer(
    coordinator, query_counter, path, most
):
    save(coordinator, query_counter, height_cm="180", weight_kg="72.5")
    coordinator.get(path)
    query_counter.clear()
    coordinator.get(path)
    # the session, its user and roles 1, the path 1, and what the page shows
    assert len(query_counter) <= most, "\n".join(query_counter)
    assert len([s for s in query_counter if "FROM user_session" in s]) == 1
    assert len([s for s in query_counter if "WHERE tenant.slug" in s]) == 1


def test_the_path_loaded_at_once_still_finds_children_only_through_their_parents(
    coordinator, testapp, world
):
    # lyo01-0001 is a subject of globex/other: not found below acme/demo, whatever the path
    testapp.get("/acme/demo/subjects/lyo01-0001/", status=404)
    testapp.get("/acme/demo/subjects/lyo01-0001/screening/demographics/", status=404)
    testapp.get("/acme/other/subjects/lyo01-0001/", status=404)
    testapp.get("/globex/demo/subjects/par01-0001/", status=404)
    testapp.get(SUBJECT + "week4-2/demographics/", status=404)  # a repeat never added
    assert testapp.get(DEMOGRAPHICS).status_int == 200


# --- the compiled form ------------------------------------------------------------------------


def pages_compiled_and_not(app, monkeypatch, path, **post):
    """The page as served (compiled form) and as the template alone renders it."""
    from datacapt.entry import views

    def served():
        if post:
            form = app.get(path).forms["entry-form"]
            for name, value in post.items():
                form[name] = value
            return form.submit(status=422).text
        return app.get(path).text

    compiled = served()
    monkeypatch.setattr(views, "compiled_form", lambda *args: None)
    plain = served()
    monkeypatch.undo()
    return compiled, plain


def test_the_compiled_form_is_the_html_the_template_gives(
    app, coordinator, world, query_counter, monkeypatch
):
    save(coordinator, query_counter, initials="AB", height_cm="180", weight_kg="72.5", sex="2")
    coordinator.get(DEMOGRAPHICS)  # the flash message is shown once
    compiled, plain = pages_compiled_and_not(coordinator, monkeypatch, DEMOGRAPHICS)
    assert "ecrf-item" in compiled and compiled == plain
    # refused values: errors, aria-invalid, the values typed
    compiled, plain = pages_compiled_and_not(
        coordinator, monkeypatch, DEMOGRAPHICS, height_cm="tall", weight_kg="-3"
    )
    assert "has-error" in compiled and compiled == plain
    # a monitor: read only, SDV marks to tick, query badges to raise; the personal items masked
    # for a role that may not see them
    for role in ("monitor", "data_manager"):
        other = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
        login(other, world.users[role].email)
        compiled, plain = pages_compiled_and_not(other, monkeypatch, DEMOGRAPHICS)
        assert "ecrf-item" in compiled and compiled == plain


def test_a_value_holding_a_stand_in_is_filled_node_by_node(
    app, coordinator, world, query_counter, monkeypatch
):
    """The request's own texts (the history's address, the address in kept badges) are put in
    the folded form once, at the end; a value holding one of their stand-ins (no browser sends
    a NUL, PostgreSQL keeps none) has the form filled node by node: the same HTML."""
    from datacapt.ecrf.compiled_form import URL_STAND_IN, once_stand_in
    from datacapt.entry import services, views

    save(coordinator, query_counter, initials="AB", height_cm="180", weight_kg="72.5", sex="2")
    coordinator.get(DEMOGRAPHICS)  # the flash message is shown once
    monitor = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(monitor, world.users["monitor"].email)
    original = services.posted_from_stored
    odd = f"A{once_stand_in('history')}{URL_STAND_IN}B"

    def posted(form, rows):
        found = original(form, rows)
        found["height_cm"] = [odd]
        return found

    for client in (coordinator, monitor):
        pages_compiled_and_not(client, monkeypatch, DEMOGRAPHICS)  # the badges kept
        monkeypatch.setattr(services, "posted_from_stored", posted)
        compiled = client.get(DEMOGRAPHICS).text
        monkeypatch.setattr(views, "compiled_form", lambda *args: None)
        plain = client.get(DEMOGRAPHICS).text
        monkeypatch.undo()
        assert compiled == plain and f'value="{odd}"' in compiled


def test_the_pieces_kept_from_earlier_pages_follow_each_page_s_own_state(
    app, coordinator, dbsession, world, query_counter, monkeypatch
):
    from tests.factories import make_subject

    save(coordinator, query_counter, initials="AB", height_cm="180", weight_kg="72.5", sex="2")
    coordinator.get(DEMOGRAPHICS)  # the flash message is shown once
    monitor = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(monitor, world.users["monitor"].email)
    compiled, plain = pages_compiled_and_not(monitor, monkeypatch, DEMOGRAPHICS)
    assert compiled == plain  # the quiet pieces are now kept
    # a query raised on one item, another item verified: their badge and mark change
    panel = monitor.get(DEMOGRAPHICS + "@@queries?item=I.HEIGHT_CM").forms["raise-query"]
    panel["message"] = "Height looks wrong: please check the source."
    assert panel.submit().status_int in (200, 303)
    verify = monitor.get(DEMOGRAPHICS).forms["verify-form"]
    monitor.post(
        DEMOGRAPHICS + "@@verify", [("csrf_token", verify["csrf_token"].value), ("item", "I.SEX")]
    )
    monitor.get(DEMOGRAPHICS)  # the flash messages are shown once
    for client, marks in ((monitor, True), (coordinator, False)):  # SDV marks: monitoring's
        compiled, plain = pages_compiled_and_not(client, monkeypatch, DEMOGRAPHICS)
        assert "1 open query" in compiled and compiled == plain
        assert ('id="sdv-I.SEX"' in compiled) is marks
    # another subject's form: the badges kept carry this page's own address
    make_subject(dbsession, world.sites["par01"], "par01-0002")
    dbsession.flush()
    other = "/acme/demo/subjects/par01-0002/screening/demographics/"
    form = coordinator.get(other).forms["entry-form"]
    form["height_cm"] = "170"
    assert form.submit().status_int == 303
    compiled, plain = pages_compiled_and_not(monitor, monkeypatch, other)
    assert "par01-0002/screening/demographics/@@queries" in compiled and compiled == plain
    assert "par01-0001" not in compiled.split('id="entry"')[1].split("</form>")[0]


def test_the_missing_codes_kept_from_earlier_pages_follow_each_page_s_own_code(
    app, coordinator, world, query_counter, monkeypatch
):
    save(coordinator, query_counter, initials="AB", weight_kg="72.5", sex="2")
    coordinator.get(DEMOGRAPHICS)  # the flash message is shown once
    monitor = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    login(monitor, world.users["monitor"].email)
    for client in (coordinator, monitor):  # no code yet: the blank option, no text, kept
        compiled, plain = pages_compiled_and_not(client, monkeypatch, DEMOGRAPHICS)
        assert compiled == plain and "Missing-data code: NK" not in compiled
    save(coordinator, query_counter, **{"missing-height_cm": "NK"})
    coordinator.get(DEMOGRAPHICS)
    compiled, plain = pages_compiled_and_not(coordinator, monkeypatch, DEMOGRAPHICS)
    assert compiled == plain and compiled.count('value="NK" selected') == 1
    compiled, plain = pages_compiled_and_not(monitor, monkeypatch, DEMOGRAPHICS)
    assert compiled == plain and "Missing-data code: NK" in compiled


def test_the_dashboard_pages_forward_by_keyset_to_the_same_rows(coordinator, dbsession, world):
    from tests.factories import make_subject

    for number in range(2, 150):
        make_subject(dbsession, world.sites["par01"], f"par01-{number:04d}")
    dbsession.flush()
    first = coordinator.get("/acme/demo/subjects/@@dashboard")
    following = first.html.find("a", rel="next")["href"]
    assert "after=par01-0100" in following
    by_keyset = coordinator.get(following)
    by_offset = coordinator.get("/acme/demo/subjects/@@dashboard", {"page": "2"})

    def labels(page):
        return [th.a.text for th in page.html.select("tbody th")]

    assert labels(by_keyset) == labels(by_offset) == [f"par01-{n:04d}" for n in range(101, 150)]
    assert "Page 2 of 2" in by_keyset.text


def test_the_dashboard_keeps_its_header_and_key_per_version_and_language(
    coordinator, dbsession, world
):
    from datacapt.design import services
    from datacapt.ecrf import versions
    from tests.factories import SETUP, publish_definition

    def header_and_key(page):
        titles = [th["title"] for th in page.html.select("thead th.form-column")]
        return titles, page.html.select_one(".status-legend").text

    english = header_and_key(coordinator.get("/acme/demo/subjects/@@dashboard"))
    french = coordinator.get("/acme/demo/subjects/@@dashboard", headers={"Accept-Language": "fr"})
    assert header_and_key(french)[1] != english[1]  # the key in French
    assert header_and_key(coordinator.get("/acme/demo/subjects/@@dashboard")) == english
    draft = versions.draft(dbsession, world.study)
    definition = versions.definition_of(draft)
    definition.form("demographics").title = {"en": "About the subject"}
    publish_definition(dbsession, world.study, draft, definition, "Retitled")
    services.start_draft(dbsession, world.study, SETUP)
    dbsession.flush()
    titles, key = header_and_key(coordinator.get("/acme/demo/subjects/@@dashboard"))
    assert "About the subject" in titles and "About the subject" not in english[0]
    assert key == english[1]


def test_the_dashboard_pages_by_number_start_after_the_key_ending_the_page_before(
    coordinator, dbsession, world, query_counter
):
    from tests.factories import make_subject

    for number in range(2, 251):
        make_subject(dbsession, world.sites["par01"], f"par01-{number:04d}")
    dbsession.flush()

    def labels(query):
        page = coordinator.get("/acme/demo/subjects/@@dashboard", query)
        return [th.a.text for th in page.html.select("tbody th")]

    assert labels({"page": "2"}) == [f"par01-{n:04d}" for n in range(101, 201)]
    query_counter.clear()
    assert labels({"page": "3"}) == [f"par01-{n:04d}" for n in range(201, 251)]
    page_statement = next(s for s in query_counter if "LIMIT" in s and "overdue" in s)
    # the rows after the key ending page 2, which a subquery looks up (by offset, in the index)
    assert " ".join(page_statement.split()).count("subject.label > (SELECT subject.label FROM") == 1
    assert labels({"page": "4"}) == []
