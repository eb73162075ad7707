"""Static checking when a study version is published: names exist, types fit, and comparisons
with a choice field use its codes (a typo there would silently never match)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import time
from decimal import Decimal

from datacapt.expressions import smart
from datacapt.expressions.ast import (
    ARITHMETIC_OPERATORS,
    LOGICAL_OPERATORS,
    Binary,
    Boolean,
    Call,
    Expression,
    If,
    Node,
    Not,
    Number,
    Reference,
    SmartVariable,
    Text,
    Today,
    Unary,
)
from datacapt.expressions.errors import ExpressionTypeError, UnknownReferenceError
from datacapt.expressions.functions import (
    DATE_FORMATS,
    FUNCTIONS,
    SIGNED_WORDS,
    UNIT_SECONDS,
    Parameter,
)
from datacapt.expressions.symbols import FieldInfo, Symbols, ValueType
from datacapt.expressions.values import looks_numeric, parse_moment, parse_moment_in

NUMERIC = frozenset(
    {ValueType.NUMBER, ValueType.CHOICE, ValueType.BOOLEAN, ValueType.BLANK, ValueType.ANY}
)
MOMENTS = frozenset({ValueType.DATE, ValueType.DATETIME, ValueType.TIME})
UNTYPED = frozenset({ValueType.ANY, ValueType.BLANK})
MODIFIABLE = frozenset(
    {ValueType.CHOICE, ValueType.MULTICHOICE, ValueType.BOOLEAN, ValueType.ANY, ValueType.BLANK}
)
CHECKBOX_ANSWER = FieldInfo(ValueType.CHOICE, frozenset({"0", "1"}))
NAMES = {
    ValueType.NUMBER: "a number",
    ValueType.TEXT: "text",
    ValueType.DATE: "a date",
    ValueType.DATETIME: "a date-time",
    ValueType.TIME: "a time",
    ValueType.BOOLEAN: "a yes/no value",
    ValueType.CHOICE: "a choice",
    ValueType.MULTICHOICE: "a checkbox field",
    ValueType.BLANK: "blank",
    ValueType.ANY: "any value",
}


def check(expression: Expression, symbols: Symbols) -> ValueType:
    """The type of ``expression``'s result; raises the first problem found, with its position."""
    return _Checker(symbols).type_of(expression.root)


