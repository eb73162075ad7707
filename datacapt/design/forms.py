"""Reading what the designer's forms post into definition elements, with an error per field.

Input names: texts in each language are ``NAME-LANG`` (``label-fr``); choices are lines
``code, label`` (as in a REDCap dictionary) in ``choices-LANG``; edit checks are rows
``check-N-FIELD``; aliases are lines ``CONTEXT: name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyramid.i18n import TranslationString
from webob.multidict import MultiDict

from datacapt.design.editing import named_oid, new_oid
from datacapt.ecrf.checks import ANCHOR_PROBLEMS, item_problems, name_taken
from datacapt.ecrf.definition import (
    NAME_PATTERN,
    Alias,
    Choice,
    Definition,
    EditCheck,
    Item,
    ItemType,
    Range,
    Schedule,
    Severity,
    Slider,
    Static,
    Text,
    Validation,
    Visit,
)
from datacapt.ecrf.timing import anchor_problem
from datacapt.i18n import _

MAX_TEXT = 4000
MAX_EXPRESSION = 4000
DATE_FORMATS = ("dmy", "mdy", "ymd")
WIDGETS = ("radio", "dropdown", "autocomplete")
MAX_CHECKS = 50


@dataclass
class Parsed:
    value: Any
    errors: dict[str, TranslationString] = field(default_factory=dict)


class Reader:
    """Typed access to a POST, collecting one error per input name."""

    def __init__(self, post: MultiDict, languages: list[str]) -> None:
        self.post = post
        self.languages = languages
        self.errors: dict[str, TranslationString] = {}

    def text(self, name: str, limit: int = MAX_TEXT) -> str:
        value = self.post.get(name, "").strip()
        if len(value) > limit:
            self.errors[name] = _("Use at most ${count} characters.", mapping={"count": limit})
            return value[:limit]
        return value

    def optional(self, name: str, limit: int = MAX_TEXT) -> str | None:
        return self.text(name, limit) or None

    def texts(self, name: str, limit: int = MAX_TEXT) -> Text:
        found = {}
        for language in self.languages:
            value = self.text(f"{name}-{language}", limit)
            if value:
                found[language] = value
        return found

    def flag(self, name: str) -> bool:
        return self.post.get(name) in ("1", "on", "true")

    def number(self, name: str, *, low: int = -(10**9), high: int = 10**9) -> int | None:
        raw = self.text(name, 12)
        if not raw:
            return None
        try:
            value = int(raw)
        except ValueError:
            self.errors[name] = _("Enter a whole number.")
            return None
        if not low <= value <= high:
            self.errors[name] = _(
                "Enter a number between ${low} and ${high}.", mapping={"low": low, "high": high}
            )
            return None
        return value

    def choice(self, name: str, options: tuple[str, ...] | list[str]) -> str | None:
        raw = self.text(name, 40)
        if raw and raw not in options:
            self.errors[name] = _("Choose one of the options offered.")
            return None
        return raw or None

    def name(self, field_name: str) -> str:
        value = self.text(field_name, 100)
        if not NAME_PATTERN.match(value):
            self.errors[field_name] = _(
                "Use a lowercase letter, then lowercase letters, digits or underscores."
            )
        return value


def _choices(reader: Reader, default_language: str) -> list[Choice]:
    choices: dict[str, Choice] = {}
    for language in [
        default_language,
        *[lang for lang in reader.languages if lang != default_language],
    ]:
        name = f"choices-{language}"
        for number, line in enumerate(reader.text(name, 100_000).splitlines(), start=1):
            if not line.strip():
                continue
            code, comma, label = line.partition(",")
            code, label = code.strip(), label.strip()
            if not comma or not code or not label:
                reader.errors[name] = _(
                    'Line ${line}: write "code, label".', mapping={"line": number}
                )
                continue
            if language == default_language:
                if code in choices:
                    reader.errors[name] = _(
                        "Line ${line}: the code ${code} is used twice.",
                        mapping={"line": number, "code": code},
                    )
                choices.setdefault(code, Choice(code=code, label={}))
            elif code not in choices:
                reader.errors[name] = _(
                    "Line ${line}: the code ${code} is not among the default language's choices.",
                    mapping={"line": number, "code": code},
                )
                continue
            choices[code].label[language] = label
    return list(choices.values())


def _exclusive(reader: Reader, choices: list[Choice]) -> None:
    """Mark the options the designer lists as chosen alone ("None of these")."""
    codes = {code.strip() for code in reader.text("exclusive", 1000).split(",") if code.strip()}
    unknown = codes - {choice.code for choice in choices}
    if unknown:
        reader.errors["exclusive"] = _(
            "These codes are not among the choices: ${codes}.",
            mapping={"codes": ", ".join(sorted(unknown))},
        )
    for choice in choices:
        choice.exclusive = choice.code in codes


def _range(reader: Reader, prefix: str) -> Range | None:
    low, high = reader.optional(f"{prefix}-min", 40), reader.optional(f"{prefix}-max", 40)
    return Range(low, high) if low is not None or high is not None else None


def _checks(reader: Reader, definition: Definition, existing: list[EditCheck]) -> list[EditCheck]:
    by_oid = {check.oid: check for check in existing}
    found: list[EditCheck] = []
    for index in range(min(reader.number("check-count", low=0, high=MAX_CHECKS) or 0, MAX_CHECKS)):
        prefix = f"check-{index}"
        condition = reader.text(f"{prefix}-condition", MAX_EXPRESSION)
        if reader.flag(f"{prefix}-delete") or not condition:
            continue
        oid = reader.text(f"{prefix}-oid", 40)
        taken = {c.oid for c in found}
        if oid not in by_oid or oid in taken:
            oid = _fresh_oid(definition, taken)
        check = EditCheck(
            oid=oid,
            condition=condition,
            message=reader.texts(f"{prefix}-message"),
            severity=Severity(reader.choice(f"{prefix}-severity", list(Severity)) or "warning"),
        )
        if not check.message.get(definition.default_language):
            reader.errors[f"{prefix}-message-{definition.default_language}"] = _(
                "Give the message in the default language."
            )
        found.append(check)
    return found


def _fresh_oid(definition: Definition, taken: set[str]) -> str:
    """A new edit-check OID, free in the definition and among the checks read so far."""
    used = set(definition.oids()) | taken
    number = 1
    while f"EC.{number}" in used:
        number += 1
    return f"EC.{number}"


def _aliases(reader: Reader) -> list[Alias]:
    aliases = []
    for number, line in enumerate(reader.text("aliases", 10_000).splitlines(), start=1):
        if not line.strip():
            continue
        context, colon, name = line.partition(":")
        if not colon or not context.strip() or not name.strip():
            reader.errors["aliases"] = _(
                'Line ${line}: write "CONTEXT: name", e.g. "SDTM: VSORRES".',
                mapping={"line": number},
            )
            continue
        aliases.append(Alias(context.strip(), name.strip()))
    return aliases


def _slider(reader: Reader) -> Slider:
    return Slider(
        min=reader.number("slider-min", low=-(10**6), high=10**6) or 0,
        max=reader.number("slider-max", low=-(10**6), high=10**6) or 100,
        left=reader.texts("slider-left"),
        middle=reader.texts("slider-middle"),
        right=reader.texts("slider-right"),
        show_number=reader.flag("slider-show-number"),
    )


def read_item(post: MultiDict, definition: Definition, existing: Item | None) -> Parsed:
    """An Item from the editor's POST, checked as publication would check it."""
    reader = Reader(post, definition.languages)
    type_name = reader.choice("type", list(ItemType)) or ItemType.TEXT.value
    item_type = ItemType(type_name)
    validation = reader.choice("validation", list(Validation))
    name = reader.name("name")
    oid = existing.oid if existing else named_oid(definition, "I", name or "item")
    item = Item(
        oid=oid,
        name=name,
        type=item_type,
        label=reader.texts("label"),
        help=reader.texts("help"),
        units=reader.optional("units", 40),
        required=reader.flag("required"),
        identifier=reader.flag("identifier"),
        missing_codes_allowed=reader.flag("missing-codes"),
        validation=Validation(validation) if validation and item_type is ItemType.TEXT else None,
        decimals=reader.number("decimals", low=0, high=10),
        date_format=reader.choice("date-format", DATE_FORMATS),  # type: ignore[arg-type]
        with_seconds=reader.flag("with-seconds"),
        partial_dates=validation == Validation.DATE.value and reader.flag("partial-dates"),
        decimal_comma=reader.flag("decimal-comma"),
        pattern=reader.optional("pattern", 500),
        pattern_name=existing.pattern_name if existing else None,
        max_length=reader.number("max-length", low=1, high=20000),
        widget=reader.choice("widget", WIDGETS),  # type: ignore[arg-type]
        file_kind=reader.choice("file-kind", ("file", "signature")),  # type: ignore[arg-type]
        calculation=reader.optional("calculation", MAX_EXPRESSION),
        show_if=reader.optional("show_if", MAX_EXPRESSION),
        hard_range=_range(reader, "hard"),
        soft_range=_range(reader, "soft"),
        aliases=_aliases(reader),
        annotation=reader.optional("annotation", 2000),
    )
    if item_type in (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_CHOICE):
        item.choices = _choices(reader, definition.default_language)
    if item_type is ItemType.MULTIPLE_CHOICE:
        _exclusive(reader, item.choices)
    if item_type is ItemType.SLIDER:
        item.slider = _slider(reader)
    item.edit_checks = _checks(reader, definition, existing.edit_checks if existing else [])
    if existing is None or name != existing.name:
        taken = {other.name: form for form, other in definition.items() if other is not existing}
        if name in taken:
            reader.errors["name"] = name_taken(name, taken[name].name)
    for problem in item_problems(definition, item):
        reader.errors.setdefault(
            _input_name(problem.where, problem.field, item, definition), problem.message
        )
    return Parsed(item, reader.errors)


