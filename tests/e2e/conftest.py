"""A live server on the demo data and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from webtest.http import StopableWSGIServer

from datacapt.cli.bootstrap import Environment
from datacapt.cli.demo import load_demo
from datacapt.config import configure
from datacapt.db import transaction_scope
from tests.conftest import TESTING_INI, Mailbox, app_settings, create_database, migrate

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def mailed_link(mailbox: Mailbox, address: str, pattern: str, timeout: float = 10.0) -> str:
    """The first link matching ``pattern`` in a mail to ``address`` (waiting for the job)."""
    link = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in mailbox.messages():
            found = link.search(message.get_content()) if message["To"] == address else None
            if found:
                return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address} within {timeout} s")


@pytest.fixture(scope="session")
def live_mailbox(tmp_path_factory) -> Mailbox:
    """The mail the live server sent."""
    return Mailbox(tmp_path_factory.mktemp("live-mail"))


@pytest.fixture(scope="session")
def live_database(tmp_path_factory) -> str:
    """The live server's database (for a test to play the worker's part in it)."""
    url = create_database("live", tmp_path_factory.mktemp("live"))
    migrate(url)
    return url


@pytest.fixture(scope="session")
def live_url(live_database: str, live_mailbox: Mailbox) -> Iterator[str]:
    """The app on its own committed database with the demo loaded, on 127.0.0.1."""
    settings = app_settings(live_database)
    settings["mail.top_level_directory"] = str(live_mailbox.folder)
    app = configure(settings).make_wsgi_app()
    with transaction_scope(app.registry) as dbsession:
        load_demo(dbsession, Environment(TESTING_INI, settings, app.registry))
    server = StopableWSGIServer.create(app, host="127.0.0.1", threads=4)
    assert server.wait(), "the live server did not start"
    yield server.application_url.rstrip("/")
    server.shutdown()
    app.registry["db.engine"].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (make test does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile; console errors (a CSP refusal, a script error) fail the test."""
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Paris")
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "status of 4" not in message.text:
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"browser errors: {errors}"
