"""The syntax tree: immutable nodes, safe to cache and to share between threads.

Each node carries the :class:`Position` an error about it points at: where a literal, reference or
function name starts, or where the operator of an operation stands. Positions do not take part in
equality, so two texts that differ only in layout give equal trees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from datacapt.expressions.errors import Position

LOGICAL_OPERATORS = frozenset({"or", "and"})
COMPARISON_OPERATORS = frozenset({"=", "<>", "<", "<=", ">", ">="})
ARITHMETIC_OPERATORS = frozenset({"+", "-", "*", "/", "^"})


@dataclass(frozen=True)
class Node:
    """A node of the tree; nodes built by hand rather than parsed have no position."""

    position: Position | None = field(default=None, compare=False, repr=False, kw_only=True)

    @property
    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True)
class Number(Node):
    """A number literal; never negative (a minus sign is the unary operator)."""

    value: Decimal


@dataclass(frozen=True)
class Text(Node):
    """A quoted literal; the empty text is blank."""

    value: str


@dataclass(frozen=True)
class Boolean(Node):
    """``true`` or ``false`` written bare, as REDCap writes datediff()'s signed argument."""

    value: bool


@dataclass(frozen=True)
class Today(Node):
    """The keyword ``today``: the context's current date."""


@dataclass(frozen=True)
class Reference(Node):
    """``[visit][field(option):modifier][instance]``, every part but the field optional.

    ``visit`` is a visit name or one of REDCap's event smart variables (``event-name``,
    ``previous-event-name``…); ``modifier`` is ``value`` or ``label``; ``instance`` is a number
    ("2") or an instance smart variable (``current-instance``…).

    Also what :func:`~datacapt.expressions.references` returns: its position is ignored by
    equality and hashing, so a set of references holds each one once.
    """

    visit: str | None
    field: str
    option: str | None = None
    modifier: str | None = None
    instance: str | None = None

    @property
    def text(self) -> str:
        """The reference as written, which is also how the parser read it."""
        visit = "" if self.visit is None else f"[{self.visit}]"
        option = "" if self.option is None else f"({self.option})"
        modifier = "" if self.modifier is None else f":{self.modifier}"
        instance = "" if self.instance is None else f"[{self.instance}]"
        return f"{visit}[{self.field}{option}{modifier}]{instance}"


@dataclass(frozen=True)
class SmartVariable(Node):
    """A REDCap smart variable standing alone, as ``[record-name]``: what it means is the
    context's (the subject, the visit, the user, the instance)."""

    name: str

    @property
    def text(self) -> str:
        return f"[{self.name}]"


@dataclass(frozen=True)
class Unary(Node):
    """``-x`` or ``+x``: both read their operand as a number."""

    operator: str
    operand: Node

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Not(Node):
    operand: Node

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Binary(Node):
    """A logical, comparison or arithmetic operation; ``==`` and ``!=`` are stored as ``=`` and
    ``<>``, ``AND``/``OR`` in lowercase."""

    operator: str
    left: Node
    right: Node

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class If(Node):
    """``if(condition, then, otherwise)``: a node of its own because only one branch is
    evaluated."""

    condition: Node
    then: Node
    otherwise: Node

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.condition, self.then, self.otherwise)


@dataclass(frozen=True)
class Call(Node):
    """A call of a whitelisted function; ``name`` is in lowercase."""

    name: str
    arguments: tuple[Node, ...]

    @property
    def children(self) -> tuple[Node, ...]:
        return self.arguments


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its tree and the text it came from (which equality ignores)."""

    text: str = field(compare=False)
    root: Node


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, without recursion (a long chain of ``+`` is deep)."""
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(reversed(current.children))