def _input_name(where: str, field_name: str, item: Item, definition: Definition) -> str:
    """The editor's input a publication problem belongs to."""
    for index, check in enumerate(item.edit_checks):
        if check.oid == where:
            return f"check-{index}-condition"
    return {
        "label": f"label-{definition.default_language}",
        "choices": f"choices-{definition.default_language}",
        "hard_range": "hard-min",
        "soft_range": "soft-min",
        "slider": "slider-min",
        "max_length": "max-length",
    }.get(field_name, field_name)


def read_static(post: MultiDict, definition: Definition, existing: Static | None) -> Parsed:
    reader = Reader(post, definition.languages)
    static = Static(
        oid=existing.oid if existing else new_oid(definition, "T"),
        content=reader.texts("content", 20_000),
        show_if=reader.optional("show_if", MAX_EXPRESSION),
    )
    if not static.content.get(definition.default_language):
        reader.errors[f"content-{definition.default_language}"] = _(
            "Write the text in the default language."
        )
    for problem in item_problems(definition, static):
        reader.errors.setdefault(problem.field, problem.message)
    return Parsed(static, reader.errors)


def read_titled(post: MultiDict, definition: Definition, *, required: bool) -> Parsed:
    """A title in each language (forms require one; sections and sub-sections may go without)."""
    reader = Reader(post, definition.languages)
    title = reader.texts("title", 300)
    if required and not title.get(definition.default_language):
        reader.errors[f"title-{definition.default_language}"] = _(
            "Give a title in the default language."
        )
    return Parsed(title, reader.errors)


