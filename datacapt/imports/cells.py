"""What every reader gives: a value of the file as a cell (who, where, which item, what), a row
refused before it reaches a form, or a file that cannot be read at all."""

from __future__ import annotations

from dataclasses import dataclass

from pyramid.i18n import TranslationString


@dataclass(frozen=True)
class Cell:
    """One value of the file, at its line. ``visit`` None: the file does not say (a REDCap
    project without events), the form's only visit is meant. ``complete``: the form's status
    the file gives (None: the form keeps its own)."""

    line: int
    subject: str
    site: str | None
    visit: str | None
    visit_repeat: int
    form: str
    form_repeat: int
    item: str
    value: str
    missing: str | None = None
    complete: bool | None = None


@dataclass(frozen=True)
class Refusal:
    """A row refused while reading (a repeat that is not a number, an unknown column)."""

    line: int
    message: TranslationString


class Unreadable(ValueError):
    """The file cannot be read as the format it was given as; nothing of it is imported."""

    def __init__(self, message: TranslationString) -> None:
        super().__init__(str(message))
        self.message = message


def whole(text: str | None, default: int = 1) -> int | None:
    """A repeat number as files write it (blank: ``default``); None when it is not one."""
    text = (text or "").strip()
    if not text:
        return default
    if text.isascii() and text.isdigit() and len(text) <= 6 and int(text) >= 1:
        return int(text)
    return None
