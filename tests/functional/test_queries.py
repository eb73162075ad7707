"""Queries as monitors, data managers and site staff use them: raising on a field, answering
(with or without correcting the value), closing, re-opening, automatic queries from warning
checks, the list (filters, site isolation, bulk close, CSV), metrics, counts and the audit."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import webtest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from datacapt import audit
from datacapt.accounts.services import grant_study_role
from datacapt.actor import Actor
from datacapt.models import (
    AuditEvent,
    FormInstance,
    ItemValue,
    LockState,
    Query,
    QueryMessage,
    QueryState,
    Subject,
)
from datacapt.permissions import StudyRole
from datacapt.queries import services
from datacapt.queries.listing import safe_cell
from datacapt.queries.services import MAX_MESSAGE
from tests.factories import add_queries, build_world, login, make_user

SUBJECT = "/acme/demo/subjects/par01-0001/"
DEMOGRAPHICS = SUBJECT + "screening/demographics/"
HEIGHT = DEMOGRAPHICS + "@@queries?item=I.HEIGHT_CM"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(dbsession, registry):
    return build_world(dbsession, registry)


def as_user(app, world, role) -> webtest.TestApp:
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, world.users[role].email).status_int == 303
    return client


def save_demographics(client, subject=SUBJECT, **values):
    form = client.get(subject + "screening/demographics/").forms["entry-form"]
    defaults = {"sex": "1", "height_cm": "175", "weight_kg": "70.0"}
    for name, value in {**defaults, **values}.items():
        form[name] = value
    return form.submit()


def instance_of(dbsession, label="par01-0001"):
    dbsession.expire_all()
    return dbsession.scalar(
        select(FormInstance)
        .join(Subject, Subject.id == FormInstance.subject_id)
        .where(Subject.label == label, FormInstance.form == "demographics")
    )


def queries_of(dbsession, instance):
    dbsession.expire_all()
    return dbsession.scalars(
        select(Query).where(Query.form_instance_id == instance.id).order_by(Query.number)
    ).all()


def raise_on_height(client, message="Height looks wrong: please check the source.", **kw):
    form = client.get(HEIGHT).forms["raise-query"]
    form["message"] = message
    return form.submit(**kw)


def audited(dbsession, action):
    return dbsession.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


@pytest.fixture
def coordinator(app, world):
    return as_user(app, world, "coordinator")


@pytest.fixture
def monitor(app, world):
    return as_user(app, world, "monitor")


def test_the_query_loop_monitor_raises_site_corrects_monitor_closes(
    coordinator, monitor, dbsession
):
    save_demographics(coordinator)
    raise_on_height(monitor)
    instance = instance_of(dbsession)
    [query] = queries_of(dbsession, instance)
    assert (query.state, query.item_oid, instance.open_queries) == (
        QueryState.OPEN,
        "I.HEIGHT_CM",
        1,
    )
    page = coordinator.get(DEMOGRAPHICS)
    assert "1 open query" in page.text
    answer = coordinator.get(HEIGHT).forms[f"q{query.number}-answer"]
    answer["message"] = "Transcription error: source says 165."
    answer["value"] = "165"
    answer.submit().follow()
    instance = instance_of(dbsession)
    [query] = queries_of(dbsession, instance)
    assert query.state is QueryState.ANSWERED and query.answered_at is not None
    [change] = [e for e in audited(dbsession, "entry.value_changed") if e.old_value == "175"]
    assert (change.new_value, change.reason) == ("165", "Transcription error: source says 165.")
    # answered, not closed yet: the form's header no longer calls it open
    assert (instance.open_queries, instance.answered_queries) == (1, 1)  # not closed, answered
    header = coordinator.get(DEMOGRAPHICS).html.find(id="form-query-count")
    assert " ".join(header.text.split()) == "✉ 1 answered query"
    assert "1 answered query" in coordinator.get(SUBJECT).text  # the casebook too
    assert "open quer" not in coordinator.get("/acme/demo/subjects/").text  # and the list
    close = monitor.get(HEIGHT).forms[f"q{query.number}-close"]
    close["message"] = "Confirmed against the source."
    close.submit()
    instance = instance_of(dbsession)
    [query] = queries_of(dbsession, instance)
    assert query.state is QueryState.CLOSED
    assert (instance.open_queries, instance.answered_queries) == (0, 0)
    assert coordinator.get(DEMOGRAPHICS).html.find(id="form-query-count").text.strip() == ""
    steps = (
        [e.action for e in audited(dbsession, "query.raised")]
        + [e.action for e in audited(dbsession, "query.answered")]
        + [e.action for e in audited(dbsession, "query.closed")]
    )
    assert steps == ["query.raised", "query.answered", "query.closed"]
    history = monitor.get(DEMOGRAPHICS + "@@history?item=I.HEIGHT_CM").text
    for snippet in ("Transcription error", "Confirmed against the source.", "Query: Answered"):
        assert snippet in history
    assert all(r.intact for r in audit.verify_all(dbsession, query.tenant_id))


def test_htmx_steps_return_the_panel_and_the_badge_out_of_band(coordinator, monitor, dbsession):
    save_demographics(coordinator)
    token = monitor.get(HEIGHT).forms["raise-query"]["csrf_token"].value
    response = monitor.post(
        DEMOGRAPHICS + "@@raise-query",
        {"item": "I.HEIGHT_CM", "message": "Please check.", "csrf_token": token},
        headers=HTMX,
    )
    assert 'id="query-panel-content"' in response.text
    badge = response.html.find(id="query-badge-height_cm")
    assert badge["hx-swap-oob"] == "true" and "1 open query" in badge.text
    count = response.html.find(id="form-query-count")
    assert count["hx-swap-oob"] == "true" and "1 open query" in count.text
    assert "<html" not in response.text


def test_answer_without_correction_and_reopen(coordinator, monitor, dbsession):
    save_demographics(coordinator)
    raise_on_height(monitor)
    [query] = queries_of(dbsession, instance_of(dbsession))
    answer = coordinator.get(HEIGHT).forms[f"q{query.number}-answer"]
    answer["message"] = "The value is right: checked in the chart."
    answer.submit()
    reopen = monitor.get(HEIGHT).forms[f"q{query.number}-reopen"]
    reopen["message"] = "Please attach the chart page number."
    reopen.submit()
    [query] = queries_of(dbsession, instance_of(dbsession))
    assert query.state is QueryState.OPEN and instance_of(dbsession).open_queries == 1
    messages = dbsession.scalars(
        select(QueryMessage).where(QueryMessage.query_id == query.id).order_by(QueryMessage.id)
    ).all()
    assert [m.step.value for m in messages] == ["raised", "answered", "reopened"]
    assert [m.corrected for m in messages] == [False, False, False]


def test_a_refused_correction_saves_nothing(coordinator, monitor, dbsession):
    save_demographics(coordinator)
    raise_on_height(monitor)
    [query] = queries_of(dbsession, instance_of(dbsession))
    answer = coordinator.get(HEIGHT).forms[f"q{query.number}-answer"]
    answer["message"] = "Corrected."
    answer["value"] = "9999"  # beyond the hard range
    refused = answer.submit(status=422)
    assert refused.html.find(id=f"field-q{query.number}-value-error") is not None
    [query] = queries_of(dbsession, instance_of(dbsession))
    assert query.state is QueryState.OPEN
    assert not audited(dbsession, "query.answered")


def test_a_correction_sent_after_the_form_was_frozen_saves_nothing_and_says_why(
    coordinator, monitor, dbsession
):
    save_demographics(coordinator)
    raise_on_height(monitor)
    instance = instance_of(dbsession)
    [query] = queries_of(dbsession, instance)
    answer = coordinator.get(HEIGHT).forms[f"q{query.number}-answer"]
    answer["message"] = "Corrected."
    answer["value"] = "180"
    instance.lock_state = LockState.FROZEN  # a monitor froze the form meanwhile
    dbsession.flush()
    refused = answer.submit(status=422)
    error = refused.html.find(id=f"field-q{query.number}-value-error")
    assert "This value cannot be corrected here." in error.text  # the field is gone: said above
    [query] = queries_of(dbsession, instance_of(dbsession))
    assert query.state is QueryState.OPEN
    assert not audited(dbsession, "query.answered")
    height = dbsession.scalars(select(ItemValue.value).where(ItemValue.item_oid == "I.HEIGHT_CM"))
    assert height.one() == "175"


def test_messages_are_required_capped_and_never_html(coordinator, monitor, dbsession):
    save_demographics(coordinator)
    refused = raise_on_height(monitor, message="   ", status=422)
    assert "Write a message." in refused.text
    refused = raise_on_height(monitor, message="x" * (MAX_MESSAGE + 1), status=422)
    assert f"at most {MAX_MESSAGE} characters" in refused.text
    assert not queries_of(dbsession, instance_of(dbsession))
    raise_on_height(monitor, message='<script>alert(1)</script><b onclick="x">bold</b>')
    page = coordinator.get(HEIGHT).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_site_staff_cannot_raise_and_monitors_cannot_answer(coordinator, monitor, dbsession):
    save_demographics(coordinator)
    assert "raise-query" not in coordinator.get(HEIGHT).forms
    raise_on_height(monitor)
    [query] = queries_of(dbsession, instance_of(dbsession))
    page = monitor.get(HEIGHT)
    assert f"q{query.number}-answer" not in page.forms
    token = page.forms["raise-query"]["csrf_token"].value
    monitor.post(
        f"/acme/demo/queries/{query.number}/@@answer",
        {"message": "I answer", "csrf_token": token},
        status=403,
    )


def test_a_stale_step_is_refused(coordinator, monitor, dbsession):
    save_demographics(coordinator)
    raise_on_height(monitor)
    [query] = queries_of(dbsession, instance_of(dbsession))
    first = monitor.get(HEIGHT).forms[f"q{query.number}-close"]
    second = monitor.get(HEIGHT).forms[f"q{query.number}-close"]
    first["message"] = second["message"] = "Closing."
    first.submit()
    assert "someone acted on it" in second.submit(status=422).text
    assert len(audited(dbsession, "query.closed")) == 1


def test_warning_checks_open_system_queries_closed_when_corrected(coordinator, dbsession):
    save_demographics(coordinator, height_cm="150", weight_kg="120.0")  # BMI 53: warning
    instance = instance_of(dbsession)
    [query] = queries_of(dbsession, instance)
    assert (query.origin.value, query.item_oid, query.raised_by_id) == ("system", "I.BMI", None)
    assert instance.open_queries == 1
    save_demographics(coordinator, height_cm="150", weight_kg="121.0")  # still fires
    assert len(queries_of(dbsession, instance)) == 1
    save_demographics(coordinator, height_cm="175", weight_kg="70.0")
    [query] = queries_of(dbsession, instance)
    assert query.state is QueryState.CLOSED and instance_of(dbsession).open_queries == 0
    [closed] = audited(dbsession, "query.closed")
    assert "no longer raises the check" in closed.reason
    assert "Closed automatically" in coordinator.get(DEMOGRAPHICS + "@@queries?item=I.BMI").text


def test_soft_ranges_open_queries_too(coordinator, dbsession):
    save_demographics(coordinator, height_cm="135", weight_kg="40.0")
    oids = {q.item_oid for q in queries_of(dbsession, instance_of(dbsession))}
    assert "I.HEIGHT_CM" in oids


# --- the list ---------------------------------------------------------------------------------


def test_query_list_filters_and_site_isolation(
    app, world, coordinator, monitor, dbsession, registry
):
    save_demographics(coordinator)
    raise_on_height(monitor, message="Paris query")
    _berlin_query(world, dbsession, registry)
    everything = monitor.get("/acme/demo/queries/")
    assert {"par01-0001", "ber01-0001"} <= {
        span.text for span in everything.html.select("table.queries span.code")
    }
    only_paris = coordinator.get("/acme/demo/queries/")
    labels = {span.text for span in only_paris.html.select("table.queries span.code")}
    assert labels == {"par01-0001"}
    assert "ber01" not in coordinator.get("/acme/demo/queries/@@export").text
    [berlin] = dbsession.scalars(
        select(Query).join(Subject).where(Subject.label == "ber01-0001")
    ).all()
    coordinator.get(f"/acme/demo/queries/{berlin.number}/", status=404)
    filtered = monitor.get("/acme/demo/queries/", {"site": "ber01"})
    assert {s.text for s in filtered.html.select("table.queries span.code")} == {"ber01-0001"}
    assert "No query matches." in monitor.get("/acme/demo/queries/", {"state": "closed"})
    assert "No query matches." in monitor.get("/acme/demo/queries/", {"age": "7"})
    assert "No query matches." in monitor.get("/acme/demo/queries/", {"raiser": "system"})
    mine = monitor.get("/acme/demo/queries/", {"raiser": str(world.users["monitor"].id)})
    assert {s.text for s in mine.html.select("table.queries span.code")} == {"par01-0001"}
    assert "No query matches." in monitor.get("/acme/demo/queries/", {"form": "consent"})


def _berlin_query(world, dbsession, registry):
    """A query at ber01, made through the services (no par01-restricted user can enter there)."""
    from datacapt.actor import Actor
    from datacapt.ecrf.versions import published_design
    from datacapt.entry import services as entry
    from datacapt.queries import services
    from datacapt.reactions import reactions_of

    design = published_design(dbsession, world.study)
    form = next(f for f in design.definition.forms if f.name == "demographics")
    scope = entry.EntryScope(
        study=world.study,
        subject=world.subjects["ber01-0001"],
        visit="screening",
        visit_repeat=1,
        form=form,
        form_repeat=1,
        version_number=design.number,
    )
    result = entry.save_form(
        dbsession,
        scope,
        design.definition,
        entry.EntryRequest(
            {"sex": ["2"], "pregnant": ["0"]}, {}, False, "", None, date(2026, 6, 15)
        ),
        missing_codes=set(),
        actor=Actor.system("tests"),
        reactions=reactions_of(registry),
    )
    actor = Actor(world.users["data_manager"].id)
    query = services.raise_query(dbsession, result.instance, "I.SEX", "Berlin query", actor)
    dbsession.flush()
    return query


def test_bulk_close_closes_only_what_was_ticked(app, world, coordinator, monitor, dbsession):
    save_demographics(coordinator)
    raise_on_height(monitor, message="one")
    raise_on_height(monitor, message="two")
    form = monitor.get("/acme/demo/queries/").forms["bulk-close"]
    refused = form.submit(status=422)
    assert "Tick the open or answered queries" in refused.text
    form = refused.forms["bulk-close"]
    form.get("query", index=[f.value for f in form.fields["query"]].index(None)).checked = True
    form["message"] = "Duplicates."
    form.submit()
    states = [q.state for q in queries_of(dbsession, instance_of(dbsession))]
    assert sorted(states) == [QueryState.CLOSED, QueryState.OPEN]
    assert instance_of(dbsession).open_queries == 1


def test_site_staff_cannot_bulk_close(coordinator, monitor, dbsession):
    save_demographics(coordinator)
    raise_on_height(monitor)
    [query] = queries_of(dbsession, instance_of(dbsession))
    page = coordinator.get("/acme/demo/queries/")
    assert "Close the selected queries" not in page.text
    token = page.forms["bulk-close"]["csrf_token"].value
    coordinator.post(
        "/acme/demo/queries/@@close",
        {"query": str(query.number), "message": "x", "csrf_token": token},
        status=403,
    )
    assert queries_of(dbsession, instance_of(dbsession))[0].state is QueryState.OPEN


def test_a_site_restricted_monitor_bulk_closes_only_at_its_sites(app, world, dbsession, registry):
    """The list grants bulk close to a monitor restricted to par01; ber01's query is skipped."""
    queries = add_queries(dbsession, world)
    user = make_user(dbsession, registry, "par01-monitor@example.org")
    grant_study_role(dbsession, user, world.study, StudyRole.MONITOR, [world.sites["par01"]])
    dbsession.flush()
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(client, user.email).status_int == 303
    token = client.get("/acme/demo/queries/").forms["bulk-close"]["csrf_token"].value
    numbers = {label: str(query.number) for label, query in queries.items()}
    only_berlin = {"query": numbers["ber01-0001"], "message": "Done.", "csrf_token": token}
    client.post("/acme/demo/queries/@@close", only_berlin, status=422)
    both = {**only_berlin, "query": [numbers["par01-0001"], numbers["ber01-0001"]]}
    client.post("/acme/demo/queries/@@close", both, status=303)
    dbsession.expire_all()
    assert queries["par01-0001"].state is QueryState.CLOSED
    assert queries["ber01-0001"].state is QueryState.OPEN
    # nor one by one: another site's query is not found
    one = f"/acme/demo/queries/{numbers['ber01-0001']}/"
    client.post(one + "@@close", {"message": "Done.", "csrf_token": token}, status=404)
    client.post(f"/acme/demo/queries/{numbers['par01-0001']}/@@reopen", only_berlin, status=303)
    dbsession.expire_all()
    assert queries["ber01-0001"].state is QueryState.OPEN
    assert queries["par01-0001"].state is QueryState.OPEN


