"""REDCap's action tags, read from an item's annotation and applied by the form.

An annotation is free text in which tags stand: ``@HIDDEN @DEFAULT='1' @CHARLIMIT=5``. Those
that have a meaning on a Datacapt form are applied (:data:`APPLIED`); every other one is kept in
the annotation as written and listed where a design is imported. ``@IF(condition, tags, tags)``
chooses between two sets of tags by a condition in the expression language.

Reading an annotation depends on its text alone: :func:`action_tags` is cached, so a form page
never reads the same annotation twice in a process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Literal

#: Tags the form applies; the ``-FORM`` variants are the same on a data entry form.
APPLIED = frozenset(
    {
        "@HIDDEN",
        "@HIDDEN-FORM",
        "@READONLY",
        "@READONLY-FORM",
        "@DEFAULT",
        "@SETVALUE",
        "@NOW",
        "@TODAY",
        "@CALCTEXT",
        "@CALCDATE",
        "@CHARLIMIT",
        "@IF",
        "@FORCE-MINMAX",  # read as a hard range when the design is imported
    }
)

#: A piped reference in a tag's text: @DEFAULT='[visit][weight]'.
PIPE = re.compile(r"\[[^\[\]]*\](?:\[[^\[\]]*\]){0,2}")
TAG = re.compile(r"(?<![\w@])@([A-Z][A-Z0-9_]*(?:-[A-Z0-9_]+)*)")
BARE_VALUE = re.compile(r"[^\s]+")
UNITS = ("y", "M", "d", "h", "m", "s")


@dataclass(frozen=True)
class Conditional:
    """``@IF(condition, then, otherwise)``: the tags of one branch apply."""

    condition: str
    then: Tags
    otherwise: Tags


@dataclass(frozen=True)
class Tags:
    """What an annotation's tags ask of the item; ``kept`` names the tags not applied."""

    hidden: bool = False
    readonly: bool = False
    default: str | None = None  # text, with [field] piped in
    setvalue: str | None = None  # the same, set whenever the form is opened
    now: Literal["now", "today"] | None = None
    calctext: str | None = None  # an expression
    calcdate: tuple[str, str, str] | None = None  # expressions: the date, the offset; the unit
    charlimit: int | None = None
    kept: tuple[str, ...] = ()
    conditions: tuple[Conditional, ...] = ()
    problems: tuple[str, ...] = ()  # tags written so that they cannot be applied

    @property
    def computed(self) -> bool:
        """Whether the item's value is computed by the form, never typed."""
        return self.calctext is not None or self.calcdate is not None

    def expressions(self) -> list[str]:
        """Every expression the tags hold (a piped reference is one), for the checks at
        publication and to know which values a form reads."""
        found = [condition.condition for condition in self.conditions]
        for text in (self.default, self.setvalue):
            found += PIPE.findall(text or "")
        found += [self.calctext] if self.calctext else []
        found += list(self.calcdate[:2]) if self.calcdate else []
        for condition in self.conditions:
            found += condition.then.expressions() + condition.otherwise.expressions()
        return found

    def resolved(self, holds: Callable[[str], bool]) -> Tags:
        """The tags that apply, each ``@IF`` decided by ``holds`` (later tags win)."""
        tags = replace(self, conditions=())
        for condition in self.conditions:
            branch = condition.then if holds(condition.condition) else condition.otherwise
            tags = _merged(tags, branch.resolved(holds))
        return tags


def _merged(base: Tags, more: Tags) -> Tags:
    changes = {}
    for item in fields(Tags):
        value = getattr(more, item.name)
        if item.name in ("kept", "conditions", "problems"):
            changes[item.name] = getattr(base, item.name) + value
        elif value:
            changes[item.name] = value
    return replace(base, **changes)


NONE = Tags()


