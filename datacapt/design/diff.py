"""What changed between two versions of a design, element by element, matched by OID.

Shown before publishing (draft against the latest published version) and between any two
published versions, so an amendment's effect is read before sites see it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from typing import Any

from datacapt.ecrf.definition import Definition, Item, Static, text_in


class ChangeKind(enum.StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    MOVED = "moved"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    element: str  # "form", "section", "sub-section", "item", "static", "visit"
    oid: str
    label: str  # a question's label and a text block's content are Markdown
    form: str | None = None  # the form's name, for elements inside one
    fields: tuple[str, ...] = ()  # the attributes that changed
    name: str | None = None  # a question's variable name


@dataclass(frozen=True)
class _Element:
    element: str
    label: str
    form: str | None
    parent: str | None
    values: dict[str, Any]
    name: str | None = None


def _values(node: Any, skip: set[str]) -> dict[str, Any]:
    return {f.name: getattr(node, f.name) for f in fields(node) if f.name not in skip}


def _index(definition: Definition) -> dict[str, _Element]:
    language = definition.default_language
    found: dict[str, _Element] = {}
    for form in definition.forms:
        title = text_in(form.title, language, language)
        found[form.oid] = _Element(
            "form", title or form.name, None, None, _values(form, {"sections", "oid"})
        )
        for section in form.sections:
            found[section.oid] = _Element(
                "section",
                text_in(section.title, language, language),
                form.name,
                form.oid,
                _values(section, {"subsections", "oid"}),
            )
            for subsection in section.subsections:
                found[subsection.oid] = _Element(
                    "sub-section",
                    text_in(subsection.title, language, language),
                    form.name,
                    section.oid,
                    _values(subsection, {"blocks", "oid"}),
                )
                for block in subsection.blocks:
                    if isinstance(block, Item):
                        label, kind, name = (
                            text_in(block.label, language, language),
                            "item",
                            block.name,
                        )
                    else:
                        assert isinstance(block, Static)
                        label, kind, name = (
                            text_in(block.content, language, language),
                            "static",
                            None,
                        )
                    found[block.oid] = _Element(
                        kind, label, form.name, subsection.oid, _values(block, {"oid"}), name
                    )
    for visit in definition.schedule.visits:
        found[visit.oid] = _Element(
            "visit",
            text_in(visit.title, language, language) or visit.name,
            None,
            None,
            _values(visit, {"oid"}),
        )
    return found


def _change(kind: ChangeKind, oid: str, element: _Element, changed: tuple[str, ...] = ()) -> Change:
    return Change(kind, element.element, oid, element.label, element.form, changed, element.name)


def diff(old: Definition, new: Definition) -> list[Change]:
    """Changes from ``old`` to ``new``: removed elements first, then in ``new``'s order."""
    before, after = _index(old), _index(new)
    changes = [
        _change(ChangeKind.REMOVED, oid, element)
        for oid, element in before.items()
        if oid not in after
    ]
    for oid, element in after.items():
        previous = before.get(oid)
        if previous is None:
            changes.append(_change(ChangeKind.ADDED, oid, element))
            continue
        changed = tuple(
            name for name, value in element.values.items() if previous.values.get(name) != value
        )
        if changed:
            changes.append(_change(ChangeKind.CHANGED, oid, element, changed))
        elif previous.parent != element.parent:
            changes.append(_change(ChangeKind.MOVED, oid, element))
    for attribute in ("languages", "default_language"):
        if getattr(old, attribute) != getattr(new, attribute):
            changes.append(Change(ChangeKind.CHANGED, "design", "", attribute, None, (attribute,)))
    if old.schedule.unscheduled_allowed != new.schedule.unscheduled_allowed or (
        old.schedule.unscheduled_forms != new.schedule.unscheduled_forms
    ):
        changes.append(
            Change(ChangeKind.CHANGED, "schedule", "", "unscheduled visits", None, ("unscheduled",))
        )
    return changes
