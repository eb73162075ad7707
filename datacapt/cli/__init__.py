"""The ``datacapt`` command: ``datacapt [-c FILE.ini] COMMAND ...``.

Every command reads the same INI file as the web app (and the same environment overrides), so an
administrator configures a deployment once.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from datacapt.cli import (
    admin,
    api_keys,
    audit,
    demo,
    epro,
    export,
    export_runs,
    imports,
    keys,
    kits,
    notifications,
    operations,
    randomisation,
    repository,
    two_factor,
)
from datacapt.cli.bootstrap import CommandError, load_environment


class OneLineParser(argparse.ArgumentParser):
    """Usage errors on one line, exit code 2, as for every other refusal."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
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
    operations.add_parsers(commands)
    admin.add_parsers(commands)
    demo.add_parsers(commands)
    epro.add_parsers(commands)
    keys.add_parsers(commands)
    two_factor.add_parsers(commands)
    audit.add_parsers(commands)
    export.add_parsers(commands)
    export_runs.add_parsers(commands)
    imports.add_parsers(commands)
    api_keys.add_parsers(commands)
    notifications.add_parsers(commands)
    randomisation.add_parsers(commands)
    repository.add_parsers(commands)
    kits.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if not getattr(args, "environment", True):
            return args.handler(None, args)
        env = load_environment(args.config)
        try:
            return args.handler(env, args)
        finally:
            env.registry["db.engine"].dispose()
    except CommandError as error:
        print(f"datacapt: error: {error}", file=sys.stderr)
        return 2
