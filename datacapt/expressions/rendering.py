"""Canonical text of an expression, for exports: lowercase keywords and names, '=' and '<>',
single spaces, and only the parentheses the tree needs, so the text parses back to an equal tree.
One exception for readers: ``not`` puts parentheses around an operation, ``not ([b] > 2)``.

Text literals are quoted with ' unless they contain one, then with "; the language has no
escapes, so a text holding both quotes cannot be written (the parser never makes one).

:func:`to_redcap` writes the same tree for REDCap itself, which knows no ``not`` (it reads
``!(...)``) and no bare ``today`` (only ``'today'`` as an argument of datediff()); what REDCap
cannot read raises an :class:`UntranslatableError` naming the construct.
"""

from __future__ import annotations

from datacapt.expressions.ast import (
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
from datacapt.expressions.errors import UntranslatableError

OR, AND, NOT, COMPARISON, SUM, PRODUCT, SIGNED, POWER, ATOM = range(9)
"""Binding strength, the grammar's levels from the loosest."""

BINARY_LEVELS = {
    "or": OR,
    "and": AND,
    **dict.fromkeys(("=", "<>", "<", "<=", ">", ">="), COMPARISON),
    "+": SUM,
    "-": SUM,
    "*": PRODUCT,
    "/": PRODUCT,
    "^": POWER,
}


def to_text(expression: Expression) -> str:
    return _Printer(redcap=False).render(expression.root)[0]


def to_redcap(expression: Expression) -> str:
    """The expression in REDCap's own syntax, for its data dictionary and project XML."""
    return _Printer(redcap=True).render(expression.root)[0]


class _Printer:
    def __init__(self, *, redcap: bool) -> None:
        self.redcap = redcap

    def render(self, node: Node, in_datediff: bool = False) -> tuple[str, int]:
        """The node's text and the level it binds at."""
        match node:
            case Binary(operator=operator, left=left, right=right):
                return self._binary(operator, left, right)
            case Not(operand=operand):
                text, level = self.render(operand)
                if self.redcap:
                    return f"!({text})", NOT
                return f"not {_wrap(text, level < SIGNED and not isinstance(operand, Not))}", NOT
            case Unary(operator=operator, operand=operand):
                text, level = self.render(operand)
                separator = " " if text[0] in "+-" else ""
                return f"{operator}{separator}{_wrap(text, level < SIGNED)}", SIGNED
            case If(condition=condition, then=then, otherwise=otherwise):
                return f"if({self._arguments((condition, then, otherwise))})", ATOM
            case Call(name=name, arguments=arguments):
                return f"{name}({self._arguments(arguments, name == 'datediff')})", ATOM
            case Today() if self.redcap and in_datediff:
                return "'today'", ATOM
            case Today() if self.redcap:
                raise UntranslatableError(
                    "REDCap reads today only as 'today' in datediff(): compare with "
                    "datediff(..., 'today', 'd') instead.",
                    node.position,
                )
            case _:
                return _atom(node), ATOM

    def _binary(self, operator: str, left: Node, right: Node) -> tuple[str, int]:
        level = BINARY_LEVELS[operator]
        left_text, left_level = self.render(left)
        right_text, right_level = self.render(right)
        if level == POWER:
            left_text = _wrap(left_text, left_level < ATOM)
            right_text = _wrap(right_text, right_level < SIGNED)
            return f"{left_text}^{right_text}", POWER
        left_text = _wrap(left_text, left_level < level or (level == COMPARISON == left_level))
        right_text = _wrap(right_text, right_level <= level)
        return f"{left_text} {operator} {right_text}", level

    def _arguments(self, arguments: tuple[Node, ...], in_datediff: bool = False) -> str:
        return ", ".join(self.render(argument, in_datediff)[0] for argument in arguments)


def _atom(node: Node) -> str:
    match node:
        case Number(value=number):
            return f"{number:f}"
        case Text(value=text):
            return f'"{text}"' if "'" in text else f"'{text}'"
        case Reference() | SmartVariable():
            return node.text
        case Today():
            return "today"
        case Boolean(value=flag):
            return "true" if flag else "false"
    raise TypeError(f"{node!r} is not a node of an expression.")


def _wrap(text: str, needed: bool) -> str:
    return f"({text})" if needed else text
