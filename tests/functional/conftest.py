"""Fixtures of the functional tests that run the ``datacapt`` command."""

from __future__ import annotations

import io
import os

import pytest

from datacapt.cli import main
from tests.conftest import TESTING_INI, create_database


@pytest.fixture(scope="module")
def cli_database(tmp_path_factory):
    """A fresh database, migrated by ``datacapt db upgrade`` itself."""
    url = create_database("cli", tmp_path_factory.mktemp("cli"))
    os.environ["DATACAPT_DATABASE_URL"] = url
    try:
        assert main(["-c", str(TESTING_INI), "db", "upgrade"]) == 0
    finally:
        del os.environ["DATACAPT_DATABASE_URL"]
    return url


@pytest.fixture
def datacapt(cli_database, monkeypatch, capsys):
    """Run ``datacapt -c testing.ini ARGS`` in this process: (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATACAPT_DATABASE_URL", cli_database)

    def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["-c", str(TESTING_INI), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def sms_folder(registry, tmp_path):
    """The text messages the app sends, as files (the file backend of testing.ini)."""
    from datacapt import sms

    backend = sms.backend(registry)
    original = backend.directory
    backend.directory = tmp_path / "sms"
    yield backend.directory
    backend.directory = original
