"""Panels other capabilities add to a page they do not own (the subject's page), without the
page's capability knowing them: each registers ``config.add_subject_panel(...)`` in its own
``includeme``, naming a view on the subject (``@@bank-details``) that the page loads with htmx
(a plain link without JavaScript). The page lists the panels in ascending ``order``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyramid.config import Configurator
from pyramid.registry import Registry

REGISTRY_KEY = "datacapt.subject_panels"


@dataclass(frozen=True)
class Panel:
    view: str  # the view's name on the subject: "bank-details"
    label: Any  # a TranslationString: the link's text without JavaScript
    order: int


def subject_panels(registry: Registry) -> list[Panel]:
    return sorted(registry.get(REGISTRY_KEY, []), key=lambda panel: panel.order)


def add_subject_panel(config: Configurator, view: str, label: Any, *, order: int) -> None:
    panels = config.registry.setdefault(REGISTRY_KEY, [])
    config.action(
        ("datacapt.subject_panel", order),
        lambda: panels.append(Panel(view, label, order)),
        introspectables=(),
    )


def includeme(config: Configurator) -> None:
    config.registry[REGISTRY_KEY] = []
    config.add_directive("add_subject_panel", add_subject_panel)
