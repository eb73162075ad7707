"""The whitelist of functions: REDCap's names, arities and blank rules.

``if`` is not here: only one of its branches is evaluated, so it is a node of its own
(:class:`~datacapt.expressions.ast.If`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation
from functools import reduce

from datacapt.expressions.context import EvaluationContext
from datacapt.expressions.errors import EvaluationError
from datacapt.expressions.symbols import ValueType
from datacapt.expressions.values import (
    BLANK,
    NUMBERS,
    MissingCode,
    Moment,
    Value,
    align_moments,
    calculate,
    comparing_moments,
    is_blank,
    looks_numeric,
    parse_moment,
    parse_moment_in,
    shown,
    to_number,
)

UNIT_SECONDS = {
    "y": Decimal("31556952"),  # 365.2425 days, as REDCap
    "M": Decimal("2630016"),  # 30.44 days, as REDCap
    "d": Decimal(86400),
    "h": Decimal(3600),
    "m": Decimal(60),
    "s": Decimal(1),
}
DATE_FORMATS = frozenset({"ymd", "mdy", "dmy"})
INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")
MAX_TEXT = 100_000  # characters a text function counts up to
SIGNED_WORDS = {"true": True, "false": False}
MAX_PLACES = 28
TIME_DAY = date(2000, 1, 1)


class Parameter(enum.Enum):
    """What an argument must be, for the static checker."""

    NUMBER = "number"
    TEXT = "text"  # any value, read as its text
    ANY = "any"
    MOMENT = "moment"  # a date, date-time or time; 'today'
    UNIT = "unit"  # one of UNIT_SECONDS
    DATE_OPTION = "date option"  # a date format or, when it is the last argument, signed
    SIGNED = "signed"  # 'true' or 'false'


Implementation = Callable[[tuple[Value, ...], EvaluationContext], Value]


@dataclass(frozen=True)
class Function:
    """A whitelisted function; a variadic one repeats its last parameter."""

    name: str
    parameters: tuple[Parameter, ...]
    required: int
    variadic: bool
    result: ValueType
    implementation: Implementation

    @property
    def maximum(self) -> int | None:
        return None if self.variadic else len(self.parameters)

    def parameter(self, index: int) -> Parameter:
        return self.parameters[min(index, len(self.parameters) - 1)]


def arity_message(name: str, minimum: int, maximum: int | None, given: int) -> str:
    if maximum is None:
        expected = f"at least {minimum}"
    elif maximum == minimum:
        expected = str(minimum)
    elif maximum == minimum + 1:
        expected = f"{minimum} or {maximum}"
    else:
        expected = f"{minimum} to {maximum}"
    plural = "" if expected == "1" else "s"
    return f"{name}() takes {expected} argument{plural}, not {given}: correct the call."


def _numbers(arguments: tuple[Value, ...]) -> list[Decimal]:
    """The numeric arguments; blanks and text are skipped, as REDCap does."""
    return [number for argument in arguments if (number := to_number(argument)) is not None]


def _aggregate(combine: Callable[[list[Decimal]], Decimal]) -> Implementation:
    def implementation(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
        numbers = _numbers(arguments)
        if not numbers:
            return BLANK
        return calculate(lambda: combine(numbers))

    return implementation


def _sum(numbers: list[Decimal]) -> Decimal:
    return reduce(NUMBERS.add, numbers)


def _mean(numbers: list[Decimal]) -> Decimal:
    return NUMBERS.divide(_sum(numbers), len(numbers))


def _median(numbers: list[Decimal]) -> Decimal:
    ordered = sorted(numbers)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return NUMBERS.divide(NUMBERS.add(ordered[middle - 1], ordered[middle]), 2)


def _unary(operation: Callable[[Decimal], Decimal]) -> Implementation:
    def implementation(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
        number = to_number(arguments[0])
        if number is None:
            return BLANK
        return calculate(lambda: operation(number))

    return implementation


def _rounding(mode: str) -> Implementation:
    """round (half away from zero), roundup (away from zero), rounddown (toward zero)."""

    def implementation(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
        number = to_number(arguments[0])
        places = to_number(arguments[1]) if len(arguments) > 1 else Decimal(0)
        if number is None or places is None:
            return BLANK
        if places != places.to_integral_value() or places.copy_abs() > MAX_PLACES:
            raise EvaluationError(
                f"Round to a whole number of decimal places between -{MAX_PLACES} and "
                f"{MAX_PLACES}, not {places}."
            )
        return calculate(lambda: _round(number, -int(places), mode))

    return implementation


def _round(number: Decimal, exponent: int, mode: str) -> Decimal:
    number = NUMBERS.plus(number)
    if number.as_tuple().exponent >= exponent:
        return number
    rounded = number.quantize(Decimal(f"1e{exponent}"), mode, NUMBERS)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def _moment(
    value: Value, context: EvaluationContext, date_format: str | None = None
) -> Moment | None:
    if isinstance(value, date | time):
        return value
    if isinstance(value, str):
        if value.strip().lower() == "today":
            return context.today()
        return parse_moment_in(value, date_format)
    return None


def _is_date_format(value: Value) -> bool:
    return isinstance(value, str) and value.lower() in DATE_FORMATS


def _signed(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in SIGNED_WORDS:
        return SIGNED_WORDS[value.lower()]
    raise EvaluationError(f"datediff() is signed with 'true' or 'false', not {shown(value)}.")


def _datediff_format(options: tuple[Value, ...]) -> str | None:
    """The date format among datediff()'s arguments after the unit, if one is given."""
    first = options[0] if options else None
    return first.lower() if isinstance(first, str) and first.lower() in DATE_FORMATS else None


