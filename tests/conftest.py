"""Fixtures: a database built by ``alembic upgrade head``, a connection per test whose outer
transaction is rolled back at the end, and the real app (WebTest) bound to that connection.

Services come from the environment:
  DATACAPT_TEST_DATABASE_URL  PostgreSQL URL (a fresh database of that name is created);
                              unset: a SQLite file in a temporary folder.
  DATACAPT_TEST_REDIS_URL     Redis URL for the job tests (its database is flushed);
                              unset: jobs run in-process, as in the embedded default.
"""

from __future__ import annotations

import email
import email.policy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import webtest
from alembic.config import Config as AlembicConfig
from pyramid.paster import get_appsettings
from pyramid.registry import Registry
from pyramid.router import Router
from pyramid_mailer.interfaces import IMailer
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session

from alembic import command
from datacapt.config import ENVIRONMENT_OVERRIDES, configure
from datacapt.db import make_session_factory

ROOT = Path(__file__).resolve().parent.parent
TESTING_INI = ROOT / "testing.ini"
#: Files from other projects that tests read (their sources and licences: data/README.md).
REFERENCE_DATA = ROOT / "tests" / "data"
TEST_DATABASE_URL = os.environ.get("DATACAPT_TEST_DATABASE_URL", "").strip()
TEST_REDIS_URL = os.environ.get("DATACAPT_TEST_REDIS_URL", "").strip()

# The app reads DATACAPT_DATABASE_URL & co.; a developer's shell must not aim the suite at a
# real database.
for _variable in ENVIRONMENT_OVERRIDES:
    os.environ.pop(_variable, None)


def pytest_report_header() -> list[str]:
    database = make_url(TEST_DATABASE_URL).render_as_string() if TEST_DATABASE_URL else "sqlite"
    return [f"datacapt: database={database} redis={TEST_REDIS_URL or 'none (in-process jobs)'}"]


def pytest_sessionstart(session: pytest.Session) -> None:
    """A service named in the environment must answer: fail at once rather than skip later."""
    if TEST_REDIS_URL:
        from redis import Redis

        Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=5).ping()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI no test may be skipped: a skip there is reported as a failure."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run everything: {report.longrepr}"


#: Modules that stop and start a PostgreSQL server of their own, or test the PostgreSQL driver's
#: cursor (``datacapt.pgcursor``, ``datacapt.plain_rows``' failures): they run with the
#: PostgreSQL suite (CI's first run); SQLite has no server to restart and another driver.
POSTGRESQL_ONLY = {
    "test_database_restart.py",
    "test_pgcursor.py",
    "test_plain_rows_server.py",
    "test_prepared_statements.py",
}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """On SQLite, :data:`POSTGRESQL_ONLY` is not collected (never skipped)."""
    if collection_path.name in POSTGRESQL_ONLY and not TEST_DATABASE_URL.startswith("postgres"):
        return True
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``jobs_mode``: every test asking for it runs in-process, and through Redis when CI (or
    the developer) provides one. Modes absent here are not collected, never skipped."""
    if "jobs_mode" in metafunc.fixturenames:
        modes = ["in-process", "redis"] if TEST_REDIS_URL else ["in-process"]
        metafunc.parametrize("jobs_mode", modes)


# --- databases ------------------------------------------------------------------------------


def create_database(name: str, folder: Path) -> str:
    """A new, empty database for this run: on the test PostgreSQL server, or a SQLite file."""
    if not TEST_DATABASE_URL:
        return f"sqlite:///{folder / name}.sqlite"
    url = make_url(TEST_DATABASE_URL)
    database = f"{url.database}_{name}" if name != "main" else url.database
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return url.set(database=database).render_as_string(hide_password=False)


def migrate(url: str) -> None:
    """Build the schema the way production does: ``alembic upgrade head``."""
    from datacapt.db import make_engine

    engine = make_engine({"sqlalchemy.url": url})
    config = AlembicConfig(str(TESTING_INI), ini_section="alembic")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()


def app_settings(database_url: str, redis_url: str = "") -> dict[str, Any]:
    settings = dict(get_appsettings(str(TESTING_INI)))
    settings["sqlalchemy.url"] = database_url
    settings["datacapt.redis_url"] = redis_url
    return settings


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = create_database("main", tmp_path_factory.mktemp("db"))
    migrate(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> dict[str, Any]:
    return app_settings(database_url)


@pytest.fixture(scope="session")
def app(settings: dict[str, Any]) -> Router:
    return configure(settings).make_wsgi_app()


@pytest.fixture(scope="session")
def registry(app: Router) -> Registry:
    return app.registry


@pytest.fixture(scope="session")
def engine(registry: Registry) -> Engine:
    return registry["db.engine"]


@contextmanager
def bound_to(registry: Registry, connection: Connection) -> Iterator[None]:
    """Point a registry's sessions at ``connection``: a session's commit becomes the release of
    a savepoint inside the test's transaction, which the test rolls back at its end."""
    original = registry["dbsession_factory"]
    registry["dbsession_factory"] = make_session_factory(
        connection, join_transaction_mode="create_savepoint"
    )
    try:
        yield
    finally:
        registry["dbsession_factory"] = original


@pytest.fixture
def connection(engine: Engine, registry: Registry) -> Iterator[Connection]:
    with engine.connect() as connection:
        outer = connection.begin()
        with bound_to(registry, connection):
            yield connection
        outer.rollback()


@pytest.fixture
def dbsession(connection: Connection, registry: Registry) -> Iterator[Session]:
    """For arranging and checking data; ``flush()`` makes it visible to the app's requests.
    Like the app's sessions it carries the registry (the keys sealing personal data)."""
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", info={"registry": registry}
    )
    yield session
    session.close()


@pytest.fixture
def testapp(app: Router, connection: Connection) -> webtest.TestApp:
    return webtest.TestApp(
        app, extra_environ={"HTTP_HOST": "localhost:80", "REMOTE_ADDR": "10.0.0.1"}
    )


@pytest.fixture
def query_counter(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run while the test runs (to guard hot views against N+1 queries)."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield statements
    event.remove(engine, "before_cursor_execute", count)


@dataclass
class Mailbox:
    """The mail the app sent during one test (written to a folder of its own)."""

    folder: Path

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for path in sorted(self.folder.glob("*.eml"))
        ]


@pytest.fixture
def mailbox(registry: Registry, tmp_path: Path) -> Iterator[Mailbox]:
    mailer = registry.getUtility(IMailer).smtp_mailer
    original = mailer.directory
    mailer.directory = tmp_path / "mail"
    yield Mailbox(mailer.directory)
    mailer.directory = original


# --- hypothesis -----------------------------------------------------------------------------

# CI draws the same examples on every run (DESIGN.md §9); a developer's runs explore further;
# a nightly run (HYPOTHESIS_PROFILE=nightly) explores ten times as far, with a new seed each
# night that a failure prints (print_blob) so it can be replayed with @reproduce_failure.
hypothesis.settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis.settings.register_profile("dev", print_blob=True)
hypothesis.settings.register_profile(
    "nightly", max_examples=1000, deadline=None, database=None, print_blob=True
)
hypothesis.settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)