def test_csv_export_streams_neutralises_formulas_and_carries_no_names(
    coordinator, monitor, dbsession, world
):
    save_demographics(coordinator)
    raise_on_height(monitor, message='=HYPERLINK("http://evil")')
    response = monitor.get("/acme/demo/queries/@@export")
    assert response.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["query", "site", "subject"]
    assert rows[1][1:3] == ["par01", "par01-0001"]
    body = response.body.decode()
    assert "HYPERLINK" not in body and world.users["monitor"].name not in body
    assert [safe_cell(v) for v in ("=1+1", "+1", "-1", "@x", "ok")] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@x",
        "ok",
    ]


def test_counts_show_on_casebook_subject_list_dashboard_and_metrics(
    coordinator, monitor, dbsession
):
    save_demographics(coordinator)
    raise_on_height(monitor)
    assert "1 open query" in monitor.get(SUBJECT).text
    assert "1 open query" in monitor.get("/acme/demo/subjects/").text
    assert "1 open query" in monitor.get("/acme/demo/subjects/@@dashboard", {"queries": "1"}).text
    metrics = monitor.get("/acme/demo/queries/@@metrics", headers=HTMX)
    assert metrics.html.find(id="query-metrics") is not None
    assert "<dd>1</dd>" in metrics.text


def test_median_time_to_answer(coordinator, monitor, dbsession):
    save_demographics(coordinator)
    raise_on_height(monitor)
    [query] = queries_of(dbsession, instance_of(dbsession))
    answer = coordinator.get(HEIGHT).forms[f"q{query.number}-answer"]
    answer["message"] = "ok"
    answer.submit()
    assert "From 1 answered query." in monitor.get("/acme/demo/queries/@@metrics").text


