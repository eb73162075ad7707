"""Plain-row statements run on the session's connection (query counts on the form page, open
queries on the subject list): they still see what the request changed and has not flushed yet,
as ``Session.execute`` would, on both databases."""

from __future__ import annotations

from types import SimpleNamespace

from datacapt.models import FormInstance, QueryState
from datacapt.queries.summary import counts_by_item
from datacapt.subjects.services import open_queries_by_subject
from tests.factories import add_queries, build_world


def test_query_counts_see_a_state_changed_in_the_session(dbsession, registry):
    world = build_world(dbsession, registry)
    query = add_queries(dbsession, world)["par01-0001"]
    instance = dbsession.get(FormInstance, query.form_instance_id)
    request = SimpleNamespace(dbsession=dbsession)
    assert counts_by_item(request, instance)[None].open == 1
    query.state = QueryState.ANSWERED
    counts = counts_by_item(request, instance)[None]
    assert (counts.open, counts.answered, counts.closed) == (0, 1, 0)
    assert counts_by_item(request, None) == {}


def test_open_queries_by_subject_for_a_page_of_many_ids(dbsession, registry):
    world = build_world(dbsession, registry)
    found = add_queries(dbsession, world)
    paris, berlin = world.subjects["par01-0001"].id, world.subjects["ber01-0001"].id
    others = list(range(10**6, 10**6 + 60))  # more ids than a statement's cached parameters
    assert open_queries_by_subject(dbsession, [paris, berlin, *others]) == {paris: 1, berlin: 1}
    dbsession.expire_all()
    instance = dbsession.get(FormInstance, found["par01-0001"].form_instance_id)
    instance.answered_queries = 1
    assert open_queries_by_subject(dbsession, [paris, berlin]) == {berlin: 1}
    assert open_queries_by_subject(dbsession, []) == {}
