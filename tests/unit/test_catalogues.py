"""The translation catalogues: complete, compiled, and faithful to their placeholders."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "datacapt" / "locale"
TRANSLATED = ("fr", "de", "pl")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\$\{\w+\}")


def source_messages() -> set[str]:
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "pluralize": (1, 2)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalog(language: str):
    with (LOCALE / language / "LC_MESSAGES" / "datacapt.po").open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_ui_string_is_translated(language):
    translations = {
        (m.id[0] if isinstance(m.id, tuple) else m.id): m.string
        for m in catalog(language)
        if m.id and "fuzzy" not in m.flags
    }
    missing = sorted(
        msgid
        for msgid in source_messages()
        if not translations.get(msgid) or not all(translations[msgid])
    )
    assert not missing, f"untranslated in {language} (run `make messages`): {missing}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_their_placeholders(language):
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == expected, (language, message.id)


@pytest.mark.parametrize("language", TRANSLATED)
def test_compiled_catalogue_matches_its_source(language):
    directory = LOCALE / language / "LC_MESSAGES"
    with (directory / "datacapt.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for message in catalog(language):
        if not message.id or isinstance(message.id, tuple):
            continue
        assert compiled.gettext(message.id) == message.string, (
            f"{language}: datacapt.mo is stale; run `make messages`"
        )


def test_german_says_rueckfrage_for_a_query_everywhere():
    """One word for one thing: a data query is a "Rückfrage" in every German message."""
    mixed = []
    for message in catalog("de"):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        about_queries = any(re.search(r"\bquer(y|ies)\b", t, re.IGNORECASE) for t in ids if t)
        if about_queries and any("Query" in s or "Rückfrage" not in s for s in strings):
            mixed.append((ids[0], strings))
    assert not mixed