def test_the_query_list_costs_the_same_statements_for_one_or_many(
    coordinator, monitor, dbsession, query_counter
):
    save_demographics(coordinator)
    raise_on_height(monitor)
    query_counter.clear()
    monitor.get("/acme/demo/queries/")
    one = len(query_counter)
    for number in range(6):
        raise_on_height(monitor, message=f"again {number}")
    query_counter.clear()
    monitor.get("/acme/demo/queries/")
    assert len(query_counter) == one
    count = dbsession.scalar(select(func.count()).select_from(Query))
    assert count == 7


@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM data_query", "DELETE FROM query_message", "UPDATE query_message SET body = 'x'"],
)
def test_the_database_keeps_every_query_and_message(coordinator, monitor, dbsession, statement):
    save_demographics(coordinator)
    raise_on_height(monitor)
    nested = dbsession.begin_nested()
    with pytest.raises(DBAPIError, match="never deleted"):
        dbsession.execute(text(statement))
    nested.rollback()
    assert len(queries_of(dbsession, instance_of(dbsession))) == 1


def test_a_locked_forms_queries_are_frozen_with_it(coordinator, monitor, dbsession):
    """Locking takes queries away too (as on the form page): no answer, close or re-open
    through the query's own page, nor through the list's bulk close."""
    from datacapt.models.entry import LockState

    save_demographics(coordinator)
    raise_on_height(monitor)
    answer = coordinator.get(HEIGHT).forms  # forms shown before the lock
    close = monitor.get(HEIGHT).forms
    bulk = monitor.get("/acme/demo/queries/").forms["bulk-close"]
    instance = instance_of(dbsession)
    [query] = queries_of(dbsession, instance)
    instance.lock_state = LockState.LOCKED
    dbsession.flush()
    stale = answer[f"q{query.number}-answer"]
    stale["message"] = "Answering a locked form."
    stale.submit(status=403)
    stale = close[f"q{query.number}-close"]
    stale["message"] = "Closing a locked form."
    stale.submit(status=403)
    bulk.get("query", index=0).checked = True
    bulk["message"] = "Closing in bulk."
    bulk.submit(status=422)
    assert [q.state for q in queries_of(dbsession, instance_of(dbsession))] == [QueryState.OPEN]


