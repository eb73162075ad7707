"""REDCap's language beyond the basics: instances, smart variables, :value/:label, &&/||/!,
true/false/null and the text, date and statistics functions; each parsed, evaluated, written
back and written for REDCap."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from datacapt.expressions import (
    BLANK,
    ExpressionTypeError,
    FieldInfo,
    MappingContext,
    Symbols,
    UntranslatableError,
    ValueType,
    check,
    evaluate,
    parse,
    to_redcap,
    to_text,
)
from datacapt.expressions.ast import Boolean, Not, Reference, SmartVariable, Text

CONTEXT = MappingContext(
    {
        "name": "  Ada Lovelace ",
        "code": "AB-1234",
        "weight": Decimal(70),
        "sex": "2",
        "cb": frozenset({"1", "3"}),
        "born": date(1990, 7, 14),
        "seen": datetime(2024, 2, 29, 8, 30),
        "count": "12",
        "ratio": "1.5",
        "empty": None,
    },
    visits={"baseline": {"weight": Decimal(72)}},
    today=date(2024, 3, 1),
    instances={
        (None, 1): {"weight": Decimal(68)},
        (None, 2): {"weight": Decimal(69)},
        ("baseline", 2): {"weight": Decimal(75)},
    },
    labels={"sex": {"1": "Male", "2": "Female"}, "cb": {"1": "Red", "2": "Green", "3": "Blue"}},
    smart={
        "record-name": "PAR-007",
        "record-dag-name": "par",
        "event-name": "week_4",
        "previous-event-name": "baseline",
        "user-name": "alice",
        "current-instance": Decimal(3),
        "previous-instance": Decimal(2),
        "first-instance": Decimal(1),
        "is-form": True,
    },
)

CASES = [
    # (text, value, canonical text, REDCap text)
    ("[weight][2]", Decimal(69), "[weight][2]", "[weight][2]"),
    ("[weight][previous-instance]", Decimal(69), None, None),
    ("[weight][first-instance]", Decimal(68), None, None),
    ("[weight][current-instance]", Decimal(70), None, None),
    ("[weight][3]", Decimal(70), None, None),  # the current repeat is this form's values
    ("[weight][7]", BLANK, None, None),
    ("[baseline][weight][2]", Decimal(75), None, None),
    ("[baseline][weight][1]", Decimal(72), None, None),
    ("[previous-event-name][weight]", Decimal(72), None, None),
    ("[event-name][weight]", Decimal(70), None, None),
    ("[record-name]", "PAR-007", None, None),
    ("[record-dag-name] = 'par'", True, None, None),
    ("[event-name]", "week_4", None, None),
    ("[user-name] = 'alice'", True, None, None),
    ("[current-instance] - 1", Decimal(2), None, None),
    ("[next-instance]", BLANK, None, None),
    ("[is-form]", True, None, None),
    ("[sex:value]", "2", None, None),
    ("[sex:label]", "Female", None, None),
    ("[cb:label]", "Red, Blue", None, None),
    ("[cb(3):label]", "Blue", None, None),
    ("[cb(2):label]", BLANK, None, None),
    ("[weight] > 60 && [sex] = '2'", True, "[weight] > 60 and [sex] = '2'", None),
    ("[weight] > 80 || [sex] = '1'", False, "[weight] > 80 or [sex] = '1'", None),
    ("!([weight] > 80)", True, "not ([weight] > 80)", "!([weight] > 80)"),
    ("![empty]", True, "not [empty]", "!([empty])"),
    ("not not [weight]", True, "not not [weight]", "!(!([weight]))"),
    ("[empty] = null", True, "[empty] = ''", None),
    ("true and not false", True, "true and not false", "true and !(false)"),
    ("contains([name], 'LOVE')", True, None, None),
    ("not_contain([name], 'love')", False, None, None),
    ("starts_with([code], 'ab')", True, None, None),
    ("ends_with([code], '34')", True, None, None),
    ("length([code])", Decimal(7), None, None),
    ("length([empty])", Decimal(0), None, None),
    ("concat([code], '/', [weight])", "AB-1234/70", None, None),
    ("left([code], 2)", "AB", None, None),
    ("right([code], 4)", "1234", None, None),
    ("mid([code], 4, 2)", "12", None, None),
    ("find('12', [code])", Decimal(4), None, None),
    ("find('zz', [code])", Decimal(0), None, None),
    ("trim([name])", "Ada Lovelace", None, None),
    ("upper([code])", "AB-1234", None, None),
    ("lower([code])", "ab-1234", None, None),
    ("year([born])", Decimal(1990), None, None),
    ("month([born])", Decimal(7), None, None),
    ("day([seen])", Decimal(29), None, None),
    ("year([empty])", BLANK, None, None),
    ("isnumber([ratio])", True, None, None),
    ("isinteger([count])", True, None, None),
    ("isinteger([ratio])", False, None, None),
    ("isblankormissingcode([empty])", True, None, None),
    ("log(1000, 10)", Decimal(3), None, None),
    ("log(-1)", BLANK, None, None),
    ("round(exp(1), 4)", Decimal("2.7183"), None, None),
    ("mod(17, 5)", Decimal(2), None, None),
    ("mod(17, 0)", BLANK, None, None),
    ("abs(-3)", Decimal(3), None, None),
    ("min(3, [weight], 'x')", Decimal(3), None, None),
    ("max(3, [weight])", Decimal(70), None, None),
    ("mean(1, 2, 6)", Decimal(3), None, None),
    ("median(1, 9, 2, 8)", Decimal(5), None, None),
    ("round(stdev(2, 4, 4, 4, 5, 5, 7, 9), 4)", Decimal("2.1381"), None, None),
    ("stdev(5)", BLANK, None, None),
    ("sqrt(81)", Decimal(9), None, None),
    ("datediff([born], '2024-07-14', 'y')", Decimal("34.0021"), None, None),
    ("datediff('2024-03-01', [born], 'd', true)", Decimal(-12284), None, None),
    ("datediff('2024-03-01', [born], 'd', 'true')", Decimal(-12284), None, None),
    ("datediff('01/03/2024', '14/07/1990', 'd', 'dmy', true)", Decimal(-12284), None, None),
    ("datediff('03/01/2024', '07/14/1990', 'd', 'mdy', false)", Decimal(12284), None, None),
    ("datediff([seen], '2024-02-29 10:00', 'm')", Decimal(90), None, None),
    ("datediff([seen], '2024-02-29 10:00', 'h')", Decimal("1.5"), None, None),
    ("datediff([seen], '2024-02-29 08:30:42', 's')", Decimal(42), None, None),
    ("round(datediff([born], today, 'M'), 1)", Decimal("403.5"), None, None),
]


@pytest.mark.parametrize(("text", "value", "canonical", "redcap"), CASES)
def test_construct_parses_evaluates_and_prints(
    text: str, value: object, canonical: str | None, redcap: str | None
) -> None:
    expression = parse(text)
    result = evaluate(expression, CONTEXT)
    if isinstance(value, Decimal) and isinstance(result, Decimal):
        assert round(result, 4) == value
    else:
        assert result == value
    written = to_text(expression)
    assert written == (canonical or written)
    assert parse(written) == expression
    if "today" not in text:
        for_redcap = to_redcap(expression)
        assert for_redcap == (redcap or canonical or text)
        assert parse(for_redcap) == expression


def test_trees_of_the_new_constructs() -> None:
    assert parse("[v][f(1):label][previous-instance]").root == Reference(
        "v", "f", "1", "label", "previous-instance"
    )
    assert parse("[user-name]").root == SmartVariable("user-name")
    assert parse("!true").root == Not(Boolean(True))
    assert parse("NULL").root == Text("")


def test_redcap_reads_today_only_inside_datediff() -> None:
    assert to_redcap(parse("datediff([d], today, 'd')")) == "datediff([d], 'today', 'd')"
    with pytest.raises(UntranslatableError) as raised:
        to_redcap(parse("[d] > today"))
    assert raised.value.position is not None and raised.value.position.column == 7
    assert "datediff" in raised.value.message


STUDY = Symbols(
    {
        "weight": FieldInfo(ValueType.NUMBER),
        "name": FieldInfo(ValueType.TEXT),
        "sex": FieldInfo(ValueType.CHOICE, frozenset({"1", "2"})),
        "cb": FieldInfo(ValueType.MULTICHOICE, frozenset({"1", "2", "3"})),
        "born": FieldInfo(ValueType.DATE),
    },
    visits=frozenset({"baseline"}),
)


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("[weight][2] + [baseline][weight][previous-instance]", ValueType.NUMBER),
        ("[previous-event-name][weight] > 1", ValueType.BOOLEAN),
        ("[record-name]", ValueType.TEXT),
        ("[current-instance] + 1", ValueType.NUMBER),
        ("[sex:label] = 'Anything'", ValueType.BOOLEAN),
        ("[sex:value] = '2'", ValueType.BOOLEAN),
        ("[cb:label]", ValueType.TEXT),
        ("[cb(1):value] = '1'", ValueType.BOOLEAN),
        ("contains([name], 'x') && !isinteger([name])", ValueType.BOOLEAN),
        ("concat([name], [weight], [born])", ValueType.TEXT),
        ("length([name]) + find('a', [name])", ValueType.NUMBER),
        ("year([born]) + month('2024-01-31')", ValueType.NUMBER),
        ("mod([weight], 2) + log([weight], 10) + exp(1) + stdev([weight], 1)", ValueType.NUMBER),
        ("datediff([born], 'today', 'y', 'ymd', 'true')", ValueType.NUMBER),
        ("[weight] = null", ValueType.BOOLEAN),
    ],
)
def test_checker_types_the_new_constructs(text: str, result: ValueType) -> None:
    assert check(parse(text), STUDY) is result


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[weight:label] = 'x'", "reads the label of a choice"),
        ("[sex:value] = '7'", "not a code of [sex:value]"),
        ("[ghost][2] = 1", "field 'ghost'"),
        ("[week_9][weight][2] = 1", "visit 'week_9'"),
        ("year([weight])", "dates and times"),
        ("mod([name], 2)", "arithmetic needs numbers"),
        ("[record-name] * 2", "arithmetic needs numbers"),
    ],
)
def test_checker_refuses_misuse_of_the_new_constructs(text: str, words: str) -> None:
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the kinds differ, the words tell
        check(parse(text), STUDY)
    assert words in raised.value.message  # type: ignore[attr-defined]


def test_a_type_error_points_at_the_construct() -> None:
    with pytest.raises(ExpressionTypeError) as raised:
        check(parse("[weight] + [sex:label]"), STUDY)
    assert raised.value.position is not None and raised.value.position.column == 12
