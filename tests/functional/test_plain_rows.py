"""Plain-row statements on the session's connection (query counts on the form page, open
queries on the subject list) still see what the request changed and has not flushed yet, as
``Session.execute`` would, on both databases; those read through the driver's cursor
(``datacapt.plain_rows``) give what SQLAlchemy's Core would, and behave as any statement does:
counted by the engine's listeners, errors wrapped, a lost connection retried."""

from __future__ import annotations

from datetime import UTC
from types import SimpleNamespace

import pytest
import transaction
from pyramid_retry import IRetryableError
from sqlalchemy import Engine, Integer, bindparam, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from datacapt.db import get_tm_session, make_engine, make_session_factory
from datacapt.models import FormInstance, QueryState, TenantRoleAssignment, User
from datacapt.plain_rows import plain_rows
from datacapt.queries.summary import counts_by_item
from datacapt.security import TenantRole
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


ROLES = (
    select(User.id, User.email, User.created_at, TenantRoleAssignment.role)
    .join(TenantRoleAssignment, TenantRoleAssignment.user_id == User.id)
    .where(User.email == bindparam("email"))
)


def test_rows_are_the_ones_core_reads_converted_by_their_types(dbsession: Session, registry):
    """The role comes back as its enumeration, the time aware in UTC, by position and by name."""
    build_world(dbsession, registry)
    parameters = {"email": "tenant-admin@example.org"}
    rows = plain_rows(dbsession, ROLES, parameters)
    assert rows == [tuple(row) for row in dbsession.execute(ROLES, parameters)]
    (row,) = rows
    assert row.role is TenantRole.TENANT_ADMIN
    assert row.email == "tenant-admin@example.org"
    assert row.created_at.utcoffset() is not None
    assert row.created_at.tzinfo == UTC
    assert plain_rows(dbsession, ROLES, {"email": "nobody-at-all@example.org"}) == []


def test_a_statement_with_a_fixed_value_is_read_through_core(dbsession: Session, registry):
    build_world(dbsession, registry)
    fixed = select(User.email).where(User.email == "root@example.org")
    assert plain_rows(dbsession, fixed, {}) == [("root@example.org",)]


def test_a_statement_rendered_per_execution_is_read_through_core(dbsession: Session, registry):
    """An expanding list becomes as many placeholders as it has values, at each execution."""
    build_world(dbsession, registry)
    listed = select(User.email).where(User.email.in_(bindparam("emails", expanding=True)))
    emails = ["root@example.org", "nobody@example.org", "nowhere@example.org"]
    found = plain_rows(dbsession, listed.order_by(User.email), {"emails": emails})
    assert found == [("nobody@example.org",), ("root@example.org",)]


def test_the_session_is_flushed_first_unless_asked_not_to(dbsession: Session, registry):
    world = build_world(dbsession, registry)
    world.users["nobody"].email = "renamed@example.org"
    by_email = select(User.id).where(User.email == bindparam("email"))
    assert plain_rows(dbsession, by_email, {"email": "renamed@example.org"}, flush=False) == []
    found = plain_rows(dbsession, by_email, {"email": "renamed@example.org"})
    assert found == [(world.users["nobody"].id,)]


def test_the_engines_listeners_hear_the_statement(dbsession: Session, registry, query_counter):
    build_world(dbsession, registry)
    query_counter.clear()
    plain_rows(dbsession, ROLES, {"email": "tenant-admin@example.org"})
    assert len(query_counter) == 1
    assert "FROM user_account" in query_counter[0]


DIVIDED = select((bindparam("a", type_=Integer) / bindparam("b", type_=Integer)).label("q"))


def test_a_database_error_is_wrapped_as_any_statements(dbsession: Session):
    if dbsession.bind.dialect.name != "postgresql":
        pytest.skip("SQLite divides by zero without an error")
    with pytest.raises(DBAPIError, match="division by zero"):
        plain_rows(dbsession, DIVIDED, {"a": 1, "b": 0})


def test_a_lost_connection_marks_the_request_to_be_run_again(database_url: str):
    """A connection the server dropped while idle fails the statement, invalidates the pool
    and marks the error retryable, as SQLAlchemy's own executions do (test_database_restart)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a server's connections only")
    engine: Engine = make_engine({"sqlalchemy.url": database_url, "sqlalchemy.pool_size": "1"})
    registry = {"dbsession_factory": make_session_factory(engine)}
    try:
        manager = transaction.TransactionManager(explicit=True)
        with manager:
            dbsession = get_tm_session(registry, manager)  # type: ignore[arg-type]
            assert plain_rows(dbsession, DIVIDED, {"a": 6, "b": 3}) == [(2,)]
            pid = dbsession.execute(text("SELECT pg_backend_pid()")).scalar()
        with make_engine({"sqlalchemy.url": database_url}).connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        manager = transaction.TransactionManager(explicit=True)
        manager.begin()
        dbsession = get_tm_session(registry, manager)  # type: ignore[arg-type]
        try:
            with pytest.raises(DBAPIError) as raised:
                plain_rows(dbsession, DIVIDED, {"a": 6, "b": 3})
        finally:
            manager.abort()
        assert raised.value.connection_invalidated
        assert IRetryableError.providedBy(raised.value)
    finally:
        engine.dispose()
