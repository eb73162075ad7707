"""REDCap-style expressions and what they give for one record (see CONTEXT)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from datacapt.expressions import (
    BLANK,
    EvaluationError,
    MappingContext,
    MissingCode,
    Value,
    evaluate,
    is_true,
    parse,
)

TODAY = date(2024, 3, 15)
CONTEXT = MappingContext(
    {
        "sex": "1",
        "age": Decimal(42),
        "weight_kg": Decimal("72.5"),
        "height_cm": Decimal(180),
        "zero": Decimal(0),
        "empty": BLANK,
        "nothing": "",
        "nk": MissingCode("NK"),
        "symptoms": frozenset({"1", "88", "-1"}),
        "dob": date(1980, 5, 17),
        "visit_date": date(2024, 3, 1),
        "admitted": datetime(2024, 3, 1, 8, 30),
        "discharged": datetime(2024, 3, 3, 20, 45, 30),
        "wake": time(7, 15),
        "sleep": time(23, 0),
        "note": "hello",
        "dose_text": "3.50",
        "consent": True,
        "count": 3,
    },
    visits={"baseline_arm_1": {"weight_kg": Decimal(80), "symptoms": frozenset({"2"})}},
    today=TODAY,
)

D = Decimal
CASES: list[tuple[str, Value]] = [
    # comparisons, with REDCap's coercion of codes
    ("[sex] = '1'", True),
    ("[sex] == 1", True),
    ("[sex] <> '2'", True),
    ("[sex] != '1'", False),
    ("[sex] = '01'", True),
    ("[age] > 40", True),
    ("[age] >= 42", True),
    ("[age] < 42", False),
    ("[age] <= 41.9", False),
    ("[count] = 3", True),
    ("'abc' < 'abd'", True),
    # arithmetic and precedence
    ("[weight_kg] + 0.5", D(73)),
    ("[height_cm] - 200", D(-20)),
    ("[weight_kg] * 2", D(145)),
    ("round([weight_kg] / ([height_cm] / 100) ^ 2, 1)", D("22.4")),
    ("1 + 2 * 3", D(7)),
    ("(1 + 2) * 3", D(9)),
    ("10 - 4 - 3", D(3)),
    ("12 / 3 / 2", D(2)),
    ("1 / 3", D("0.3333333333333333333333333333")),
    ("2 ^ 3 ^ 2", D(512)),
    ("-2 ^ 2", D(-4)),
    ("(-2) ^ 2", D(4)),
    ("2 ^ -1", D("0.5")),
    ("4 ^ .5", D(2)),
    ("0 ^ 0", D(1)),
    ("+[sex] + 1", D(2)),
    ("- -3", D(3)),
    (".5 + 1", D("1.5")),
    ("([sex] = '1') + ([age] > 100)", D(1)),
    # logic: and binds tighter than or, not tighter than and; keywords in any case
    ("1 = 1 or 1 = 2 and 1 = 2", True),
    ("(1 = 1 or 1 = 2) and 1 = 2", False),
    ("not [sex] = '2'", True),
    ("not([sex] = '1')", False),
    ("NOT [age] > 50 AND [sex] = '1'", True),
    ("[sex] = '2' Or [age] < 50", True),
    ("[age] > 50 and [unknown] = 1", False),
    # truthiness
    ("[zero] or [note]", True),
    ("[zero] and [note]", False),
    ("not [empty]", True),
    ("not '0'", True),
    ("not 'hello'", False),
    ("not [nk]", True),
    ("not [dob]", False),
    # blanks
    ("[empty] = ''", True),
    ("[nothing] = ''", True),
    ("[absent] = ''", True),
    ("[empty] <> ''", False),
    ("[age] = ''", False),
    ("[age] <> ''", True),
    ("[empty] = 0", False),
    ("[empty] > 0", False),
    ("[empty] < 0", False),
    ("[empty] + 1", BLANK),
    ("-[empty]", BLANK),
    ("[note] * 2", BLANK),
    ("''", BLANK),
    # missing-data codes
    ("[nk] = 'NK'", True),
    ("[nk] = ''", False),
    ("[nk] * 2", BLANK),
    ("isblankormissingcode([nk])", True),
    ("isblankormissingcode([empty])", True),
    ("isblankormissingcode([age])", False),
    ("sum([nk], 2)", D(2)),
    # checkboxes
    ("[symptoms(88)] = '1'", True),
    ("[symptoms(2)] = '0'", True),
    ("[symptoms(-1)]", "1"),
    ("[symptoms(1)] + [symptoms(88)] + [symptoms(2)]", D(2)),
    ("[absent(1)]", "0"),
    # other visits
    ("[baseline_arm_1][symptoms(2)] = '1'", True),
    ("[baseline_arm_1][weight_kg] - [weight_kg]", D("7.5")),
    ("[baseline_arm_1][age] = ''", True),
    ("[week_4_arm_1][weight_kg] = ''", True),
    # coercions
    ("[dose_text] = 3.5", True),
    ("[dose_text] > 3", True),
    ("[dose_text] + 1", D("4.50")),
    ("[note] = 1", False),
    ("[note] <> 1", True),
    ("[note] > 1", False),
    ("[consent] = 1", True),
    ("[dob] > '1980-01-01'", True),
    ("[dob] = '1980-05-17'", True),
    ("[dob] = 'not a date'", False),
    ("[dob] < 5", False),
    ("[admitted] < '2024-03-01 09:00'", True),
    ("[admitted] > [visit_date]", True),
    ("[wake] < '08:00'", True),
    ("[wake] = [dob]", False),
    # today
    ("[visit_date] < today", True),
    ("[visit_date] = Today", False),
    ("datediff([dob], today, 'y') > 43", True),
    # datediff: d2 - d1, absolute unless signed, years of 365.2425 days and months of 30.44
    ("datediff([visit_date], today, 'd')", D(14)),
    ("datediff(today, [visit_date], 'd')", D(14)),
    ("datediff(today, [visit_date], 'd', 'true')", D(-14)),
    ("datediff(today, [visit_date], 'd', 'ymd', 'true')", D(-14)),
    ("datediff(today, [visit_date], 'd', 'dmy', 'false')", D(14)),
    ("datediff('today', [visit_date], 'd', ([sex] = '1'))", D(-14)),
    ("datediff('2023-03-15', today, 'y')", D("1.002073964557793794533768661")),
    ("round(datediff('2024-01-01', '2024-03-01', 'M'), 3)", D("1.971")),
    ("datediff([admitted], [discharged], 'h')", D("60.25833333333333333333333333")),
    ("datediff([admitted], [discharged], 'm')", D("3615.5")),
    ("datediff([admitted], [discharged], 's')", D(216930)),
    ("datediff([visit_date], [admitted], 'h')", D("8.5")),
    ("datediff([wake], [sleep], 'm')", D(945)),
    ("datediff([empty], today, 'd')", BLANK),
    ("datediff([dob], today, [empty])", BLANK),
    ("datediff([nk], today, 'd')", BLANK),
    ("datediff([wake], today, 'd')", BLANK),
    # rounding: half away from zero; roundup away from zero, rounddown toward it
    ("round(2.5)", D(3)),
    ("round(-2.5)", D(-3)),
    ("round(2.4)", D(2)),
    ("round(1.005, 2)", D("1.01")),
    ("round(0.125, 2)", D("0.13")),
    ("round(1234.5678, -2)", D(1200)),
    ("round(-0.4)", D(0)),
    ("round(7, 2)", D(7)),
    ("round([empty], 2)", BLANK),
    ("roundup(2.1)", D(3)),
    ("roundup(-2.1)", D(-3)),
    ("roundup(1.001, 2)", D("1.01")),
    ("rounddown(2.9)", D(2)),
    ("rounddown(-2.9)", D(-2)),
    ("rounddown(-1.009, 2)", D("-1.00")),
    # other functions
    ("sqrt(16)", D(4)),
    ("abs(-3.5)", D("3.5")),
    ("min(3, [empty], 1, 2)", D(1)),
    ("max(3, '', 7, [note])", D(7)),
    ("mean(1, 2, 3, 4)", D("2.5")),
    ("median(5, 1, 3)", D(3)),
    ("median(4, 1, 3, 2)", D("2.5")),
    ("sum(1, 2, [empty])", D(3)),
    ("sum('', [empty])", BLANK),
    ("mean([nk])", BLANK),
    ("isnumber('3.5')", True),
    ("isnumber([age])", True),
    ("isnumber([note])", False),
    ("isnumber([empty])", False),
    ("if([sex] = '1', 'male', 'female')", "male"),
    ("if([empty], 1, 2)", D(2)),
    ("IF([sex] = '1', 1, 10 ^ 100 ^ 2)", D(1)),
    ("Round(2.5)", D(3)),
    # impossible arithmetic is blank
    ("1 / 0", BLANK),
    ("[age] / [zero]", BLANK),
    ("0 / 0", BLANK),
    ("0 ^ -1", BLANK),
    ("(-8) ^ (1 / 3)", BLANK),
    ("sqrt(-4)", BLANK),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_expression_value(text: str, expected: Value) -> None:
    result = evaluate(parse(text), CONTEXT)
    assert result == expected
    assert type(result) is type(expected)


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize(
    ("value", "truth"),
    [
        (True, True),
        (False, False),
        (Decimal(0), False),
        (Decimal("0.0"), False),
        (Decimal("-1"), True),
        ("", False),
        ("0", False),
        ("0.0", True),
        ("no", True),
        (BLANK, False),
        (MissingCode("NK"), False),
        (date(2024, 1, 1), True),
        (time(0, 0), True),
    ],
)
def test_truthiness(value: Value, truth: bool) -> None:
    assert is_true(value) is truth


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("2 ^ (200 - 99)", 3),
        ("[age] ^ ([age] * 5)", 7),
        ("(10 ^ 100) ^ 100 ^ 100", 12),
        ("round(2, 29)", 1),
        ("round(2, 1.5)", 1),
        ("datediff(today, [dob], 'w')", 1),
        ("datediff(today, [dob], 'd', 'ydm')", 1),
        ("datediff(today, [dob], 'd', 'yes')", 1),
        ("[symptoms] = '1'", 1),
        ("1 + (10 ^ 100 * 10 ^ 100) ^ 100 ^ 100", 27),
    ],
)
def test_evaluation_errors_point_at_the_operation(text: str, column: int) -> None:
    with pytest.raises(EvaluationError) as raised:
        evaluate(parse(text), CONTEXT)
    assert raised.value.code == "evaluation"
    assert raised.value.position is not None
    assert raised.value.position.column == column


def test_results_too_large_for_the_context_are_errors_not_hangs() -> None:
    huge = MappingContext({"x": Decimal("9e999998"), "beyond": Decimal("1e1000000")})
    twelve = ", ".join(["[x]"] * 12)
    for text in ("[x] * 10 * 10", "[x] ^ 2", f"sum({twelve})", "round([beyond], 2)"):
        with pytest.raises(EvaluationError):
            evaluate(parse(text), huge)


def test_products_beyond_any_keepable_number_are_errors() -> None:
    """Each factor is allowed; their product overflows long before it could grow without end."""
    product = " * ".join(["10 ^ 100"] * 10)
    with pytest.raises(EvaluationError, match="too large"):
        evaluate(parse(product), CONTEXT)
    assert evaluate(parse(" * ".join(["10 ^ 99"] * 10)), CONTEXT) == Decimal("1E+990")


def test_date_times_with_and_without_zone_are_not_compared() -> None:
    zoned = datetime(2024, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=1)))
    context = MappingContext({"zoned": zoned, "naive": datetime(2024, 3, 1, 9, 0)})
    assert evaluate(parse("[zoned] = [naive]"), context) is False
    with pytest.raises(EvaluationError):
        evaluate(parse("[zoned] < [naive]"), context)
    with pytest.raises(EvaluationError):
        evaluate(parse("datediff([zoned], [naive], 'h')"), context)
    assert evaluate(parse("datediff([zoned], '2024-03-01', 'h')"), context) == Decimal("8.5")


def test_values_a_context_should_not_give_are_errors() -> None:
    context = MappingContext({"ratio": 0.5, "infinite": Decimal("Infinity")})
    for text in ("[ratio] + 1", "[infinite] = 1"):
        with pytest.raises(EvaluationError):
            evaluate(parse(text), context)


def test_today_is_the_date_the_caller_gives() -> None:
    given = date(2026, 12, 5)
    assert evaluate(parse("today"), MappingContext({}, today=given)) == given


def test_today_without_a_date_is_an_error_not_the_servers_date() -> None:
    with pytest.raises(EvaluationError):
        evaluate(parse("today"), MappingContext({}))