def read_visit(post: MultiDict, definition: Definition, existing: Visit | None) -> Parsed:
    reader = Reader(post, definition.languages)
    visit = Visit(
        oid=existing.oid if existing else "",
        name=reader.name("name"),
        title=reader.texts("title", 300),
        day=reader.number("day", low=-3650, high=36500),
        window_before=reader.number("window-before", low=0, high=3650) or 0,
        window_after=reader.number("window-after", low=0, high=3650) or 0,
        repeating=reader.flag("repeating"),
        forms=existing.forms if existing else [],
        anchor=reader.optional("anchor", 100),
    )
    if not visit.title.get(definition.default_language):
        reader.errors[f"title-{definition.default_language}"] = _(
            "Give a title in the default language."
        )
    taken = {v.name for v in definition.schedule.visits if v is not existing}
    if visit.name in taken:
        reader.errors["name"] = _("Another visit has this name.")
    others = [v for v in definition.schedule.visits if v is not existing]
    problem = anchor_problem(Schedule([*others, visit]), visit)
    if problem is not None:
        reader.errors["anchor"] = ANCHOR_PROBLEMS[problem]
    return Parsed(visit, reader.errors)


def read_languages(post: MultiDict) -> Parsed:
    reader = Reader(post, [])
    languages = [code.strip() for code in reader.text("languages", 200).split(",") if code.strip()]
    default = reader.text("default-language", 10)
    if not languages or any(
        not (2 <= len(code) <= 8 and code.replace("-", "").isalpha()) for code in languages
    ):
        reader.errors["languages"] = _("List language codes separated by commas, e.g. en, fr.")
    if default not in languages:
        reader.errors["default-language"] = _("The default language must be one of the list.")
    return Parsed((languages, default), reader.errors)


