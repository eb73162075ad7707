"""Expressions written in XPath, the FormalExpression language other ODM readers know.

Conditions become tests of ItemData values joined by ``and``, ``or`` and ``not()``, in the shape
of CDISC's examples (``ItemData[@ItemOID='I.SEX'][@Value='2']``), which Datacapt's ODM reader
also reads back; calculations become XPath 1.0 arithmetic over ``number()`` of ItemData values.
Whatever XPath 1.0 cannot say the same way (functions, dates, blanks, checkbox options, smart
variables, repeats) raises an :class:`UntranslatableError` naming the construct.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from datacapt.expressions import Expression, UntranslatableError
from datacapt.expressions.ast import (
    Binary,
    Boolean,
    Node,
    Not,
    Number,
    Reference,
    Text,
    Unary,
)
from datacapt.expressions.rendering import to_text

COMPARISONS = {"=": "=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
ARITHMETIC = {"+": "+", "-": "-", "*": "*", "/": "div"}
BOOLEAN_CODES = {"1": "true", "0": "false"}


@dataclass(frozen=True)
class Target:
    """What XPath names an item by: its OID, and whether its ODM DataType is boolean."""

    oid: str
    boolean: bool = False


def to_xpath(expression: Expression, items: Mapping[str, Target], events: Mapping[str, str]) -> str:
    """``expression`` in XPath 1.0; ``items`` by name, ``events`` (StudyEvent OIDs) by visit."""
    return _XPath(items, events).node(expression.root)


class _XPath:
    def __init__(self, items: Mapping[str, Target], events: Mapping[str, str]) -> None:
        self.items, self.events = items, events

    def node(self, node: Node) -> str:
        match node:
            case Binary(operator="and" | "or" as operator, left=left, right=right):
                return f"{self._wrapped(left)} {operator} {self._wrapped(right)}"
            case Not(operand=operand):
                return f"not({self.node(operand)})"
            case Binary(operator=operator, left=left, right=right) if operator in COMPARISONS:
                return self._comparison(operator, left, right, node)
            case Binary(operator=operator, left=left, right=right) if operator in ARITHMETIC:
                return f"{self._operand(left)} {ARITHMETIC[operator]} {self._operand(right)}"
            case Unary(operator="-", operand=operand):
                return f"-{self._operand(operand)}"
            case Unary(operand=operand):
                return self.node(operand)
            case Reference():
                return f"number({self._item(node)}/@Value)"
            case Number(value=number):
                return f"{number:f}"
            case Boolean(value=flag):
                return "true()" if flag else "false()"
        raise self._untranslatable(node)

    def _wrapped(self, node: Node) -> str:
        text = self.node(node)
        return f"({text})" if isinstance(node, Binary) and node.operator in ("and", "or") else text

    def _operand(self, node: Node) -> str:
        text = self.node(node)
        return f"({text})" if isinstance(node, Binary) else text

    def _comparison(self, operator: str, left: Node, right: Node, whole: Node) -> str:
        if isinstance(right, Reference) and not isinstance(left, Reference):
            left, right, operator = right, left, FLIPPED[operator]
        if not isinstance(left, Reference) or not isinstance(right, Number | Text):
            raise UntranslatableError(
                f"XPath compares an item with a value here, not {to_text(Expression('', whole))}",
                whole.position,
            )
        if isinstance(right, Text) and not right.value:
            raise UntranslatableError(
                f"{left.text} compared with a blank: an absent ItemData has no value to test",
                right.position,
            )
        target = self._target(left)
        value = right.value if isinstance(right, Text) else f"{right.value:f}"
        if target.boolean:
            value = BOOLEAN_CODES.get(str(value), str(value))
        quoted = (
            str(value)
            if isinstance(right, Number) and not target.boolean
            else _quoted(str(value), whole)
        )
        return f"{self._item(left)}[@Value {COMPARISONS[operator]} {quoted}]"

    def _target(self, reference: Reference) -> Target:
        if reference.option is not None or reference.modifier is not None:
            raise UntranslatableError(
                f"{reference.text}: ODM has no ItemData for a checkbox option or a label",
                reference.position,
            )
        if reference.instance is not None:
            raise UntranslatableError(
                f"{reference.text}: a repeat is not named in these XPath tests",
                reference.position,
            )
        target = self.items.get(reference.field)
        if target is None:
            raise UntranslatableError(f"{reference.text} is not an item", reference.position)
        return target

    def _item(self, reference: Reference) -> str:
        target = self._target(reference)
        path = f"ItemData[@ItemOID='{target.oid}']"
        if reference.visit is None:
            return path
        event = self.events.get(reference.visit)
        if event is None:
            raise UntranslatableError(
                f"{reference.text}: [{reference.visit}] is not a visit of the schedule",
                reference.position,
            )
        return f"StudyEventData[@StudyEventOID='{event}']/{path}"

    @staticmethod
    def _untranslatable(node: Node) -> UntranslatableError:
        return UntranslatableError(
            f"{to_text(Expression('', node))} has no equivalent in XPath 1.0", node.position
        )


def _quoted(value: str, node: Node) -> str:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise UntranslatableError("a value holding both kinds of quotes", node.position)
