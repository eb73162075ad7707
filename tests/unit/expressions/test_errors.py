"""What a study designer is told about an expression that cannot be parsed, and where."""

from __future__ import annotations

import pytest

from datacapt.expressions import (
    ArityError,
    ExpressionError,
    ExpressionLimitError,
    ExpressionSyntaxError,
    Position,
    UnknownFunctionError,
    parse,
)

BAD_INPUTS = [
    # (text, code, column, a word the message must contain)
    ("", "syntax", 1, "empty"),
    ("   ", "syntax", 1, "empty"),
    ("([a] + 1", "syntax", 9, "'(' at line 1, column 1"),
    ("round([a], 2", "syntax", 13, "never closed"),
    ("[a] + 1)", "syntax", 8, "no matching '('"),
    ("f(1) = 2", "unknown-function", 1, "'f'"),
    ("[a] + eval(1)", "unknown-function", 7, "eval"),
    ("sqrt(1, 2)", "arity", 1, "1 argument"),
    ("if([a], 1)", "arity", 1, "3 arguments"),
    ("datediff([a], [b])", "arity", 1, "3 to 5"),
    ("round()", "arity", 1, "1 or 2"),
    ("min()", "arity", 1, "at least 1"),
    ("[survey-url] = 'x'", "syntax", 1, "no surveys"),
    ("[a] = 1 and [arm-number] = '3'", "syntax", 13, "arms"),
    ("[made-up] = 1", "syntax", 1, "[made-up] is not a smart variable"),
    ("[record-name][a] = 1", "syntax", 1, "[record-name] does not name a visit"),
    ("[a][1][b] = 1", "syntax", 7, "[b] after [a][1] is not an instance"),
    ("[a][b][c] = 1", "syntax", 7, "[c] after [a][b] is not an instance"),
    ("[a][user-name] = 1", "syntax", 4, "[user-name] is not an instance"),
    ("[a][01] = 1", "syntax", 4, "leading zeros"),
    ("[a][0] = 1", "syntax", 4, "numbered from 1"),
    ("[a:checked] = 1", "syntax", 1, "':checked'"),
    ("[v1][a:label][2:label] = 1", "syntax", 14, "not an instance"),
    ("1 < 2 < 3", "syntax", 7, "chained"),
    ("a < b < c", "syntax", 7, "chained"),
    ("[a] < [b] < [c]", "syntax", 11, "chained"),
    ("[a] = 'never closed", "syntax", 7, "never closed"),
    ('[a] = "never closed', "syntax", 7, "never closed"),
    ("[Weight] > 2", "syntax", 1, "[weight]"),
    ("[baseline_arm_1][Weight] > 2", "syntax", 17, "[weight]"),
    ("[Baseline][weight] > 2", "syntax", 1, "Visit names are in lowercase"),
    ("[ weight ] > 2", "syntax", 1, "write [weight]"),
    ("[a b] = 1", "syntax", 1, "not a valid reference"),
    ("[] = 1", "syntax", 1, "empty"),
    ("[a(1)][b] = 1", "syntax", 1, "visit takes no option"),
    ("[a(1 2)] = 1", "syntax", 1, "option code"),
    ("[a = 1", "syntax", 1, "'['"),
    ("[a] = 1]", "syntax", 8, "']'"),
    ("[a] & [b]", "syntax", 5, "'&&'"),
    ("[a] | [b]", "syntax", 5, "'||'"),
    ("[a] ! [b]", "syntax", 5, "operator"),
    ("[a] = 1 %", "syntax", 9, "'%'"),
    ("weight > 2", "syntax", 1, "[weight]"),
    ("datediff([a], [b], 'd', 'ymd', yes)", "syntax", 32, "'yes'"),
    ("today()", "syntax", 1, "without parentheses"),
    ("[a] [b]", "syntax", 5, "operator"),
    ("[a] = = 1", "syntax", 7, "value"),
    ("[a] +", "syntax", 6, "value"),
    ("round([a],)", "syntax", 11, "value"),
    ("[a] = 1\n  and [b] = ", "syntax", 12, "value"),
    ("x" * 4001, "limit", 4001, "4000"),
    ("(" * 41 + "1" + ")" * 41, "limit", 41, "40 levels"),
    ("-" * 60 + "1", "limit", 41, "40 levels"),
    ("1" + " + 1" * 250, "limit", 1001, "500"),
    ("2 ^ 101", "limit", 5, "exponent"),
    ("2 ^ -(500)", "limit", 7, "exponent"),
]


@pytest.mark.parametrize(("text", "code", "column", "words"), BAD_INPUTS)
def test_bad_input(text: str, code: str, column: int, words: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        parse(text)
    error = raised.value
    assert (error.code, error.position and error.position.column) == (code, column)
    assert words in error.message
    assert str(error) == f"line {error.position.line}, column {column}: {error.message}"


def test_error_classes_and_multiline_positions() -> None:
    with pytest.raises(ExpressionSyntaxError) as raised:
        parse("[a] = '1'\nor [b] = '1'\n  and [c] =")
    assert raised.value.position == Position(line=3, column=12, offset=34)
    with pytest.raises(UnknownFunctionError):
        parse("exec('1')")
    with pytest.raises(ArityError):
        parse("abs()")
    with pytest.raises(ExpressionLimitError):
        parse("[a]" * 2000)


def test_limits_leave_room_for_real_expressions() -> None:
    nested_ifs = "0"
    for level in range(10):
        nested_ifs = f"if([a] = '{level}', {level}, {nested_ifs})"
    parse(nested_ifs)
    parse(" or ".join(f"[a] = '{code}'" for code in range(120)))
    parse("1" + " + 1" * 249)
    parse("2 ^ 100 + 2 ^ -100")
