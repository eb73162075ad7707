"""Loading an INI file for a command: settings, logging, and the same registry the app builds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyramid.paster import get_appsettings, setup_logging
from pyramid.registry import Registry

from datacapt.config import ConfigurationError, configure


class CommandError(Exception):
    """A command cannot do what was asked; the message is printed on one line, exit code 2."""


@dataclass(frozen=True)
class Environment:
    config_path: Path
    settings: dict[str, Any]
    registry: Registry


def load_environment(config_path: str) -> Environment:
    path = Path(config_path).resolve()
    if not path.is_file():
        raise CommandError(f"configuration file not found: {config_path}")
    setup_logging(str(path))
    settings = dict(get_appsettings(str(path)))
    try:
        registry = configure(settings).make_wsgi_app().registry
    except ConfigurationError as error:
        raise CommandError(str(error)) from None
    return Environment(config_path=path, settings=settings, registry=registry)


def action_group(commands: Any, name: str, help: str) -> Any:
    """``datacapt NAME ACTION ...``: a command whose sub-commands are actions on one thing."""
    return commands.add_parser(name, help=help).add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
