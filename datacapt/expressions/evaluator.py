"""The whitelist interpreter: walks the syntax tree; nothing else is ever executed.

The rules for blanks, missing codes, coercions and truthiness are in
:mod:`~datacapt.expressions.values`. ``and``/``or`` stop at the first operand that decides, and
``if`` evaluates only the branch it takes.
"""

from __future__ import annotations

from decimal import Decimal

from datacapt.expressions import smart
from datacapt.expressions.ast import (
    ARITHMETIC_OPERATORS,
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
from datacapt.expressions.context import EvaluationContext
from datacapt.expressions.errors import EvaluationError
from datacapt.expressions.functions import FUNCTIONS
from datacapt.expressions.values import (
    BLANK,
    Value,
    arithmetic,
    compare,
    is_true,
    normalize,
    to_number,
)


def evaluate(expression: Expression, context: EvaluationContext) -> Value:
    """The value of ``expression`` for the record ``context`` reads from."""
    return _value(expression.root, context)


def _value(node: Node, context: EvaluationContext) -> Value:
    """One function, so that a deep tree costs one Python frame per level."""
    try:
        match node:
            case Number(value=number):
                return number
            case Text(value=text):
                return text or BLANK
            case Reference():
                return _reference(node, context)
            case SmartVariable(name=name):
                return normalize(context.smart(name))
            case Today():
                return context.today()
            case Boolean(value=flag):
                return flag
            case Binary(operator="and", left=left, right=right):
                return is_true(_value(left, context)) and is_true(_value(right, context))
            case Binary(operator="or", left=left, right=right):
                return is_true(_value(left, context)) or is_true(_value(right, context))
            case Binary(operator=operator, left=left, right=right) if (
                operator in ARITHMETIC_OPERATORS
            ):
                return arithmetic(operator, _value(left, context), _value(right, context))
            case Binary(operator=operator, left=left, right=right):
                return compare(operator, _value(left, context), _value(right, context))
            case Not(operand=operand):
                return not is_true(_value(operand, context))
            case Unary(operator=operator, operand=operand):
                number = to_number(_value(operand, context))
                if number is None:
                    return BLANK
                return number.copy_negate() if operator == "-" else number
            case If(condition=condition, then=then, otherwise=otherwise):
                branch = then if is_true(_value(condition, context)) else otherwise
                return _value(branch, context)
            case Call(name=name, arguments=arguments):
                values = tuple(_value(argument, context) for argument in arguments)
                return FUNCTIONS[name].implementation(values, context)
            case _:
                raise EvaluationError(f"{node!r} is not a node the evaluator knows.")
    except EvaluationError as error:
        if error.position is None and node.position is not None:
            raise error.at(node.position) from None
        raise


def _reference(node: Reference, context: EvaluationContext) -> Value:
    """A field's value or its options' labels, at the visit and repeat the reference names (a
    smart variable naming them is asked of the context first); blank when there is none."""
    visit = node.visit
    if visit in smart.EVENTS:
        named = normalize(context.smart(visit)) if visit != "event-name" else None
        if named is not None and not isinstance(named, str):
            return BLANK
        visit = named
    instance = None
    if node.instance is not None:
        written = node.instance
        number = (
            Decimal(written) if written.isdigit() else to_number(normalize(context.smart(written)))
        )
        if number is None or number < 1 or number != number.to_integral_value():
            return BLANK
        instance = int(number)
    if node.modifier == "label":
        return normalize(context.label(visit, node.field, node.option, instance))
    return normalize(context.value(visit, node.field, node.option, instance))
