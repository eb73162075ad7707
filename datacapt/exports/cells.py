"""How one cell is written in a file others open: text that cannot run as a formula, times
without ambiguity."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

#: A cell starting with one of these is a formula (or becomes one) in spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def neutralised(text: str) -> str:
    """``text`` with a leading apostrophe where a spreadsheet would read it as a formula
    (OWASP's CSV injection advice); a plain number such as ``-5`` stays as it is."""
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


@lru_cache(maxsize=4096)
def iso_timestamp(moment: datetime | None) -> str:
    """ISO 8601 in UTC with its offset, to the second: ``2026-12-03T14:05:09+00:00``. Kept
    for the times last seen: the values of one save share theirs."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()
