"""The production server: the application loaded and warmed once, its workers forked from it
(``datacapt.serving``, ``gunicorn.conf.py``)."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pyramid.router import Router
from pyramid_jinja2 import IJinja2Environment

from datacapt.mail import render_mail
from datacapt.serving import warm, web_templates

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def warmed(app: Router) -> Iterator[Any]:
    """The test app warmed as the master warms it, with a mail environment made afterwards."""
    mail_environment = app.registry.pop("mail.environment", None)
    try:
        yield warm(app)
    finally:
        gc.unfreeze()
        if mail_environment is not None:
            app.registry["mail.environment"] = mail_environment


def test_warming_compiles_every_web_template_once_for_good(app: Router, warmed: int):
    environment = app.registry.getUtility(IJinja2Environment, name=".jinja2")
    assert warmed == len(web_templates()) > 150
    compiled: list[str] = []
    original = environment.compile
    environment.compile = lambda *args, **kwargs: (
        compiled.append(args[1]) or original(*args, **kwargs)
    )
    try:
        for name in web_templates():
            environment.get_template(name)
    finally:
        del environment.compile
    assert compiled == []  # all still held: none evicted, none compiled again


def test_mail_and_pdf_templates_are_left_to_their_own_environments():
    names = web_templates()
    assert "entry/form.jinja2" in names
    assert not [name for name in names if name.startswith(("mail/", "exports/pdf/"))]
    assert "consent/pdf.jinja2" not in names


def test_a_mail_rendered_after_warming_is_not_html_escaped(app: Router, warmed: int):
    body = render_mail(
        app.registry,
        "mail/export_finished.jinja2",
        "en",
        "http://localhost",
        ready=True,
        number=3,
        export_format="CSV",
        study=SimpleNamespace(code="A&B<1>"),
        days=7,
        link="http://localhost/exports?a=1&b=2",
    )
    assert "A&B<1>" in body and "?a=1&b=2" in body


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback only
        return answer.status, answer.read().decode()


def test_gunicorn_forks_warm_workers_that_serve_from_their_own_connections(database_url: str):
    """The production command, as documented: two workers forked from the warmed master each
    answer pages and reach the database."""
    port = _free_port()
    environment = os.environ | {
        "DATACAPT_DATABASE_URL": database_url,
        "DATACAPT_REDIS_URL": "",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--paste",
            str(ROOT / "testing.ini"),
            "-c",
            str(ROOT / "gunicorn.conf.py"),
        ],
        cwd=ROOT,
        env=environment,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, "gunicorn exited"
            try:
                _get(f"{base}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not answer within 120 s"
                time.sleep(0.3)
        for _ in range(20):  # the two workers take turns
            status, body = _get(f"{base}/readyz")
            assert status == 200 and json.loads(body)["checks"]["database"] == "ok"
        status, body = _get(f"{base}/login")
        assert status == 200 and 'id="login-form"' in body
    finally:
        server.terminate()
        server.wait(timeout=30)