class _Checker:
    def __init__(self, symbols: Symbols) -> None:
        self.symbols = symbols

    def type_of(self, node: Node) -> ValueType:
        match node:
            case Number():
                return ValueType.NUMBER
            case Text(value=text):
                return ValueType.TEXT if text else ValueType.BLANK
            case Today():
                return ValueType.DATE
            case Boolean():
                return ValueType.BOOLEAN
            case Reference():
                return self._reference(node)
            case SmartVariable(name=name):
                return smart.VALUES[name]
            case Not(operand=operand):
                self.type_of(operand)
                return ValueType.BOOLEAN
            case Unary(operand=operand):
                _require_number(operand, self.type_of(operand))
                return ValueType.NUMBER
            case Binary(operator=operator, left=left, right=right):
                return self._binary(operator, left, right)
            case If(condition=condition, then=then, otherwise=otherwise):
                self.type_of(condition)
                return _common(self.type_of(then), self.type_of(otherwise))
            case Call(name=name, arguments=arguments):
                return self._call(name, arguments)
            case _:
                raise ExpressionTypeError(f"{node!r} is not a node the checker knows.")

    def _reference(self, node: Reference) -> ValueType:
        info = self._field_info(node)
        if node.modifier is not None and info.type not in MODIFIABLE:
            raise ExpressionTypeError(
                f"{node.text} reads the {node.modifier} of a choice, and [{node.field}] is "
                f"{NAMES[info.type]}: write [{node.field}].",
                node.position,
            )
        found = self._option_type(node, info)
        return ValueType.TEXT if node.modifier == "label" else found

    def _field_info(self, node: Reference) -> FieldInfo:
        """The field a reference names, at a visit the study has (or a smart one)."""
        visit = None if node.visit in smart.EVENTS else node.visit
        if visit is not None and visit not in self.symbols.visits:
            raise UnknownReferenceError(
                f"{node.text} names the visit '{node.visit}', which this study does not have.",
                node.position,
                "unknown-visit",
            )
        info = self.symbols.fields.get(node.field)
        if info is None:
            raise UnknownReferenceError(
                f"{node.text} names the field '{node.field}', which this study does not have.",
                node.position,
                "unknown-field",
            )
        return info

    def _option_type(self, node: Reference, info: FieldInfo) -> ValueType:
        if node.option is None:
            if info.type is ValueType.MULTICHOICE:
                if node.modifier is not None:
                    return ValueType.TEXT  # the ticked codes or labels, joined by ', '
                example = min(info.options or {"1"}, key=_code_order)
                raise ExpressionTypeError(
                    f"[{node.field}] is a checkbox field: name one of its options, as in "
                    f"[{node.field}({example})].",
                    node.position,
                )
            return info.type
        if info.type is not ValueType.MULTICHOICE:
            raise ExpressionTypeError(
                f"Only checkbox fields take an option in parentheses, and [{node.field}] is "
                f"{NAMES[info.type]}: write [{node.field}].",
                node.position,
            )
        if not self._is_code(node.option, info):
            raise UnknownReferenceError(
                f"'{node.option}' is not an option of [{node.field}], whose codes are "
                f"{_codes(info)}: correct {node.text}.",
                node.position,
                "unknown-option",
            )
        return ValueType.CHOICE

    def _is_code(self, code: str, info: FieldInfo) -> bool:
        return info.options is None or code in info.options or code in self.symbols.missing_codes

    def _binary(self, operator: str, left: Node, right: Node) -> ValueType:
        left_type, right_type = self.type_of(left), self.type_of(right)
        if operator in LOGICAL_OPERATORS:
            return ValueType.BOOLEAN
        if operator in ARITHMETIC_OPERATORS:
            _require_number(left, left_type)
            _require_number(right, right_type)
            return ValueType.NUMBER
        if operator in ("=", "<>"):
            self._check_code(left, right)
            self._check_code(right, left)
        self._check_comparable(left, left_type, right, right_type)
        self._check_comparable(right, right_type, left, left_type)
        return ValueType.BOOLEAN

    def _check_code(self, side: Node, literal: Node) -> None:
        """``[choice] = 'code'``: the code must be one of the field's."""
        if not isinstance(side, Reference) or not isinstance(literal, Number | Text):
            return
        if side.modifier == "label":
            return
        info = CHECKBOX_ANSWER if side.option is not None else self.symbols.fields[side.field]
        if info.type is not ValueType.CHOICE or info.options is None:
            return
        code = str(literal.value)
        if not code or self._is_code(code, info) or _numerically_in(code, info.options):
            return
        raise UnknownReferenceError(
            f"{_shown(literal)} is not a code of {side.text}, whose codes are {_codes(info)}: "
            "correct the code.",
            literal.position,
            "unknown-option",
        )

    def _check_comparable(
        self, node: Node, node_type: ValueType, other: Node, other_type: ValueType
    ) -> None:
        """A date or time compares with its own kind, or with text that is one."""
        if node_type not in MOMENTS:
            return
        if isinstance(other, Text) and other.value:
            if other.value in self.symbols.missing_codes or parse_moment(other.value):
                return
            raise ExpressionTypeError(
                f"{_shown(node)} is {NAMES[node_type]}, so write {_shown(other)} as "
                "'2024-01-31', '2024-01-31 08:30' or '08:30'.",
                other.position,
            )
        incompatible = other_type in (ValueType.NUMBER, ValueType.BOOLEAN, ValueType.CHOICE) or (
            other_type in MOMENTS
            and (node_type is ValueType.TIME) != (other_type is ValueType.TIME)
        )
        if incompatible:
            raise ExpressionTypeError(
                f"{_shown(node)} is {NAMES[node_type]} and {_shown(other)} is "
                f"{NAMES[other_type]}: they cannot be compared.",
                other.position,
            )

    def _call(self, name: str, arguments: tuple[Node, ...]) -> ValueType:
        function = FUNCTIONS[name]
        times: set[bool] = set()
        date_format = next(
            (
                argument.value.lower()
                for index, argument in enumerate(arguments)
                if function.parameter(index) is Parameter.DATE_OPTION
                and isinstance(argument, Text)
                and argument.value.lower() in DATE_FORMATS
            ),
            None,
        )
        for index, argument in enumerate(arguments):
            parameter, value_type = function.parameter(index), self.type_of(argument)
            if parameter is Parameter.NUMBER:
                _require_number(argument, value_type)
            elif parameter is Parameter.MOMENT:
                times.update(self._moment(name, argument, value_type, date_format))
            elif parameter is Parameter.UNIT:
                _literal_in(name, argument, UNIT_SECONDS, "unit", case_sensitive=True)
            elif parameter is Parameter.DATE_OPTION:
                signed = SIGNED_WORDS if index == len(arguments) - 1 else ()
                _literal_in(name, argument, [*sorted(DATE_FORMATS), *signed], "date format")
            elif parameter is Parameter.SIGNED:
                _literal_in(name, argument, SIGNED_WORDS, "signed option")
        if len(times) > 1:
            raise ExpressionTypeError(
                f"{name}() cannot subtract a time and a date: give it two dates or two times.",
                arguments[1].position,
            )
        return function.result

    def _moment(
        self, name: str, argument: Node, value_type: ValueType, date_format: str | None
    ) -> set[bool]:
        """Check a date-or-time argument; the result says whether it is a time, if known."""
        if value_type in MOMENTS:
            return {value_type is ValueType.TIME}
        if value_type in UNTYPED:
            return set()
        if isinstance(argument, Text):
            if argument.value.strip().lower() == "today":
                return {False}
            moment = parse_moment_in(argument.value, date_format)
            if moment is not None:
                return {isinstance(moment, time)}
        raise ExpressionTypeError(
            f"{name}() computes with dates and times, and {_shown(argument)} is "
            f"{NAMES[value_type]}.",
            argument.position,
        )


