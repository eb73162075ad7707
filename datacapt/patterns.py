"""Regular expressions matched against what people type, run by RE2 in time linear in the text.

Python's ``re`` backtracks while holding the GIL: a designer's ``(a+)+b`` against 28 characters
stalls every request of the process for seconds, and each further character doubles it. RE2
never backtracks; it refuses what it cannot run in linear time (back-references, look-arounds),
so such a pattern is refused when it is designed or imported, not met while data are entered.
"""

from __future__ import annotations

import functools

import re2

MAX_PATTERN = 500
"""The longest pattern a designer may write (the editor's field takes no more)."""
MAX_MATCHED = 1000
"""The longest text matched against a pattern: what a pattern checks (codes, identifiers, postal
codes, phone numbers) is short, and a cap keeps each match cheap whatever the pattern."""
_MEMORY = 1 << 20  # per compiled pattern (a pattern needing more is refused), 128 MiB in all


class PatternError(ValueError):
    """A pattern RE2 cannot run; ``str()`` says why, in RE2's words."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print each refused pattern to stderr
    options.max_mem = _MEMORY
    return options


_OPTIONS = _options()


@functools.lru_cache(maxsize=128)
def compile_pattern(pattern: str) -> re2._Regexp:
    """``pattern`` compiled once per process (forms evaluate it on every keystroke)."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"longer than {MAX_PATTERN} characters")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        reason = error.args[0] if error.args else b"not a regular expression"
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        raise PatternError(text) from None


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used, or None when it can."""
    try:
        compile_pattern(pattern)
    except PatternError as error:
        return str(error)
    return None


def matches(pattern: str, text: str) -> bool:
    """Whether all of ``text`` matches; callers refuse texts over :data:`MAX_MATCHED` first."""
    if len(text) > MAX_MATCHED:
        raise ValueError(f"only texts of at most {MAX_MATCHED} characters are matched")
    return compile_pattern(pattern).fullmatch(text) is not None
