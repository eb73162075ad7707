"""Loading an INI file for a command: settings, logging, and the same registry the app builds.

A command that needs only a database session and the models (``environment="database"``)
gets a registry holding the settings, the engine and the session factory, without the web
app: building it loads every capability, the templates and the JSON API's OpenAPI checker,
most of the memory of a process that imports a large design (issue 15)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyramid.paster import get_appsettings, setup_logging
from pyramid.registry import Registry

from datacapt.config import ConfigurationError, configure, prepare_settings
from datacapt.db import register_engine
from datacapt.logs import configure_structlog
from datacapt.reactions import REGISTRY_KEY, Event, Reactions

#: ``set_defaults(environment=...)`` of a command: the whole app (the default), only the
#: database, or nothing (``False``: the command reads no INI file).
APP, DATABASE = "app", "database"


class CommandError(Exception):
    """A command cannot do what was asked; the message is printed on one line, exit code 2."""


@dataclass(frozen=True)
class Environment:
    config_path: Path
    settings: dict[str, Any]
    registry: Registry


class NoReactions(Reactions):
    """The reactions of a registry built without the capabilities: an event published there
    would reach none of the reactions the app registers, so it stops the command instead."""

    def publish(self, event: Event) -> None:
        raise RuntimeError(
            f"{type(event).__name__} published by a command run without the app: "
            "give the command the whole app (environment='app')"
        )


def database_registry(settings: dict[str, Any]) -> Registry:
    """The registry a command of ``environment="database"`` works with: the checked settings,
    the engine and the session factory, exactly as the app's, and no reactions."""
    merged, app_settings = prepare_settings(settings)
    configure_structlog()
    registry = Registry("datacapt")
    registry.settings = merged
    registry["datacapt.settings"] = app_settings
    registry[REGISTRY_KEY] = NoReactions()
    register_engine(registry, merged)
    return registry


def load_environment(config_path: str, needs: str = APP) -> Environment:
    path = Path(config_path).resolve()
    if not path.is_file():
        raise CommandError(f"configuration file not found: {config_path}")
    setup_logging(str(path))
    settings = dict(get_appsettings(str(path)))
    try:
        registry = (
            database_registry(settings)
            if needs == DATABASE
            else configure(settings).make_wsgi_app().registry
        )
    except ConfigurationError as error:
        raise CommandError(str(error)) from None
    return Environment(config_path=path, settings=settings, registry=registry)


def action_group(commands: Any, name: str, help: str) -> Any:
    """``datacapt NAME ACTION ...``: a command whose sub-commands are actions on one thing."""
    return commands.add_parser(name, help=help).add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
