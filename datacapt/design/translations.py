"""Texts a form offers in a language but lacks there: shown before publishing, so a site
working in that language does not meet a question in another one (entry falls back to the
default language without a word)."""

from __future__ import annotations

from dataclasses import dataclass

from datacapt.ecrf.definition import Definition, Item, Text


@dataclass(frozen=True)
class MissingTranslation:
    form: str
    item: str
    language: str
    parts: tuple[str, ...]  # "label", "options", "help": what lacks the language


def _lacks(text: Text, language: str) -> bool:
    """A text written in some language but not in this one."""
    return any(value.strip() for value in text.values()) and not text.get(language, "").strip()


def _missing_parts(item: Item, language: str) -> tuple[str, ...]:
    parts = []
    if _lacks(item.label, language):
        parts.append("label")
    if any(_lacks(choice.label, language) for choice in item.choices):
        parts.append("options")
    if _lacks(item.help, language):
        parts.append("help")
    return tuple(parts)


def missing_translations(definition: Definition) -> list[MissingTranslation]:
    """Each item and language of the design whose label, options or help are not translated
    there, in the order of the forms."""
    found = []
    for form, item in definition.items():
        for language in definition.languages:
            parts = _missing_parts(item, language)
            if parts:
                found.append(MissingTranslation(form.name, item.name, language, parts))
    return found