def test_the_raised_by_filter_names_only_people_of_the_sites_one_sees(app, dbsession, world):
    found = add_queries(dbsession, world)  # by the data manager, at par01 and at ber01
    berlin = dbsession.get(FormInstance, found["ber01-0001"].form_instance_id)
    monitor = world.users["monitor"]
    actor = Actor(monitor.id)
    services.raise_query(dbsession, berlin, None, "Only at Berlin", actor)
    dbsession.flush()

    def raisers(role):
        page = as_user(app, world, role).get("/acme/demo/queries/")
        return {value for value, *_ in page.forms["query-filters"]["raiser"].options}

    manager = str(world.users["data_manager"].id)
    assert raisers("coordinator") == {"", "system", manager}
    assert raisers("monitor") == {"", "system", manager, str(monitor.id)}


def test_the_query_list_shows_what_each_query_asks(coordinator, monitor, dbsession):
    save_demographics(coordinator)
    raise_on_height(monitor, message="Height <b>175</b>? The source says 165.")
    [query] = dbsession.scalars(select(Query)).all()
    answer = coordinator.get(HEIGHT).forms[f"q{query.number}-answer"]
    answer["message"] = "Checked: 175 is right."
    answer.submit()
    row = monitor.get("/acme/demo/queries/").html.select_one("table.queries tbody tr")
    assert row.select_one("td.query-text").text == "Height <b>175</b>? The source says 165."
    assert "Checked" not in row.text  # the question, not the thread
    assert "source says" not in monitor.get("/acme/demo/queries/@@export").text


