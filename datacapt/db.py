"""Database plumbing: the engine, one session per request joined to pyramid_tm, and the metadata.

Views never commit: pyramid_tm commits when the response is a success and aborts otherwise.
Jobs and the command line get the same behaviour from :func:`transaction_scope`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import transaction
from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.settings import asbool
from pyramid_retry import mark_error_retryable
from sqlalchemy import MetaData, event, select
from sqlalchemy.engine import Connection, Engine, ExceptionContext, engine_from_config, make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from transaction._transaction import Status
from transaction.interfaces import ITransactionManager
from zope.sqlalchemy.datamanager import STATUS_CHANGED, join_transaction

from datacapt.pgcursor import Cursor

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _prepare_sqlite(engine: Engine) -> None:
    """Make pysqlite transactional: real BEGIN/SAVEPOINT, foreign keys, a busy timeout.

    ``BEGIN IMMEDIATE`` takes the write lock up front, so two requests never deadlock on a lock
    upgrade (SQLite then fails at once instead of waiting): the embedded default serialises
    writers, which is what a single-machine installation needs, and never loses a write.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


#: A database server's connections (PostgreSQL), unless the INI says otherwise. Recycle: a
#: connection is closed after 30 minutes, before a firewall, NAT or pooler drops it silently.
#: No pre-ping (a ``SELECT 1`` as the pool hands a connection out, one more round trip for every
#: request): a statement that meets a connection a restart or failover broke while idle fails,
#: which invalidates the whole pool, and the request is run again on fresh connections (see
#: :func:`_retry_on_disconnect`). Jobs and commands, which are not retried, ping instead (see
#: :func:`_ping_outside_requests`).
SERVER_POOL = {"sqlalchemy.pool_pre_ping": False, "sqlalchemy.pool_recycle": 1800}


def make_engine(settings: dict[str, Any]) -> Engine:
    """The engine; its statements' parameters (people's data) never appear in a log line or in
    an error's text. A server's pool gets :data:`SERVER_POOL`'s defaults."""
    if make_url(settings["sqlalchemy.url"]).get_backend_name() != "sqlite":
        settings = {**SERVER_POOL, **settings}
        # engine_from_config passes this one on as it is, and the string "false" is true.
        settings["sqlalchemy.pool_pre_ping"] = asbool(settings["sqlalchemy.pool_pre_ping"])
    engine = engine_from_config(settings, prefix="sqlalchemy.", hide_parameters=True)
    if engine.dialect.name == "sqlite":
        if engine.url.database not in (None, "", ":memory:"):
            Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
        _prepare_sqlite(engine)
    else:
        _retry_on_disconnect(engine)
        if not settings["sqlalchemy.pool_pre_ping"]:
            _ping_outside_requests(engine)
        if engine.dialect.driver == "psycopg":
            _describe_on_demand(engine)
    return engine


def _retry_on_disconnect(engine: Engine) -> None:
    """A statement that found its pooled connection dead marks its error retryable: the server
    lost the transaction whole, so nothing of it was written, and pyramid_retry runs the request
    again on a fresh connection (SQLAlchemy has invalidated every connection of the pool).
    Not a failed COMMIT (no statement): the server may have committed before the connection
    broke, and running the request again could write it twice. Not a failed connect either
    (no connection): the server is down, and the request's 503 says so at once."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        error = context.sqlalchemy_exception
        if (
            context.is_disconnect
            and context.connection is not None
            and context.statement is not None
            and error is not None
        ):
            mark_error_retryable(error)


#: Whether the pool tries a connection before handing it out: in a job or a command
#: (:func:`transaction_scope`), which no one runs again if its connection is found dead.
_PINGED: ContextVar[bool] = ContextVar("datacapt.db.pinged", default=False)


def _ping_outside_requests(engine: Engine) -> None:
    """Pre-ping for jobs and commands only: a worker idle while the server restarted runs its
    next job on a fresh connection instead of failing it."""

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not _PINGED.get():
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise InvalidatePoolError() from error


def _describe_on_demand(engine: Engine) -> None:
    """psycopg connections make :class:`datacapt.pgcursor.Cursor` cursors (descriptions built
    when read, see there)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.cursor_factory = Cursor


#: SQLSTATEs of a server that is going away or not up yet: shutting down (an operator's fast
#: stop), crashed, starting up. Class 08 (connection exceptions) counts too.
SERVER_AWAY = {"57P01", "57P02", "57P03"}


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached (stopped, restarting, the network
    cut) rather than refusing a statement: the transaction is lost whole, so nothing of it was
    written, and the same request may simply be sent again later."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", "")  # None: the client could not connect at all
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in SERVER_AWAY


