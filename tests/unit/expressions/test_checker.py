"""Static checking against a study's fields and visits, as at publication."""

from __future__ import annotations

import pytest

from datacapt.expressions import (
    ExpressionTypeError,
    FieldInfo,
    Symbols,
    UnknownReferenceError,
    ValueType,
    check,
    parse,
)

SYMBOLS = Symbols(
    fields={
        "age": FieldInfo(ValueType.NUMBER),
        "weight_kg": FieldInfo(ValueType.NUMBER),
        "initials": FieldInfo(ValueType.TEXT),
        "dob": FieldInfo(ValueType.DATE),
        "admitted": FieldInfo(ValueType.DATETIME),
        "wake": FieldInfo(ValueType.TIME),
        "sex": FieldInfo(ValueType.CHOICE, frozenset({"1", "2"})),
        "unit": FieldInfo(ValueType.CHOICE, frozenset({"y", "d"})),
        "symptoms": FieldInfo(ValueType.MULTICHOICE, frozenset({"1", "2", "88", "-1"})),
        "consented": FieldInfo(ValueType.BOOLEAN),
        "anything": FieldInfo(ValueType.ANY),
    },
    visits=frozenset({"baseline_arm_1", "week_4_arm_1"}),
    missing_codes=frozenset({"NK", "NASK"}),
)


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("[sex] = '1' and not ([age] > 2)", ValueType.BOOLEAN),
        ("[sex] = 2", ValueType.BOOLEAN),
        ("[sex] = '02'", ValueType.BOOLEAN),
        ("[sex] = 'NK'", ValueType.BOOLEAN),
        ("[sex] <> ''", ValueType.BOOLEAN),
        ("[symptoms(88)] = '1'", ValueType.BOOLEAN),
        ("[symptoms(NASK)] = '1'", ValueType.BOOLEAN),
        ("[symptoms(1)] + [symptoms(2)]", ValueType.NUMBER),
        ("[baseline_arm_1][weight_kg] - [weight_kg]", ValueType.NUMBER),
        ("[weight_kg] / ([age] ^ 2)", ValueType.NUMBER),
        ("-[sex]", ValueType.NUMBER),
        ("([consented] = 1) + 1", ValueType.NUMBER),
        ("[dob] > '2020-01-01'", ValueType.BOOLEAN),
        ("[dob] = 'NK'", ValueType.BOOLEAN),
        ("[admitted] > [dob]", ValueType.BOOLEAN),
        ("[wake] < '08:00'", ValueType.BOOLEAN),
        ("[dob] < today", ValueType.BOOLEAN),
        ("datediff([dob], today, 'y')", ValueType.NUMBER),
        ("datediff('today', [admitted], 'h', 'dmy', 'true')", ValueType.NUMBER),
        ("datediff([dob], '2024-01-01', 'd', 'false')", ValueType.NUMBER),
        ("datediff([wake], '23:00', 'm')", ValueType.NUMBER),
        ("datediff([anything], [dob], [unit])", ValueType.NUMBER),
        ("round(datediff([dob], today, 'y'), 0)", ValueType.NUMBER),
        ("if([sex] = '1', [age], '')", ValueType.NUMBER),
        ("if([sex] = '1', '', [initials])", ValueType.TEXT),
        ("if([sex] = '1', [age], [initials])", ValueType.ANY),
        ("[initials]", ValueType.TEXT),
        ("isblankormissingcode([initials])", ValueType.BOOLEAN),
        ("isnumber([initials])", ValueType.BOOLEAN),
        ("sum([age], [weight_kg], '')", ValueType.NUMBER),
        ("[anything] + 1", ValueType.NUMBER),
    ],
)
def test_accepted(text: str, result: ValueType) -> None:
    assert check(parse(text), SYMBOLS) is result


@pytest.mark.parametrize(
    ("text", "error", "code", "column"),
    [
        ("[height] > 2", UnknownReferenceError, "unknown-field", 1),
        ("[age] > 2 or [week_8_arm_1][age] > 2", UnknownReferenceError, "unknown-visit", 14),
        ("[baseline_arm_1][height] > 2", UnknownReferenceError, "unknown-field", 1),
        ("[symptoms(3)] = '1'", UnknownReferenceError, "unknown-option", 1),
        ("[sex(1)] = '1'", ExpressionTypeError, "type", 1),
        ("[symptoms] = '1'", ExpressionTypeError, "type", 1),
        ("[sex] = '3'", UnknownReferenceError, "unknown-option", 9),
        ("'3' <> [sex]", UnknownReferenceError, "unknown-option", 1),
        ("[sex] = 3", UnknownReferenceError, "unknown-option", 9),
        ("[symptoms(1)] = '2'", UnknownReferenceError, "unknown-option", 17),
        ("[initials] + 1", ExpressionTypeError, "type", 1),
        ("2 * 'abc'", ExpressionTypeError, "type", 5),
        ("-[initials]", ExpressionTypeError, "type", 2),
        ("[dob] + 1", ExpressionTypeError, "type", 1),
        ("sum([age], [initials])", ExpressionTypeError, "type", 12),
        ("datediff([age], today, 'd')", ExpressionTypeError, "type", 10),
        ("datediff([dob], [initials], 'd')", ExpressionTypeError, "type", 17),
        ("datediff([dob], 'yesterday', 'd')", ExpressionTypeError, "type", 17),
        ("datediff([dob], [wake], 'd')", ExpressionTypeError, "type", 17),
        ("datediff([dob], today, 'D')", ExpressionTypeError, "type", 24),
        ("datediff([dob], today, 'd', 'iso')", ExpressionTypeError, "type", 29),
        ("datediff([dob], today, 'd', 'ymd', 'yes')", ExpressionTypeError, "type", 36),
        ("datediff([dob], today, 'd', 'ymd', 1)", ExpressionTypeError, "type", 36),
        ("[dob] > '01/02/2020'", ExpressionTypeError, "type", 9),
        ("[dob] > 5", ExpressionTypeError, "type", 9),
        ("[wake] = [dob]", ExpressionTypeError, "type", 10),
        ("round([initials])", ExpressionTypeError, "type", 7),
    ],
)
def test_refused(text: str, error: type[Exception], code: str, column: int) -> None:
    with pytest.raises(error) as raised:
        check(parse(text), SYMBOLS)
    assert raised.value.code == code
    assert raised.value.position.column == column


def test_messages_name_the_problem_and_the_way_out() -> None:
    with pytest.raises(UnknownReferenceError) as raised:
        check(parse("[sex] = '3'"), SYMBOLS)
    assert raised.value.message == (
        "'3' is not a code of [sex], whose codes are 1, 2: correct the code."
    )
    with pytest.raises(ExpressionTypeError) as raised:
        check(parse("[symptoms] = '1'"), SYMBOLS)
    assert "[symptoms(-1)]" in raised.value.message