def test_the_thread_shows_the_question_s_value_now(coordinator, monitor):
    save_demographics(coordinator)
    panel = monitor.get(HEIGHT, headers=HTMX).html
    assert " ".join(panel.find(id="query-current").text.split()) == "Value now: 175 cm"
    sex = monitor.get(DEMOGRAPHICS + "@@queries?item=I.SEX").html.find(id="query-current")
    assert " ".join(sex.text.split()) == "Value now: Male"  # the option's label, not its code
    pregnant = monitor.get(DEMOGRAPHICS + "@@queries?item=I.PREGNANT").html
    assert "No answer" in pregnant.find(id="query-current").text
    initials = monitor.get(DEMOGRAPHICS + "@@queries?item=I.INITIALS").html
    assert initials.find(id="query-current") is None  # personal data stays out of the thread
    assert monitor.get(DEMOGRAPHICS + "@@queries").html.find(id="query-current") is None


def test_the_query_list_pages_from_the_newest_and_keeps_its_filters(app, world, dbsession):
    actor = Actor(world.users["monitor"].id)
    for label, count in (("par01-0001", 30), ("ber01-0001", 60)):
        place = services.Place.of_subject(world.subjects[label])
        for number in range(count):
            services.raise_query_at(dbsession, place, f"{label} question {number}", actor)
    dbsession.flush()
    monitor = as_user(app, world, "monitor")

    def numbers(page: webtest.TestResponse) -> list[int]:
        links = page.html.select("table.queries tbody tr td a")
        return [int(link.text.rsplit(" ", 1)[-1]) for link in links if "Query" in link.text]

    first = monitor.get("/acme/demo/queries/")
    second = monitor.get("/acme/demo/queries/", {"page": 2})
    assert numbers(first) == list(range(90, 40, -1))
    assert numbers(second) == list(range(40, 0, -1))
    filtered = monitor.get("/acme/demo/queries/", {"subject": "ber01", "page": 2})
    assert numbers(filtered) == list(range(40, 30, -1))