class TransactionSession(Session):
    """A session joined to the transaction manager its ``info`` names (see :func:`get_tm_session`).

    Its listeners are registered once on this class (``zope.sqlalchemy.register`` on each session
    would build its own listener collections per request, ~400 Python calls). A session joins the
    transaction as it begins or an object is added to it, already marked changed: the transaction
    ends in a COMMIT unless the request failed (:func:`commit_veto`, an exception), even when it
    only read. zope.sqlalchemy's own rule (a ROLLBACK for a transaction nobody marked changed)
    cost every read request its prepared statements: psycopg forgets a connection's prepared
    statements at each ROLLBACK, so none was ever prepared and PostgreSQL planned every statement
    again (the traversal path alone 0.46 ms). PostgreSQL commits a transaction that wrote nothing
    as cheaply as it rolls it back, and a write no one marked can no longer be lost silently.
    """


def _join(session: Session) -> None:
    manager = session.info["transaction_manager"]
    join_transaction(session, STATUS_CHANGED, transaction_manager=manager)


@event.listens_for(TransactionSession, "after_begin")
def _join_on_begin(session: Session, _transaction: Any, _connection: Any) -> None:
    _join(session)


@event.listens_for(TransactionSession, "after_attach")
def _join_on_attach(session: Session, _instance: Any) -> None:
    _join(session)


@event.listens_for(TransactionSession, "before_commit")
def _committed_by_manager(session: Session) -> None:
    manager: ITransactionManager = session.info["transaction_manager"]
    assert session.in_nested_transaction() or manager.get().status == Status.COMMITTING, (
        "Transaction must be committed using the transaction manager"
    )


def make_session_factory(bind: Any, **options: Any) -> sessionmaker[Session]:
    """Sessions for :func:`get_tm_session` bound to ``bind`` (an engine; a test's connection)."""
    return sessionmaker(bind=bind, class_=TransactionSession, expire_on_commit=False, **options)


def get_tm_session(
    registry: Registry,
    transaction_manager: transaction.TransactionManager,
    request: Request | None = None,
) -> Session:
    """A session whose commit and rollback belong to ``transaction_manager``.

    Its ``info`` carries the registry and the manager, so code holding only the session can ask
    for work after the commit (see :mod:`datacapt.jobs`).
    """
    return registry["dbsession_factory"](
        info={"request": request, "registry": registry, "transaction_manager": transaction_manager}
    )


@contextmanager
def transaction_scope(registry: Registry) -> Iterator[Session]:
    """One transaction outside a request (command line, jobs): commit on success, else abort."""
    manager = transaction.TransactionManager(explicit=True)
    pinged = _PINGED.set(True)
    try:
        with manager:
            yield get_tm_session(registry, manager)
    finally:
        _PINGED.reset(pinged)


def rows_connection(dbsession: Session) -> Connection:
    """The session's connection, for a statement that reads plain rows on it (no ORM execution
    to set up: its events, compile state and per-row loading), after the flush
    ``Session.execute`` would do, so that the rows read what this transaction changed."""
    if dbsession.autoflush:
        dbsession.flush()
    return dbsession.connection()


def exists(dbsession: Session, model: type[Base], **criteria: Any) -> bool:
    """Whether a row of ``model`` matches ``criteria`` (column=value pairs)."""
    found = dbsession.scalar(select(model.id).filter_by(**criteria).limit(1))  # type: ignore[attr-defined]
    return found is not None


def commit_veto(request: Request, response: Response) -> bool:
    """Abort on 4xx/5xx, except for writes a view marked as kept (see :func:`keep_writes`).

    A refused sign-in answers 4xx yet its failed attempt must be counted, or throttling would
    never engage.
    """
    if request.environ.get("datacapt.keep_writes"):
        return False
    return response.status.startswith(("4", "5"))


def keep_writes(request: Request) -> None:
    """Commit this request's writes even though the response will be an error status."""
    request.environ["datacapt.keep_writes"] = True


def register_engine(registry: Registry, settings: dict[str, Any]) -> None:
    """The engine and the session factory, where :func:`transaction_scope` finds them."""
    engine = make_engine(settings)
    registry["db.engine"] = engine
    registry["dbsession_factory"] = make_session_factory(engine)


def includeme(config: Configurator) -> None:
    register_engine(config.registry, config.get_settings())

    def dbsession(request: Request) -> Session:
        return get_tm_session(request.registry, request.tm, request)

    config.add_request_method(dbsession, "dbsession", reify=True)
