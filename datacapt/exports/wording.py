"""How a PDF casebook words what it shows: in the study's language, times in the study's zone
(``03 Dec 2026 14:05 CET``), values as the form shows them (codes with their labels, dates in
the item's own order, decimal commas where the item or the study's language takes them,
missing-data codes labelled)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from pyramid.i18n import Localizer, TranslationString

from datacapt.ecrf.definition import Item, ItemType, Text, Validation, text_in
from datacapt.ecrf.values import holds_numbers, shown_date
from datacapt.exports.source import CHOICE_TYPES
from datacapt.i18n import _
from datacapt.numbers import shown_number

BOOLEAN_LABELS = {
    ItemType.YES_NO: {"1": _("Yes"), "0": _("No")},
    ItemType.TRUE_FALSE: {"1": _("True"), "0": _("False")},
    ItemType.ACKNOWLEDGEMENT: {"1": _("I acknowledge")},
}
#: How the audit trail writes a missing-data code in place of a value.
MISSING = "missing:"
#: What stands for no value.
BLANK = "—"


@dataclass(frozen=True)
class Wording:
    """The words of one export: the study's language (design texts and the interface's), its
    zone, and its missing-data codes with their labels."""

    language: str
    localizer: Localizer
    zone: ZoneInfo
    missing_codes: dict[str, str]

    def translate(self, message: str | TranslationString) -> str:
        """A message of the interface (a msgid, or a TranslationString) in the study's language."""
        if not isinstance(message, TranslationString):
            message = TranslationString(message, domain="datacapt")
        return self.localizer.translate(message)

    def plural(self, singular: str, plural: str, count: int) -> str:
        return self.localizer.pluralize(singular, plural, count, domain="datacapt")

    def text(self, text: Text) -> str:
        """A design text (label, title, choice) in the study's language."""
        return text_in(text, self.language, self.language)

    def moment(self, value: datetime | None) -> str:
        if value is None:
            return ""
        local = value.astimezone(self.zone)
        shown = format_datetime(local, "dd MMM yyyy HH:mm", tzinfo=self.zone, locale=self.language)
        return f"{shown} {local.tzname()}"

    def missing(self, code: str) -> str:
        label = self.missing_codes.get(code)
        return f"{code} — {self.translate(label)}" if label else code

    def code_labels(self, item: Item) -> dict[str, str]:
        fixed = BOOLEAN_LABELS.get(item.type)
        if fixed is not None:
            return {code: self.translate(label) for code, label in fixed.items()}
        return {choice.code: self.text(choice.label) for choice in item.choices}

    def value(self, item: Item, text: str) -> str:
        """A stored value as the form shows it; a code with its label: ``Female (2)``."""
        if item.type in CHOICE_TYPES:
            labels = self.code_labels(item)
            return "; ".join(f"{labels.get(code, code)} ({code})" for code in text.split("|"))
        if item.validation is Validation.DATE:
            return shown_date(text, item.date_format)
        if item.validation is Validation.DATETIME:
            return text.replace("T", " ")
        if item.decimal_comma and item.validation in (Validation.NUMBER, Validation.INTEGER):
            return text.replace(".", ",")
        if holds_numbers(item):
            return shown_number(text, self.language)
        return text

    def audited(self, item: Item, value: str | None) -> str:
        """A value as the audit trail recorded it (a missing-data code, or blank)."""
        if value is None:
            return BLANK
        if value.startswith(MISSING):
            return self.missing(value.removeprefix(MISSING))
        return self.value(item, value)