def _datediff_signed(options: tuple[Value, ...]) -> bool:
    """REDCap's optional arguments after the unit: [dateformat[, signed]], or signed alone."""
    if not options:
        return False
    if len(options) == 1:
        return False if _is_date_format(options[0]) else _signed(options[0])
    if not _is_date_format(options[0]):
        raise EvaluationError(
            f"datediff()'s date format is 'ymd', 'mdy' or 'dmy', not {shown(options[0])}."
        )
    return _signed(options[1])


def _seconds_between(start: Moment, end: Moment) -> Decimal | None:
    pair = align_moments(start, end)
    if pair is None:
        return None
    start, end = pair
    if isinstance(start, time) and isinstance(end, time):
        start, end = datetime.combine(TIME_DAY, start), datetime.combine(TIME_DAY, end)
    with comparing_moments():
        delta = end - start
    seconds = Decimal(delta.days * 86400 + delta.seconds)
    return seconds + Decimal(delta.microseconds).scaleb(-6) if delta.microseconds else seconds


def _datediff(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
    first, second, unit, *options = arguments
    if is_blank(unit):
        return BLANK
    signed = _datediff_signed(tuple(options))
    if unit not in UNIT_SECONDS:
        raise EvaluationError(
            f"datediff()'s unit is one of 'y', 'M', 'd', 'h', 'm' or 's', not {shown(unit)}."
        )
    date_format = _datediff_format(tuple(options))
    start, end = _moment(first, context, date_format), _moment(second, context, date_format)
    if start is None or end is None:
        return BLANK
    seconds = _seconds_between(start, end)
    if seconds is None:
        return BLANK
    difference = NUMBERS.divide(seconds, UNIT_SECONDS[unit])
    return difference if signed else difference.copy_abs()


def as_text(value: Value) -> str:
    """A value as the text functions read it: blank is '', a number without exponent, a
    date or time in ISO 8601, a missing code its code, a boolean 1 or 0 (as REDCap)."""
    if value is BLANK:
        return ""
    if isinstance(value, MissingCode):
        return value.code
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return value


def _text_test(test: Callable[[str, str], bool]) -> Implementation:
    """contains(), starts_with()…: REDCap compares text without regard to case."""

    def implementation(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
        haystack, needle = (as_text(argument).casefold() for argument in arguments)
        return test(haystack, needle)

    return implementation


def _text(operation: Callable[[str], Value]) -> Implementation:
    def implementation(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
        return _blank_if_empty(operation(as_text(arguments[0])))

    return implementation


def _blank_if_empty(value: Value) -> Value:
    return BLANK if value == "" else value


def _count(value: Value) -> int | None:
    """A count of characters: a whole number, at least 0, or None."""
    number = to_number(value)
    if number is None or number != number.to_integral_value() or number < 0:
        return None
    return int(min(number, MAX_TEXT))


def _left(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
    count = _count(arguments[1])
    return BLANK if count is None else _blank_if_empty(as_text(arguments[0])[:count])


def _right(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
    count = _count(arguments[1])
    if count is None:
        return BLANK
    return _blank_if_empty(as_text(arguments[0])[-count:] if count else "")


def _mid(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
    """mid(text, start, count): ``count`` characters from ``start``, counted from 1."""
    start, count = _count(arguments[1]), _count(arguments[2])
    if start is None or count is None or start < 1:
        return BLANK
    return _blank_if_empty(as_text(arguments[0])[start - 1 : start - 1 + count])


def _find(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
    """find(needle, haystack): where the needle starts, from 1, regardless of case; 0 when
    it is not there."""
    needle, haystack = (as_text(argument).casefold() for argument in arguments)
    return Decimal(haystack.find(needle) + 1)


def _concat(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
    return _blank_if_empty("".join(as_text(argument) for argument in arguments))


def _date_part(part: str) -> Implementation:
    """year(), month(), day() of a date, a date-time or ISO text (blank for anything else)."""

    def implementation(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
        value = arguments[0]
        moment = parse_moment(value) if isinstance(value, str) else value
        if not isinstance(moment, date):
            return BLANK
        return Decimal(getattr(moment, part))

    return implementation


def _isinteger(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
    value = arguments[0]
    if isinstance(value, str):
        return INTEGER_TEXT.fullmatch(value) is not None
    return isinstance(value, Decimal) and value == value.to_integral_value()


def _log(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
    """log(number[, base]): the natural logarithm, or in ``base``."""
    number = to_number(arguments[0])
    base = to_number(arguments[1]) if len(arguments) > 1 else None
    if number is None or (len(arguments) > 1 and base is None):
        return BLANK
    if base is None:
        return calculate(lambda: NUMBERS.ln(number))
    return calculate(lambda: NUMBERS.divide(NUMBERS.ln(number), NUMBERS.ln(base)))


def _mod(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
    """mod(dividend, divisor): the remainder, of the dividend's sign (as REDCap's PHP)."""
    dividend, divisor = to_number(arguments[0]), to_number(arguments[1])
    if dividend is None or divisor is None:
        return BLANK
    return calculate(lambda: NUMBERS.remainder(dividend, divisor))


def _stdev(numbers: list[Decimal]) -> Decimal:
    """The sample standard deviation (n − 1), as REDCap; one number has none."""
    if len(numbers) < 2:
        raise InvalidOperation
    mean = _mean(numbers)
    squares = _sum([NUMBERS.power(NUMBERS.subtract(n, mean), 2) for n in numbers])
    return NUMBERS.sqrt(NUMBERS.divide(squares, len(numbers) - 1))


def _isnumber(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
    value = arguments[0]
    return isinstance(value, Decimal) or (isinstance(value, str) and looks_numeric(value))


def _isblankormissingcode(arguments: tuple[Value, ...], context: EvaluationContext) -> Value:
    return is_blank(arguments[0])


def _function(
    name: str,
    parameters: tuple[Parameter, ...],
    implementation: Implementation,
    *,
    required: int | None = None,
    variadic: bool = False,
    result: ValueType = ValueType.NUMBER,
) -> Function:
    return Function(
        name=name,
        parameters=parameters,
        required=len(parameters) if required is None else required,
        variadic=variadic,
        result=result,
        implementation=implementation,
    )


NUMBER, TEXT, ANY, MOMENT = Parameter.NUMBER, Parameter.TEXT, Parameter.ANY, Parameter.MOMENT
BOOLEAN = ValueType.BOOLEAN

FUNCTIONS: dict[str, Function] = {
    function.name: function
    for function in (
        _function(
            "datediff",
            (MOMENT, MOMENT, Parameter.UNIT, Parameter.DATE_OPTION, Parameter.SIGNED),
            _datediff,
            required=3,
        ),
        _function("round", (NUMBER, NUMBER), _rounding(ROUND_HALF_UP), required=1),
        _function("roundup", (NUMBER, NUMBER), _rounding(ROUND_UP), required=1),
        _function("rounddown", (NUMBER, NUMBER), _rounding(ROUND_DOWN), required=1),
        _function("sqrt", (NUMBER,), _unary(NUMBERS.sqrt)),
        _function("abs", (NUMBER,), _unary(Decimal.copy_abs)),
        _function("min", (NUMBER,), _aggregate(min), variadic=True),
        _function("max", (NUMBER,), _aggregate(max), variadic=True),
        _function("mean", (NUMBER,), _aggregate(_mean), variadic=True),
        _function("median", (NUMBER,), _aggregate(_median), variadic=True),
        _function("sum", (NUMBER,), _aggregate(_sum), variadic=True),
        _function("stdev", (NUMBER,), _aggregate(_stdev), variadic=True),
        _function("log", (NUMBER, NUMBER), _log, required=1),
        _function("exp", (NUMBER,), _unary(NUMBERS.exp)),
        _function("mod", (NUMBER, NUMBER), _mod),
        _function("isblankormissingcode", (ANY,), _isblankormissingcode, result=ValueType.BOOLEAN),
        _function("isnumber", (ANY,), _isnumber, result=ValueType.BOOLEAN),
        _function("isinteger", (ANY,), _isinteger, result=ValueType.BOOLEAN),
        _function("contains", (TEXT, TEXT), _text_test(str.__contains__), result=BOOLEAN),
        _function("not_contain", (TEXT, TEXT), _text_test(lambda h, n: n not in h), result=BOOLEAN),
        _function("starts_with", (TEXT, TEXT), _text_test(str.startswith), result=BOOLEAN),
        _function("ends_with", (TEXT, TEXT), _text_test(str.endswith), result=BOOLEAN),
        _function("length", (TEXT,), _text(lambda text: Decimal(len(text)))),
        _function("concat", (TEXT,), _concat, variadic=True, result=ValueType.TEXT),
        _function("left", (TEXT, NUMBER), _left, result=ValueType.TEXT),
        _function("right", (TEXT, NUMBER), _right, result=ValueType.TEXT),
        _function("mid", (TEXT, NUMBER, NUMBER), _mid, result=ValueType.TEXT),
        _function("find", (TEXT, TEXT), _find),
        _function("trim", (TEXT,), _text(str.strip), result=ValueType.TEXT),
        _function("upper", (TEXT,), _text(str.upper), result=ValueType.TEXT),
        _function("lower", (TEXT,), _text(str.lower), result=ValueType.TEXT),
        _function("year", (MOMENT,), _date_part("year")),
        _function("month", (MOMENT,), _date_part("month")),
        _function("day", (MOMENT,), _date_part("day")),
    )
}
