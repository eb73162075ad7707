"""What a ``datacapt`` command loads: its own module, and for the design commands no web app
(issue 15: a large design's import must fit in 200 MB, most of it once the process itself)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from datacapt.cli import COMMANDS, MODULES, build_parser, command_modules
from tests.conftest import REFERENCE_DATA, TESTING_INI

#: Loaded by the web app (its views, the JSON API's OpenAPI checker, the request transaction)
#: or by other commands (migrations, spreadsheets, Markdown), never by a design import.
NOT_FOR_AN_IMPORT = (
    "alembic",
    "markdown_it",
    "openapi_core",
    "pyramid_openapi3",
    "pyramid_tm",
    "xlsxwriter",
    "datacapt.api",
)


def commands_of(parser) -> set[str]:
    (subparsers,) = (action for action in parser._actions if action.dest == "command")
    return set(subparsers.choices)


@pytest.mark.parametrize("module", MODULES)
def test_each_command_is_found_in_the_module_that_defines_it(module):
    assert commands_of(build_parser((module,))) == {
        word for word, defined_in in COMMANDS.items() if defined_in == module
    }


def test_every_command_is_listed():
    assert commands_of(build_parser()) == set(COMMANDS)


@pytest.mark.parametrize(
    ("argv", "modules"),
    [
        (["-c", "x.ini", "study", "import", "--format", "odm"], ("admin",)),
        (["--config=x.ini", "db", "upgrade"], ("operations",)),
        (["-cx.ini", "api-key", "list"], ("api_keys",)),
        (["--config", "study", "tenant", "create"], ("admin",)),
        (["stduy", "import"], MODULES),
        (["--help"], MODULES),
        (["-c", "x.ini", "-h"], MODULES),
        ([], MODULES),
    ],
)
def test_the_command_word_chooses_the_module(argv, modules):
    assert command_modules(argv) == modules


def test_a_design_import_runs_without_the_web_app(datacapt, cli_database, tmp_path):
    assert datacapt("tenant", "create", "outbreak", "Outbreak network")[0] == 0
    assert datacapt("study", "create", "outbreak", "hanta", "Hantavirus CRF")[0] == 0
    loaded = tmp_path / "modules.json"
    script = (
        "import json, sys\n"
        "from datacapt.cli import main\n"
        "code = main(sys.argv[2:])\n"
        "open(sys.argv[1], 'w').write(json.dumps(sorted(sys.modules)))\n"
        "sys.exit(code)\n"
    )
    dictionary = REFERENCE_DATA / "redcap" / "isaric-ccpuk-hantavirus-dictionary.csv"
    command = ["study", "import", "outbreak", "hanta", "--format", "redcap", str(dictionary)]
    result = subprocess.run(
        [sys.executable, "-c", script, str(loaded), "-c", str(TESTING_INI), *command],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DATACAPT_DATABASE_URL": cli_database},
    )
    assert result.returncode == 0, result.stderr
    assert "10 forms, 585 items" in result.stdout
    modules = json.loads(loaded.read_text())
    assert "datacapt.design.interchange.redcap_reader" in modules
    unwanted = [
        name
        for name in modules
        if any(name == banned or name.startswith(f"{banned}.") for banned in NOT_FOR_AN_IMPORT)
        or (name.startswith("datacapt.") and name.endswith(".views"))
    ]
    assert unwanted == []


def test_an_event_published_without_the_app_stops_the_command(cli_database, monkeypatch):
    from datacapt.actor import Actor
    from datacapt.cli.bootstrap import DATABASE, load_environment
    from datacapt.db import transaction_scope
    from datacapt.reactions import Event, publish

    monkeypatch.setenv("DATACAPT_DATABASE_URL", cli_database)
    env = load_environment(str(TESTING_INI), DATABASE)
    try:
        with (
            pytest.raises(RuntimeError, match="run without the app"),
            transaction_scope(env.registry) as dbsession,
        ):
            publish(Event(dbsession, Actor.system("test")))
    finally:
        env.registry["db.engine"].dispose()