def _require_number(node: Node, value_type: ValueType) -> None:
    """An operand of arithmetic: a number, or what REDCap reads as one."""
    if value_type in MOMENTS:
        raise ExpressionTypeError(
            f"{_shown(node)} is {NAMES[value_type]}, and arithmetic needs numbers: use "
            "datediff() to compute with dates and times.",
            node.position,
        )
    if value_type not in NUMERIC:
        raise ExpressionTypeError(
            f"{_shown(node)} is {NAMES[value_type]}, and arithmetic needs numbers.",
            node.position,
        )


def _literal_in(
    name: str, argument: Node, allowed: Collection[str], what: str, case_sensitive: bool = False
) -> None:
    """A literal argument must be one of ``allowed``; a computed one is checked when run."""
    if not isinstance(argument, Number | Text | Boolean):
        return
    value = _shown(argument) if isinstance(argument, Boolean) else str(argument.value)
    value = value if case_sensitive else value.lower()
    if value not in allowed:
        choices = ", ".join(f"'{choice}'" for choice in allowed)
        raise ExpressionTypeError(
            f"The {what} of {name}() is one of {choices}, not {_shown(argument)}.",
            argument.position,
        )


def _common(first: ValueType, second: ValueType) -> ValueType:
    if first is second or second is ValueType.BLANK:
        return first
    return second if first is ValueType.BLANK else ValueType.ANY


def _numerically_in(code: str, options: frozenset[str]) -> bool:
    if not looks_numeric(code):
        return False
    return any(looks_numeric(option) and Decimal(option) == Decimal(code) for option in options)


def _code_order(code: str) -> tuple[bool, Decimal, str]:
    return (not looks_numeric(code), Decimal(code) if looks_numeric(code) else Decimal(0), code)


def _codes(info: FieldInfo) -> str:
    return ", ".join(sorted(info.options or (), key=_code_order))


def _shown(node: Node) -> str:
    """A node as the designer wrote it, short enough for a message."""
    match node:
        case Reference():
            return node.text
        case Text(value=text):
            return repr(text)
        case Number(value=number):
            return f"{number:f}"
        case Today():
            return "today"
        case Boolean(value=flag):
            return "true" if flag else "false"
        case Call(name=name):
            return f"{name}(…)"
    return "this value"
