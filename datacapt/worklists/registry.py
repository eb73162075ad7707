"""The registry of worklists: what each capability asks someone to do next, counted on the
study's page and listed page by page.

A capability registers its worklists in its own ``includeme``::

    config.add_worklist(Worklist("forms-to-sign", _("Forms awaiting signature"), ...))

A worklist names the permission it serves, so a user sees the worklists of what they may do
(not of a role's name), counted over the sites where they hold that permission.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pyramid.config import Configurator
from pyramid.i18n import TranslationString
from pyramid.registry import Registry
from sqlalchemy import Select

from datacapt.models import Study
from datacapt.permissions import Permission

REGISTRY_KEY = "datacapt.worklists"


@dataclass(frozen=True)
class Scope:
    """What a worklist's rows are limited to: a study, the sites where the reader holds the
    worklist's permission, the reader's day and the study's published design (or None)."""

    study: Study
    site_ids: tuple[int, ...]
    today: date
    definition: Any = None


@dataclass(frozen=True)
class Worklist:
    """``statement`` selects the rows (ordered, with the columns ``template`` shows) of
    ``scope``; its cost must not grow with the number of rows (no per-row query)."""

    name: str  # the URL segment, unique
    title: TranslationString
    permission: Permission
    statement: Callable[[Scope], Select[Any]]
    template: str  # the table of a page of rows
    order: int = 100
    #: What the template shows of a page of rows, when it is more than the rows themselves.
    shown: Callable[[Scope, Sequence[Any]], Sequence[Any]] | None = None
    #: The unique column ``statement`` is ordered by, if there is one: a page past the first
    #: is then the rows after the key ending the page before (:func:`datacapt.pagination.
    #: paginate`), where an offset joined every row it skips to the page's columns.
    key: Any = None


@dataclass
class Worklists:
    """The application's worklists, in their order."""

    _by_name: dict[str, Worklist] = field(default_factory=dict)

    def add(self, worklist: Worklist) -> None:
        self._by_name[worklist.name] = worklist

    def get(self, name: str) -> Worklist | None:
        return self._by_name.get(name)

    def all(self) -> list[Worklist]:
        return sorted(self._by_name.values(), key=lambda worklist: (worklist.order, worklist.name))


def worklists_of(registry: Registry) -> Worklists:
    return registry[REGISTRY_KEY]


def add_worklist(config: Configurator, worklist: Worklist) -> None:
    """Register ``worklist`` (a conflict-checked action: two worklists of one name are a
    configuration error)."""
    worklists = worklists_of(config.registry)
    config.action(
        ("datacapt.worklist", worklist.name),
        lambda: worklists.add(worklist),
        introspectables=(),
    )
