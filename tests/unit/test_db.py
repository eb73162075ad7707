"""The engine's pool for a database server, and which database errors mean "unreachable"."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import psycopg
import pytest
import transaction
from pyramid_retry import IRetryableError
from sqlalchemy import column, event, select, table, update
from sqlalchemy.exc import IntegrityError, OperationalError

from datacapt.db import database_unavailable, get_tm_session, make_engine, make_session_factory

SERVER = "postgresql+psycopg://app@db.example/datacapt"


def test_a_server_pool_recycles_and_does_not_pre_ping_unless_the_ini_says_otherwise():
    """Requests are run again on a dead connection instead (test_database_restart)."""
    pool = make_engine({"sqlalchemy.url": SERVER}).pool
    assert (pool._pre_ping, pool._recycle) == (False, 1800)
    settings = {"sqlalchemy.url": SERVER, "sqlalchemy.pool_pre_ping": "true"}
    assert make_engine({**settings, "sqlalchemy.pool_recycle": "300"}).pool._recycle == 300
    assert make_engine(settings).pool._pre_ping is True


def test_an_embedded_database_is_not_pinged():
    assert make_engine({"sqlalchemy.url": "sqlite://"}).pool._pre_ping is False


def server_error(sqlstate: str | None) -> psycopg.OperationalError:
    error = psycopg.OperationalError("from the server")
    error.sqlstate = sqlstate  # type: ignore[misc]
    return error


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (OperationalError("SELECT 1", {}, server_error(None)), True),  # could not connect
        (OperationalError("SELECT 1", {}, server_error("57P01")), True),  # shutting down
        (OperationalError("SELECT 1", {}, server_error("08006")), True),  # connection failure
        (OperationalError("SELECT 1", {}, server_error("57014")), False),  # statement timeout
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table")), False),
        (IntegrityError("INSERT", {}, psycopg.IntegrityError("duplicate")), False),
        (IntegrityError("INSERT", {}, Exception(), connection_invalidated=True), True),
        (ValueError("not the database"), False),
    ],
)
def test_only_an_unreachable_database_counts_as_unavailable(error, unavailable):
    assert database_unavailable(error) is unavailable


def test_a_session_commits_unless_its_transaction_is_aborted(tmp_path):
    """The listeners registered once on the session class join each session to its own
    manager: a transaction that only read ends in a COMMIT (a ROLLBACK would cost PostgreSQL
    connections their prepared statements, see test_prepared_statements), and so does one that
    wrote with no one marking it; an aborted one ends in a ROLLBACK and keeps nothing; outside
    the manager a commit is refused. ORM flushes: the functional tests."""
    engine = make_engine({"sqlalchemy.url": f"sqlite:///{tmp_path / 'db.sqlite'}"})
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT)")
        connection.exec_driver_sql("INSERT INTO note (id, text) VALUES (1, 'a')")
    ended: list[str] = []
    event.listen(engine, "commit", lambda _connection: ended.append("commit"))
    event.listen(engine, "rollback", lambda _connection: ended.append("rollback"))
    registry = {"dbsession_factory": make_session_factory(engine)}
    note = table("note", column("id"), column("text"))

    def run(work) -> None:
        manager = transaction.TransactionManager(explicit=True)
        with manager:
            work(get_tm_session(registry, manager))  # type: ignore[arg-type]

    def text() -> str:
        with engine.connect() as connection:
            return connection.execute(select(note.c.text)).scalar_one()

    run(lambda dbsession: dbsession.execute(select(note.c.text)).all())
    assert ended == ["commit"]
    run(lambda dbsession: dbsession.execute(update(note).values(text="b")))
    assert (ended[-1], text()) == ("commit", "b")

    def refused(dbsession) -> None:
        dbsession.execute(update(note).values(text="c"))
        raise LookupError("the request failed")

    with pytest.raises(LookupError):
        run(refused)
    assert (ended[-1], text()) == ("rollback", "b")
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        dbsession = get_tm_session(registry, manager)  # type: ignore[arg-type]
        dbsession.execute(select(note.c.text)).all()
        with pytest.raises(AssertionError, match="transaction manager"):
            dbsession.commit()


@pytest.mark.parametrize(
    ("is_disconnect", "connection", "statement", "retried"),
    [
        (True, object(), "SELECT subject.id FROM subject", True),  # a pooled connection, dead
        (True, object(), None, False),  # COMMIT: it may have been committed
        (True, None, None, False),  # could not connect: the server is down
        (False, object(), "INSERT INTO subject", False),  # the statement was refused
    ],
)
def test_only_a_statement_that_found_its_connection_dead_is_retried(
    is_disconnect, connection, statement, retried
):
    error = OperationalError(statement or "", {}, server_error("57P01"))
    context = SimpleNamespace(
        is_disconnect=is_disconnect,
        connection=connection,
        statement=statement,
        sqlalchemy_exception=error,
    )
    make_engine({"sqlalchemy.url": SERVER}).dialect.dispatch.handle_error(context)
    assert IRetryableError.providedBy(error) is retried
