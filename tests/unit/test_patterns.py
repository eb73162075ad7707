"""Patterns run by RE2: refused when RE2 cannot run them, matched in linear time otherwise."""

from __future__ import annotations

import pytest

from datacapt.patterns import MAX_MATCHED, MAX_PATTERN, matches, pattern_problem


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a+)\1", "invalid escape sequence"),
        (r"(?=a)a", "invalid perl operator: (?="),
        (r"(?<=a)b", "invalid perl operator: (?<"),
        (r"(?!0000)[0-9]{4}", "invalid perl operator: (?!"),
        ("(unclosed", "missing )"),
        ("a{1001}", "invalid repetition size"),
        ("((a{100}){100}){100}", "invalid repetition size"),
        ("a" * (MAX_PATTERN + 1), f"longer than {MAX_PATTERN} characters"),
    ],
)
def test_patterns_re2_cannot_run_say_why(pattern: str, reason: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None and reason in problem


def test_catastrophic_patterns_for_backtracking_are_matched_in_one_pass() -> None:
    assert pattern_problem("(a+)+b") is None
    assert not matches("(a+)+b", "a" * (MAX_MATCHED - 1) + "!")
    assert not matches("(x+x+)+y", "x" * (MAX_MATCHED - 1) + "z")
    assert matches("(a+)+b", "a" * (MAX_MATCHED - 1) + "b")


def test_the_whole_text_must_match_and_digits_are_ascii() -> None:
    assert matches("[0-9]{5}", "75012")
    assert not matches("[0-9]{5}", "750123")
    assert not matches(r"\d{3}", "١٢٣")
    assert matches("^(?i)abc$", "ABC")


def test_longer_texts_are_not_matched() -> None:
    with pytest.raises(ValueError, match="at most"):
        matches("a*", "a" * (MAX_MATCHED + 1))
