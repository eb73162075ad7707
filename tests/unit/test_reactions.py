"""Capabilities react to each other through registered reactions, in a declared order, and
never by importing each other: the save publishes, queries and review react."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationConflictError

from datacapt.actor import Actor
from datacapt.reactions import Event, reactions_of

PACKAGE = Path(__file__).parents[2] / "datacapt"


@dataclass(frozen=True)
class Saved(Event):
    name: str


@dataclass(frozen=True)
class SavedTwice(Saved):
    pass


def _configured(*registrations: tuple[type[Event], int, str]) -> tuple[Configurator, list[str]]:
    heard: list[str] = []
    config = Configurator()
    config.include("datacapt.reactions")
    for event_type, order, label in registrations:
        config.add_reaction(event_type, lambda event, label=label: heard.append(label), order=order)
    config.commit()
    return config, heard


def test_reactions_run_in_their_declared_order_whatever_the_order_of_registration():
    config, heard = _configured((Saved, 20, "queries"), (Saved, 10, "review"))
    reactions_of(config.registry).publish(Saved(None, Actor.system("test"), "form"))
    assert heard == ["review", "queries"]


def test_a_reaction_to_a_type_hears_the_events_of_its_subtypes_in_one_order():
    config, heard = _configured((SavedTwice, 15, "specific"), (Saved, 10, "general"))
    reactions_of(config.registry).publish(SavedTwice(None, Actor.system("test"), "form"))
    assert heard == ["general", "specific"]
    heard.clear()
    reactions_of(config.registry).publish(Saved(None, Actor.system("test"), "form"))
    assert heard == ["general"]


def test_two_reactions_at_one_order_are_a_configuration_error():
    config = Configurator()
    config.include("datacapt.reactions")
    config.add_reaction(Saved, lambda event: None, order=10)
    config.add_reaction(Saved, lambda event: None, order=10)
    with pytest.raises(ConfigurationConflictError):
        config.commit()


def _imports(package: str) -> set[str]:
    found = set()
    for path in (PACKAGE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


def test_entry_knows_neither_queries_nor_review():
    assert not {
        name
        for name in _imports("entry")
        if name.startswith(("datacapt.queries", "datacapt.review"))
    }


def test_no_capability_imports_another_ones_views():
    capabilities = [p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()]
    for capability in capabilities:
        foreign_views = {
            name
            for name in _imports(capability)
            if name.startswith("datacapt.")
            and name.split(".")[1] != capability
            and name.split(".")[-1].endswith("views")
        }
        assert not foreign_views, capability