def item_form_values(item: Item | None, languages: list[str]) -> Mapping[str, str]:
    """The editor's inputs filled from an existing item (the inverse of :func:`read_item`)."""
    if item is None:
        return {"type": ItemType.TEXT.value, "check-count": "1"}
    values: dict[str, str] = {
        "name": item.name,
        "type": item.type.value,
        "units": item.units or "",
        "validation": item.validation.value if item.validation else "",
        "decimals": "" if item.decimals is None else str(item.decimals),
        "date-format": item.date_format or "",
        "pattern": item.pattern or "",
        "max-length": "" if item.max_length is None else str(item.max_length),
        "widget": item.widget or "",
        "file-kind": item.file_kind or "",
        "calculation": item.calculation or "",
        "show_if": item.show_if or "",
        "annotation": item.annotation or "",
        "aliases": "\n".join(f"{a.context}: {a.name}" for a in item.aliases),
        "check-count": str(len(item.edit_checks) + 1),
    }
    for flag, on in (
        ("required", item.required),
        ("identifier", item.identifier),
        ("missing-codes", item.missing_codes_allowed),
        ("with-seconds", item.with_seconds),
        ("partial-dates", item.partial_dates),
        ("decimal-comma", item.decimal_comma),
    ):
        values[flag] = "1" if on else ""
    values["exclusive"] = ", ".join(c.code for c in item.choices if c.exclusive)
    for prefix, bounds in (("hard", item.hard_range), ("soft", item.soft_range)):
        values[f"{prefix}-min"] = (bounds.min or "") if bounds else ""
        values[f"{prefix}-max"] = (bounds.max or "") if bounds else ""
    for language in languages:
        values[f"label-{language}"] = item.label.get(language, "")
        values[f"help-{language}"] = item.help.get(language, "")
        values[f"choices-{language}"] = "\n".join(
            f"{c.code}, {c.label[language]}" for c in item.choices if language in c.label
        )
    if item.slider:
        values.update(
            {
                "slider-min": str(item.slider.min),
                "slider-max": str(item.slider.max),
                "slider-show-number": "1" if item.slider.show_number else "",
            }
        )
        for language in languages:
            for end in ("left", "middle", "right"):
                values[f"slider-{end}-{language}"] = getattr(item.slider, end).get(language, "")
    for index, check in enumerate(item.edit_checks):
        values[f"check-{index}-oid"] = check.oid
        values[f"check-{index}-condition"] = check.condition
        values[f"check-{index}-severity"] = check.severity.value
        for language in languages:
            values[f"check-{index}-message-{language}"] = check.message.get(language, "")
    return values