@lru_cache(maxsize=8192)
def action_tags(annotation: str | None) -> Tags:
    """The tags of an annotation (cached: the text is all they depend on)."""
    if not annotation or "@" not in annotation:
        return NONE
    found = _Reader(annotation).read()
    return NONE if found == NONE else found


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.values: dict[str, object] = {}
        self.kept: list[str] = []
        self.conditions: list[Conditional] = []
        self.problems: list[str] = []

    def read(self) -> Tags:
        position = 0
        while (found := TAG.search(self.text, position)) is not None:
            name = f"@{found.group(1)}"
            position = self._tag(name, found.end())
        return Tags(
            **self.values,  # type: ignore[arg-type]
            kept=tuple(dict.fromkeys(self.kept)),
            conditions=tuple(self.conditions),
            problems=tuple(self.problems),
        )

    def _tag(self, name: str, end: int) -> int:
        """Read one tag and its argument; the offset after them."""
        if name in ("@HIDDEN", "@HIDDEN-FORM"):
            self.values["hidden"] = True
        elif name in ("@READONLY", "@READONLY-FORM"):
            self.values["readonly"] = True
        elif name in ("@NOW", "@TODAY"):
            self.values["now"] = name[1:].lower()
        elif name in ("@DEFAULT", "@SETVALUE", "@CHARLIMIT"):
            value, end = self._value(end)
            self._valued(name, value)
        elif name in ("@CALCTEXT", "@CALCDATE", "@IF"):
            inner, end = self._parenthesised(end)
            self._called(name, inner)
        elif name != "@FORCE-MINMAX":
            self.kept.append(name)
        return end

    def _valued(self, name: str, value: str | None) -> None:
        if value is None:
            self.problems.append(f"{name} has no value: write {name}='…'")
        elif name == "@CHARLIMIT":
            if value.isdigit() and int(value) > 0:
                self.values["charlimit"] = int(value)
            else:
                self.problems.append(f"@CHARLIMIT={value} is not a number of characters")
        else:
            self.values[name[1:].lower()] = value

    def _called(self, name: str, inner: str | None) -> None:
        if inner is None:
            self.problems.append(f"{name} has no closed parentheses: write {name}(…)")
            return
        if name == "@CALCTEXT":
            self.values["calctext"] = inner.strip()
            return
        parts = split_arguments(inner)
        if name == "@CALCDATE":
            unit = parts[2].strip().strip("'\"") if len(parts) == 3 else ""
            if unit not in UNITS:
                self.problems.append(
                    "@CALCDATE takes a date, an offset and a unit (y, M, d, h, m, s): "
                    f"@CALCDATE({inner})"
                )
                return
            self.values["calcdate"] = (parts[0].strip(), parts[1].strip(), unit)
            return
        if len(parts) != 3:
            self.problems.append(f"@IF takes a condition and two sets of tags: @IF({inner})")
            return
        condition, then, otherwise = parts
        self.conditions.append(
            Conditional(condition.strip(), action_tags(then), action_tags(otherwise))
        )

    def _value(self, end: int) -> tuple[str | None, int]:
        """``='text'``, ``="text"`` or ``=text`` after a tag."""
        match = re.compile(r"\s*=\s*").match(self.text, end)
        if match is None:
            return None, end
        start = match.end()
        quote = self.text[start : start + 1]
        if quote in ("'", '"'):
            close = self.text.find(quote, start + 1)
            if close < 0:
                return None, len(self.text)
            return self.text[start + 1 : close], close + 1
        bare = BARE_VALUE.match(self.text, start)
        return (bare.group(), bare.end()) if bare else (None, start)

    def _parenthesised(self, end: int) -> tuple[str | None, int]:
        """The text between a tag's parentheses, which may nest and hold quoted text."""
        start = end
        while start < len(self.text) and self.text[start].isspace():
            start += 1
        if self.text[start : start + 1] != "(":
            return None, end
        depth, quote = 0, ""
        for index in range(start, len(self.text)):
            character = self.text[index]
            if quote:
                quote = "" if character == quote else quote
            elif character in "'\"":
                quote = character
            elif character == "(":
                depth += 1
            elif character == ")":
                depth -= 1
                if depth == 0:
                    return self.text[start + 1 : index], index + 1
        return None, len(self.text)


def split_arguments(text: str) -> list[str]:
    """``text`` split at its commas outside parentheses, brackets and quotes."""
    parts, depth, quote, current = [], 0, "", []
    for character in text:
        if quote:
            quote = "" if character == quote else quote
        elif character in "'\"":
            quote = character
        elif character in "([":
            depth += 1
        elif character in ")]":
            depth -= 1
        elif character == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(character)
    parts.append("".join(current))
    return parts
