"""Plain rows read through psycopg's cursor (``datacapt.plain_rows``) fail as any statement
does: a database error wrapped by SQLAlchemy, a connection the server dropped invalidating the
pool and marking the request to be run again. PostgreSQL only (``POSTGRESQL_ONLY``): SQLite's
statements go through Core, and it divides by zero without an error."""

from __future__ import annotations

import pytest
import transaction
from pyramid_retry import IRetryableError
from sqlalchemy import Engine, Integer, bindparam, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from datacapt.db import get_tm_session, make_engine, make_session_factory
from datacapt.plain_rows import plain_rows

DIVIDED = select((bindparam("a", type_=Integer) / bindparam("b", type_=Integer)).label("q"))


def test_a_database_error_is_wrapped_as_any_statements(dbsession: Session):
    with pytest.raises(DBAPIError, match="division by zero"):
        plain_rows(dbsession, DIVIDED, {"a": 1, "b": 0})


def test_a_lost_connection_marks_the_request_to_be_run_again(database_url: str):
    """A connection the server dropped while idle fails the statement, invalidates the pool
    and marks the error retryable, as SQLAlchemy's own executions do (test_database_restart)."""
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
