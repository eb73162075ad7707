"""The values an expression computes with, and the REDCap-compatible rules that relate them.

* Numbers are ``Decimal`` (never float), computed in :data:`NUMBERS`, a 28-digit context.
* BLANK is the empty value. A :class:`MissingCode` ("NK", "NASK"…) is blank for arithmetic and
  functions but compares equal to its code, so ``[x] = 'NK'`` works as in REDCap.
* Truthiness (:func:`is_true`): booleans as they are, numbers when non-zero, text when neither
  empty nor '0', dates and times always; blank and missing codes are false.
* Arithmetic with a blank or non-numeric operand gives BLANK, as does impossible arithmetic
  (division by zero, square root of a negative number). A result too large for the context is an
  :class:`EvaluationError`, never a hang.
* Comparisons: a numeric-looking string compares as a number, an ISO string as a date or time;
  values that cannot be compared are unequal, and every ordering between them is false. Blank
  equals only blank.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from operator import ge, gt, le, lt
from typing import Any, TypeAlias

from datacapt.expressions.errors import EvaluationError


class Blank(enum.Enum):
    """The type of BLANK: an enum gives a singleton that pickles and type-checks."""

    BLANK = "blank"

    def __repr__(self) -> str:
        return "BLANK"


BLANK = Blank.BLANK


@dataclass(frozen=True)
class MissingCode:
    """A missing-data code from the study's list, held by a field instead of a value."""

    code: str


Value: TypeAlias = Decimal | str | datetime | date | time | bool | Blank | MissingCode
Moment: TypeAlias = datetime | date | time

NUMBERS = Context(prec=28, Emax=999, Emin=-999, traps=[InvalidOperation, DivisionByZero, Overflow])
"""Every computation runs in this context; a result of 10^1000 or more overflows, and raises
instead of growing towards a number no form can keep (tinier results round towards zero)."""

