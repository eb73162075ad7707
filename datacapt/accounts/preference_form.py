"""Parsing what the preferences form posts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyramid.i18n import TranslationString


@dataclass
class PreferencesForm:
    language: str
    timezone: str
    errors: dict[str, TranslationString] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> PreferencesForm:
        return cls(language=data.get("language", "")[:10], timezone=data.get("timezone", "")[:64])
