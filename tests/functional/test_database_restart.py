"""Faults survived: PostgreSQL stopped under the running app, in the middle of a form's save,
and started again. The save fails cleanly (a 503 page naming its reference, nothing of it
written, the audit trail intact), pages fail the same way while the server is down, and once it
is back the app serves again without a restart, also when the server restarted while the app was
idle: the pool does not ping a connection before a request uses it (one round trip less per
request), the request that meets a dead one is run again on a fresh one (pyramid_retry), while
jobs and commands ping. The server is a private one of this test's own, never the shared one.

Collected with the PostgreSQL suite only (tests/conftest.py): SQLite has no server to restart."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from datacapt.audit import verify_all
from datacapt.config import configure
from datacapt.db import transaction_scope
from datacapt.models import AuditEvent, FormInstance, ItemValue, Subject
from tests.conftest import app_settings, migrate
from tests.factories import build_world, login

DEMOGRAPHICS = "/acme/demo/subjects/par01-0001/screening/demographics/"


class PrivatePostgres:
    """A PostgreSQL server of this test's own (``initdb`` into a temporary folder, trust
    authentication, a free port, its socket in that folder), stopped and started by the test.
    As root (CI) it runs as the ``postgres`` account, since PostgreSQL refuses to run as root:
    the folder is then that account's, under /tmp (pytest's own folders are root's alone), which
    also keeps the socket's path under its 107-byte limit."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
        found = found or [path for path in [shutil.which("initdb")] if path]
        assert found, "initdb is needed by the PostgreSQL tests (apt-get install postgresql)"
        self.bin = Path(found[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="datacapt-pg-", dir="/tmp"))
        self.data = self.folder / "data"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *arguments: str, check: bool = True) -> None:
        subprocess.run(
            [*self.as_owner, str(self.bin / program), *arguments],
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=None if check else subprocess.DEVNULL,
            timeout=60,
        )

    def create(self) -> None:
        options = ["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]
        self._run("initdb", "-D", str(self.data), *options)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        """As an operator restarting it does: sessions are ended, open transactions rolled
        back."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _version(path: str) -> int:
    """The major version in ``/usr/lib/postgresql/<major>/bin/initdb``."""
    return int(Path(path).parent.parent.name)


@pytest.fixture
def server() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.create()
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def app(server: PrivatePostgres) -> Iterator[Router]:
    migrate(server.url)
    app = configure(app_settings(server.url)).make_wsgi_app()
    yield app
    app.registry["db.engine"].dispose()


@contextmanager
def stopped_during_save(
    engine: Engine, server: PrivatePostgres, moment: str
) -> Iterator[list[str]]:
    """Stop the server while a save is in flight: right after its first write of an item value
    (its audit event is written already, in its open transaction), or as it commits."""
    stopped: list[str] = []

    def stop(*_args: Any) -> None:
        if not stopped:
            server.stop()
            stopped.append(moment)

    def after_write(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(("INSERT INTO item_value", "UPDATE item_value")):
            stop()

    listener = ("commit", stop) if moment == "commit" else ("after_cursor_execute", after_write)
    event.listen(engine, *listener)
    try:
        yield stopped
    finally:
        event.remove(engine, *listener)


def browser(app: Router, email: str) -> webtest.TestApp:
    signed_in = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:80"})
    assert login(signed_in, email).status_int == 303
    return signed_in


def entry(page: webtest.TestResponse, **values: str) -> webtest.Form:
    form = page.forms["entry-form"]
    for name, value in values.items():
        form[name] = value
    return form


def saved(app: Router) -> tuple[dict[str, str | None], int]:
    """What the demographics form holds, and how many audit events there are, read afresh."""
    with transaction_scope(app.registry) as dbsession:
        rows = dbsession.scalars(
            select(ItemValue)
            .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
            .join(Subject, Subject.id == FormInstance.subject_id)
            .where(Subject.label == "par01-0001", FormInstance.form == "demographics")
        )
        values = {row.item_oid: row.value for row in rows}
        return values, dbsession.scalar(select(func.count(AuditEvent.id)))


def assert_unavailable(response: webtest.TestResponse) -> None:
    """The 503 page: nothing saved, try again, the reference that is in the logs."""
    assert response.status_int == 503
    assert response.headers["Retry-After"] == "30"
    assert "The database is unavailable" in response.text
    assert "Nothing of this request was saved" in response.text
    assert response.headers["X-Request-Id"][:8] in response.text


@pytest.mark.parametrize("moment", ["write", "commit"])
def test_postgresql_stopped_mid_save_fails_cleanly_and_the_app_recovers(server, app, moment):
    with transaction_scope(app.registry) as dbsession:
        email = build_world(dbsession, app.registry).users["coordinator"].email
    coordinator = browser(app, email)
    assert entry(coordinator.get(DEMOGRAPHICS), height_cm="181").submit().status_int == 303
    before = saved(app)
    assert before[0]["I.HEIGHT_CM"] == "181"

    form = entry(coordinator.get(DEMOGRAPHICS), height_cm="182", weight_kg="80.5")
    with stopped_during_save(app.registry["db.engine"], server, moment) as stopped:
        assert_unavailable(form.submit(status="*"))
    assert stopped == [moment]

    # While it is down: pages and saves get the same page, the API a problem, the probe "down".
    assert_unavailable(coordinator.get(DEMOGRAPHICS, status="*"))
    assert_unavailable(form.submit(status="*"))
    french = coordinator.get(DEMOGRAPHICS, headers={"Accept-Language": "fr"}, status=503)
    assert "La base de données est indisponible" in french.text  # the browser's language
    api = webtest.TestApp(app).get(
        "/api/v1/studies/acme/demo/subjects", headers={"Api-Key": "k"}, status=503
    )
    assert api.content_type == "application/problem+json"
    assert api.json["title"] == "Service Unavailable"
    assert api.json["request_id"] == api.headers["X-Request-Id"][:8]
    assert coordinator.get("/readyz", status=503).json["status"] == "down"

    server.start()  # the same app, not restarted
    assert saved(app) == before  # none of the interrupted save, nothing audited of it
    page = coordinator.get(DEMOGRAPHICS)
    assert page.html.find(id="item-height_cm")["value"] == "181"
    assert entry(page, height_cm="182", weight_kg="80.5").submit().status_int == 303
    values, events = saved(app)
    assert (values["I.HEIGHT_CM"], values["I.WEIGHT_KG"], events > before[1]) == (
        "182",
        "80.5",
        True,
    )
    with transaction_scope(app.registry) as dbsession:
        reports = list(verify_all(dbsession))
    assert reports and all(report.intact for report in reports)


@dataclass
class Traffic:
    """What the app sent the server: statements, pings (pre-ping's ``SELECT 1`` goes past the
    statement events, straight to the driver), and statements that found their connection
    dead."""

    statements: list[str] = field(default_factory=list)
    pings: int = 0
    disconnects: int = 0


@pytest.fixture
def traffic(app: Router, monkeypatch: pytest.MonkeyPatch) -> Iterator[Traffic]:
    engine: Engine = app.registry["db.engine"]
    seen = Traffic()
    ping = engine.dialect.do_ping

    def counted_ping(dbapi_connection: Any) -> bool:
        seen.pings += 1
        return ping(dbapi_connection)

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        seen.statements.append(text)

    def error(context: Any) -> None:
        seen.disconnects += context.is_disconnect and context.statement is not None

    monkeypatch.setattr(engine.dialect, "do_ping", counted_ping)
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "handle_error", error)
    yield seen
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine, "handle_error", error)


def test_a_request_on_a_healthy_pool_sends_no_ping(server, app, traffic):
    with transaction_scope(app.registry) as dbsession:
        email = build_world(dbsession, app.registry).users["coordinator"].email
    coordinator = browser(app, email)
    assert coordinator.get(DEMOGRAPHICS).status_int == 200
    traffic.statements.clear()
    traffic.pings = 0
    assert coordinator.get(DEMOGRAPHICS).status_int == 200
    assert entry(coordinator.get(DEMOGRAPHICS), height_cm="175").submit().status_int == 303
    assert traffic.statements  # the listener sees the requests' statements
    assert (traffic.pings, [s for s in traffic.statements if s.strip() == "SELECT 1"]) == (0, [])


def test_postgresql_restarted_while_idle_the_next_request_succeeds(server, app, traffic):
    """The pool's connections all died with the server, and nothing tries them before use: the
    first request after the restart meets a dead one, which invalidates the whole pool, and is
    run again on a fresh connection, so the person sees its page. A job or a command (outside a
    request, not run again) tries its connection first."""
    with transaction_scope(app.registry) as dbsession:
        email = build_world(dbsession, app.registry).users["coordinator"].email
    coordinator = browser(app, email)
    assert coordinator.get(DEMOGRAPHICS).status_int == 200
    server.stop()
    server.start()
    assert coordinator.get(DEMOGRAPHICS).status_int == 200
    assert traffic.disconnects == 1  # the first attempt met the dead connection, not a ping
    assert entry(coordinator.get(DEMOGRAPHICS), height_cm="175").submit().status_int == 303

    traffic.pings = 0
    server.stop()
    server.start()
    assert saved(app)[0]["I.HEIGHT_CM"] == "175"  # as a job reads: pinged, so no failure
    assert traffic.pings >= 1
    assert traffic.disconnects == 1  # none more: the dead connection was found by the ping
