"""``templating.localized`` keeps a plain TranslationString's translation: every input of it
(language, domain, message, default, context) is in the key, and the kept ones are bounded."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from translationstring import TranslationString

from datacapt import templating
from datacapt.templating import localized


@pytest.fixture(autouse=True)
def _kept_translations_emptied() -> Any:
    """The fake translations below must not stay kept for the tests that render pages."""
    templating._LOCALIZED.clear()
    templating._STATE_MARKS_IN.clear()
    yield
    templating._LOCALIZED.clear()
    templating._STATE_MARKS_IN.clear()


class Localizer:
    def __init__(self, locale_name: str) -> None:
        self.locale_name = locale_name
        self.asked = 0

    def translate(self, value: TranslationString) -> str:
        self.asked += 1
        text = value.interpolate(str(value))
        return f"{self.locale_name}|{value.domain}|{text}|{value.default}|{value.context}"


def request(locale_name: str) -> Any:
    return SimpleNamespace(locale_name=locale_name, localizer=Localizer(locale_name))


def test_each_input_of_a_translation_is_in_its_key() -> None:
    english = request("en")
    base = TranslationString("Subjects", domain="datacapt", default="Subjects", context="menu")
    assert localized(english, base) == "en|datacapt|Subjects|Subjects|menu"
    assert localized(english, base) == "en|datacapt|Subjects|Subjects|menu"
    assert english.localizer.asked == 1  # kept
    variants = {
        "language": (request("fr"), base),
        "domain": (
            english,
            TranslationString("Subjects", domain="other", default="Subjects", context="menu"),
        ),
        "message": (
            english,
            TranslationString("Sites", domain="datacapt", default="Subjects", context="menu"),
        ),
        "default": (
            english,
            TranslationString("Subjects", domain="datacapt", default="Other", context="menu"),
        ),
        "context": (
            english,
            TranslationString("Subjects", domain="datacapt", default="Subjects", context="tab"),
        ),
    }
    shown = {name: localized(who, value) for name, (who, value) in variants.items()}
    assert len({*shown.values(), localized(english, base)}) == len(variants) + 1


def test_a_mapping_is_translated_each_time_and_data_is_left_as_it_is() -> None:
    english = request("en")
    first = TranslationString("Hello ${name}", mapping={"name": "Ada"})
    second = TranslationString("Hello ${name}", mapping={"name": "Bob"})
    assert localized(english, first) != localized(english, second)
    assert localized(english, 42) == "42"


def test_kept_translations_are_bounded() -> None:
    english = request("en")
    for number in range(5000):
        localized(english, TranslationString(f"message {number}"))
    assert len(templating._LOCALIZED) <= 4096


def test_state_marks_are_kept_per_language_and_follow_it() -> None:
    english = templating.state_marks({"request": request("en")})
    french = templating.state_marks({"request": request("fr")})
    assert english["sdv"]["verified"] == ("✓", "en|datacapt|Verified|Verified|None")
    assert french["sdv"]["verified"] == ("✓", "fr|datacapt|Verified|Verified|None")
    assert templating.state_marks({"request": request("en")}) is english
    assert set(templating._STATE_MARKS_IN) == {"en", "fr"}
