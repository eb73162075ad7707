"""One capability reacting to another's act without importing it.

The acting capability publishes a typed event (a frozen dataclass deriving from :class:`Event`);
the reacting one registers a reaction to that type in its own ``includeme``::

    config.add_reaction(FormSaved, reset_sdv, order=10)

Reactions run at once, in the publisher's transaction, in ascending ``order`` (then in the
order they were registered), so a reaction's writes commit or roll back with the act itself.
Kotti's object events and Pyramid's ``config.add_subscriber`` are the models; the explicit order
is what they lack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pyramid.config import Configurator
from pyramid.registry import Registry
from sqlalchemy.orm import Session

from datacapt.actor import Actor

REGISTRY_KEY = "datacapt.reactions"


@dataclass(frozen=True)
class Event:
    """Something a capability did, in the transaction of ``dbsession``, as ``actor``."""

    dbsession: Session
    actor: Actor


E = TypeVar("E", bound=Event)
Reaction = Callable[[Any], None]


@dataclass
class Reactions:
    """The reactions of an application, by event type."""

    _by_type: dict[type[Event], list[tuple[int, int, Reaction]]] = field(default_factory=dict)

    def add(self, event_type: type[E], reaction: Callable[[E], None], order: int) -> None:
        registered = self._by_type.setdefault(event_type, [])
        registered.append((order, len(registered), reaction))
        registered.sort(key=lambda entry: entry[:2])

    def publish(self, event: Event) -> None:
        """Run the reactions to ``event``'s type (and to the types it derives from), in order."""
        found = [
            entry
            for kind in type(event).__mro__
            if kind in self._by_type
            for entry in self._by_type[kind]
        ]
        for _order, _rank, reaction in sorted(found, key=lambda entry: entry[:2]):
            reaction(event)


def reactions_of(registry: Registry) -> Reactions:
    return registry[REGISTRY_KEY]


def publish(event: Event) -> None:
    """Run the reactions to ``event`` of the application its session belongs to: for services
    that hold a session rather than the registry (none run for a session of no application)."""
    registry = event.dbsession.info.get("registry")
    if registry is not None and REGISTRY_KEY in registry:
        reactions_of(registry).publish(event)


def add_reaction(
    config: Configurator, event_type: type[E], reaction: Callable[[E], None], *, order: int
) -> None:
    """Register ``reaction`` to events of ``event_type`` (a conflict-checked config action:
    two reactions to one type at one order are a configuration error, not a silent tie)."""
    reactions = reactions_of(config.registry)
    config.action(
        ("datacapt.reaction", event_type, order),
        lambda: reactions.add(event_type, reaction, order),
        introspectables=(),
    )


def includeme(config: Configurator) -> None:
    config.registry[REGISTRY_KEY] = Reactions()
    config.add_directive("add_reaction", add_reaction)
