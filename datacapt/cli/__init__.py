"""The ``datacapt`` command: ``datacapt [-c FILE.ini] COMMAND ...``.

Every command reads the same INI file as the web app (and the same environment overrides), so an
administrator configures a deployment once.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable
from typing import NoReturn

from datacapt.cli.bootstrap import APP, CommandError, load_environment

#: The modules of ``datacapt.cli`` defining commands, in the order ``--help`` lists them.
MODULES = (
    "operations",
    "admin",
    "demo",
    "epro",
    "keys",
    "two_factor",
    "audit",
    "export",
    "export_runs",
    "imports",
    "api_keys",
    "notifications",
    "randomisation",
    "repository",
    "kits",
)
#: The module defining each command: a command imports its own module only, so a process
#: importing a design does not hold what the exports, the demo or the API keys import.
COMMANDS = {
    "db": "operations",
    "serve": "operations",
    "worker": "operations",
    "check": "operations",
    "tenant": "admin",
    "user": "admin",
    "study": "admin",
    "site": "admin",
    "role": "admin",
    "demo": "demo",
    "epro": "epro",
    "keys": "keys",
    "two-factor": "two_factor",
    "audit": "audit",
    "export": "export",
    "exports": "export_runs",
    "import": "imports",
    "api-key": "api_keys",
    "notifications": "notifications",
    "randomisation": "randomisation",
    "repository": "repository",
    "kits": "kits",
}


class OneLineParser(argparse.ArgumentParser):
    """Usage errors on one line, exit code 2, as for every other refusal."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(modules: Iterable[str] = MODULES) -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="datacapt",
        description="Run and administer Datacapt with the settings of one INI file.",
    )
    parser.add_argument(
        "-c",
        "--config",
        default="development.ini",
        metavar="FILE.ini",
        help="the configuration file (default: development.ini)",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser
    )
    for name in modules:
        importlib.import_module(f"datacapt.cli.{name}").add_parsers(commands)
    return parser


def command_modules(argv: list[str]) -> tuple[str, ...]:
    """The module of the command ``argv`` names; all of them for ``--help``, a misspelt
    command or options argparse would read otherwise, so its answer is the same as ever."""
    words = iter(argv)
    for word in words:
        if word in ("-c", "--config"):
            next(words, None)
        elif word.startswith("-"):
            if not word.startswith(("-c", "--config=")):
                return MODULES
        else:
            return (COMMANDS[word],) if word in COMMANDS else MODULES
    return MODULES


def main(argv: list[str] | None = None) -> int:
    args = build_parser(command_modules(sys.argv[1:] if argv is None else argv)).parse_args(argv)
    try:
        needs = getattr(args, "environment", APP)
        if not needs:
            return args.handler(None, args)
        env = load_environment(args.config, needs)
        try:
            return args.handler(env, args)
        finally:
            env.registry["db.engine"].dispose()
    except CommandError as error:
        print(f"datacapt: error: {error}", file=sys.stderr)
        return 2
