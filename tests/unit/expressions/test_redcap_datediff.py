"""datediff() as REDCap writes it: datediff(date1, date2, units[, dateformat][, signed]), with
the format and the sign written bare (true/false) or quoted, each form with REDCap's meaning:
date2 - date1, absolute unless signed; dates given as text read in the named format."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from datacapt.expressions import (
    BLANK,
    ExpressionError,
    ExpressionTypeError,
    FieldInfo,
    MappingContext,
    Symbols,
    Value,
    ValueType,
    check,
    evaluate,
    parse,
    to_text,
)

TODAY = date(2024, 3, 15)
CONTEXT = MappingContext(
    {"visit_date": date(2024, 3, 1), "admitted": datetime(2024, 3, 1, 8, 30)}, today=TODAY
)
SYMBOLS = Symbols(
    fields={"visit_date": FieldInfo(ValueType.DATE), "admitted": FieldInfo(ValueType.DATETIME)},
    visits=frozenset(),
    missing_codes=frozenset(),
)


@pytest.mark.parametrize(
    ("text", "result"),
    [
        # units only; then the sign alone, bare or quoted, in either case
        ('datediff(today, [visit_date], "d")', Decimal(14)),
        ('datediff(today, [visit_date], "d", true)', Decimal(-14)),
        ('datediff(today, [visit_date], "d", TRUE)', Decimal(-14)),
        ('datediff(today, [visit_date], "d", false)', Decimal(14)),
        ('datediff(today, [visit_date], "d", "true")', Decimal(-14)),
        ('datediff([visit_date], today, "d", true)', Decimal(14)),
        # the format alone, then the format and the sign
        ('datediff([visit_date], "today", "d", "ymd")', Decimal(14)),
        ('datediff(today, [visit_date], "d", "mdy", true)', Decimal(-14)),
        ('datediff(today, [visit_date], "d", "dmy", false)', Decimal(14)),
        # dates written as text are read in the format named; ISO text in any format
        ('datediff("03/01/2024", today, "d", "mdy")', Decimal(14)),
        ('datediff("01/03/2024", today, "d", "dmy", true)', Decimal(14)),
        ('datediff("15-03-2024", "01-03-2024", "d", "dmy", true)', Decimal(-14)),
        ('datediff("2024/03/01", today, "d", "ymd", true)', Decimal(14)),
        ('datediff("2024-03-01", today, "d", "mdy", true)', Decimal(14)),
        ('datediff([admitted], "03/01/2024 20:30", "h", "mdy", true)', Decimal(12)),
        ('datediff("13/01/2024", today, "d", "mdy")', BLANK),  # no 13th month
    ],
)
def test_each_form_redcap_writes(text: str, result: Value) -> None:
    expression = parse(text)
    assert evaluate(expression, CONTEXT) == result
    assert parse(to_text(expression)) == expression  # exported as it was read


@pytest.mark.parametrize(
    "text",
    [
        'datediff([visit_date], today, "y", true)',
        'datediff([visit_date], today, "y", "mdy", true)',
        'datediff([visit_date], "12/31/2020", "d", "mdy")',
        'datediff([visit_date], "31.12.2020", "d", "dmy", false)',
    ],
)
def test_each_form_passes_the_check_at_publication(text: str) -> None:
    assert check(parse(text), SYMBOLS) is ValueType.NUMBER


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ('datediff([visit_date], "12/31/2020", "d")', 24),  # no format: not a date
        ('datediff([visit_date], "31/12/2020", "d", "mdy")', 24),  # not in the format named
        ('datediff([visit_date], today, "d", true, "ymd")', 36),  # the sign comes last
        ('datediff([visit_date], today, "d", "ymd", yes)', None),
    ],
)
def test_what_redcap_would_not_read_is_refused(text: str, column: int | None) -> None:
    with pytest.raises(ExpressionError) as raised:
        check(parse(text), SYMBOLS)
    if column is not None:
        assert isinstance(raised.value, ExpressionTypeError)
        assert raised.value.position.column == column