MOMENT_SHAPES: tuple[tuple[type[Moment], re.Pattern[str]], ...] = (
    (date, re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")),
    (
        datetime,
        re.compile(
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
            r"(Z|[+-][0-9]{2}:[0-9]{2})?"
        ),
    ),
    (time, re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?")),
)
NUMERIC_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*")
MAX_EXPONENT = 100


def normalize(raw: object) -> Value:
    """A value from a context as the evaluator handles it: '' and None are BLANK, ints Decimal."""
    if raw is None or (isinstance(raw, str) and not raw):
        return BLANK
    if isinstance(raw, bool | str | date | time | Blank | MissingCode):
        return raw
    if isinstance(raw, Decimal) and raw.is_finite():
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    raise EvaluationError(
        f"A field holds {raw!r}, a {type(raw).__name__}, which expressions cannot use: give "
        "numbers as Decimal, not float."
    )


def shown(value: Value) -> str:
    """A value as a message quotes it."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, MissingCode):
        return f"'{value.code}'"
    if value is BLANK:
        return "blank"
    return str(value)


def is_blank(value: Value) -> bool:
    return value is BLANK or isinstance(value, MissingCode)


def is_true(value: Value) -> bool:
    """Whether a branching condition or an edit check holds (see the module's rules)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return not value.is_zero()
    if isinstance(value, str):
        return value not in ("", "0")
    return isinstance(value, date | time)


def looks_numeric(text: str) -> bool:
    return NUMERIC_TEXT.fullmatch(text) is not None


def to_number(value: Value) -> Decimal | None:
    """The number a value stands for, or None when it is blank or not numeric."""
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str) and looks_numeric(value):
        return Decimal(value.strip())
    return None


def calculate(operation: Callable[[], Decimal]) -> Decimal | Blank:
    """``operation`` (using :data:`NUMBERS`): impossible arithmetic is BLANK (so is an infinity,
    which ``0 ^ -1`` gives without a signal), overflow an error."""
    try:
        result = operation()
    except Overflow:
        raise EvaluationError(
            "The result is too large to compute: check the values and the exponents."
        ) from None
    except (DivisionByZero, InvalidOperation):
        return BLANK
    return result if result.is_finite() else BLANK


def power(base: Decimal, exponent: Decimal) -> Decimal | Blank:
    if exponent.copy_abs() > MAX_EXPONENT:  # exact: abs() would round, and could overflow
        raise EvaluationError(
            f"An exponent of {exponent} is too large: use exponents between "
            f"-{MAX_EXPONENT} and {MAX_EXPONENT}."
        )
    if base.is_zero() and exponent.is_zero():
        return Decimal(1)
    return calculate(lambda: NUMBERS.power(base, exponent))


ARITHMETIC: dict[str, Callable[[Decimal, Decimal], Decimal | Blank]] = {
    "+": lambda left, right: calculate(lambda: NUMBERS.add(left, right)),
    "-": lambda left, right: calculate(lambda: NUMBERS.subtract(left, right)),
    "*": lambda left, right: calculate(lambda: NUMBERS.multiply(left, right)),
    "/": lambda left, right: calculate(lambda: NUMBERS.divide(left, right)),
    "^": power,
}


def arithmetic(operator: str, left: Value, right: Value) -> Value:
    left_number, right_number = to_number(left), to_number(right)
    if left_number is None or right_number is None:
        return BLANK
    return ARITHMETIC[operator](left_number, right_number)


def parse_moment(text: str) -> Moment | None:
    """An ISO date ('2020-01-31'), date-time ('2020-01-31 08:30', 'T' allowed, seconds and zone
    optional) or time ('08:30', '08:30:15') written as text, or None."""
    text = text.strip()
    for kind, shape in MOMENT_SHAPES:
        if shape.fullmatch(text):
            try:
                return kind.fromisoformat(text)
            except ValueError:
                return None
    return None


FORMATTED_DATE = re.compile(
    r"(?P<a>[0-9]{1,4})[-/.](?P<b>[0-9]{1,2})[-/.](?P<c>[0-9]{1,4})(?:[T ](?P<time>.+))?"
)
DATE_ORDERS = frozenset({"ymd", "mdy", "dmy"})


def parse_moment_in(text: str, date_format: str | None) -> Moment | None:
    """A moment written as text, read as REDCap's datediff() reads its dates: ISO text always;
    other dates ('12/31/2020', '31-12-2020 08:30') in the order ``date_format`` names (ymd, mdy,
    dmy), with '-', '/' or '.' between the parts."""
    moment = parse_moment(text)
    order = (date_format or "").lower()
    if moment is not None or order not in DATE_ORDERS:
        return moment
    match = FORMATTED_DATE.fullmatch(text.strip())
    if match is None:
        return None
    parts = dict(zip(order, (match["a"], match["b"], match["c"]), strict=True))
    if len(parts["y"]) != 4:
        return None
    iso = f"{parts['y']}-{int(parts['m']):02d}-{int(parts['d']):02d}"
    return parse_moment(f"{iso} {match['time']}" if match["time"] else iso)


def align_moments(left: Moment, right: Moment) -> tuple[Moment, Moment] | None:
    """Two moments made comparable, a date being midnight (in the zone of the date-time it meets);
    None for a time next to a date."""
    if isinstance(left, time) != isinstance(right, time):
        return None
    if isinstance(left, datetime) and not isinstance(right, datetime):
        return left, _at_midnight(right, left.tzinfo)
    if isinstance(right, datetime) and not isinstance(left, datetime):
        return _at_midnight(left, right.tzinfo), right
    return left, right


def _at_midnight(day: date, zone: tzinfo | None) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


@contextmanager
def comparing_moments() -> Iterator[None]:
    """Python refuses to order or subtract a zoned date-time and a naive one, and overflows
    converting zones next to year 1 or 9999: both are evaluation errors."""
    try:
        yield
    except TypeError:
        raise EvaluationError(
            "A date-time with a time zone cannot be compared with one without: give both a zone."
        ) from None
    except OverflowError:
        raise EvaluationError(
            "These date-times are too close to year 1 or 9999 to compare across time zones."
        ) from None


def _comparable(left: Value, right: Value) -> tuple[Any, Any] | None:
    """Both sides in one comparable kind, or None when they cannot be compared."""
    if isinstance(left, MissingCode):
        left = left.code
    if isinstance(right, MissingCode):
        right = right.code
    if isinstance(left, bool) and isinstance(right, bool):
        return left, right
    if isinstance(left, date | time) or isinstance(right, date | time):
        left_moment = parse_moment(left) if isinstance(left, str) else left
        right_moment = parse_moment(right) if isinstance(right, str) else right
        if isinstance(left_moment, date | time) and isinstance(right_moment, date | time):
            return align_moments(left_moment, right_moment)
        return None
    if (
        isinstance(left, str)
        and isinstance(right, str)
        and not (looks_numeric(left) and looks_numeric(right))
    ):
        return left, right
    left_number, right_number = to_number(left), to_number(right)
    if left_number is None or right_number is None:
        return None
    return left_number, right_number


def equals(left: Value, right: Value) -> bool:
    if left is BLANK or right is BLANK:
        return left is right
    pair = _comparable(left, right)
    if pair is None:
        return False
    with comparing_moments():
        return pair[0] == pair[1]


ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {"<": lt, "<=": le, ">": gt, ">=": ge}


def compare(operator: str, left: Value, right: Value) -> bool:
    """``left operator right`` with the module's rules: unequal kinds are unequal, never ordered."""
    if operator == "=":
        return equals(left, right)
    if operator == "<>":
        return not equals(left, right)
    if left is BLANK or right is BLANK:
        return False
    pair = _comparable(left, right)
    if pair is None:
        return False
    with comparing_moments():
        return ORDERINGS[operator](*pair)
