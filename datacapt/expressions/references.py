"""What an expression reads, and the same expression reading other names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from datacapt.expressions.ast import Expression, Reference, walk
from datacapt.expressions.parser import parse


def references(expression: Expression) -> frozenset[Reference]:
    """Every field the expression reads, without positions: to order calculated fields and to
    find cycles between them."""
    nodes = (node for node in walk(expression.root) if isinstance(node, Reference))
    return frozenset(replace(node, position=None) for node in nodes)


def rename(
    expression: Expression, fields: Mapping[str, str], visits: Mapping[str, str]
) -> Expression:
    """``expression`` with its fields and visits renamed; names absent from the mappings stay.

    Only the references change in the text, so the designer's layout is kept (a reference's
    text is exactly :attr:`Reference.text`). The new text is parsed again: a new name that is
    not a valid name raises an :class:`ExpressionSyntaxError`.
    """
    text = expression.text
    located = [
        (node.position.offset, node)
        for node in walk(expression.root)
        if isinstance(node, Reference) and node.position is not None
    ]
    for start, node in sorted(located, key=lambda item: item[0], reverse=True):
        renamed = replace(
            node,
            field=fields.get(node.field, node.field),
            visit=None if node.visit is None else visits.get(node.visit, node.visit),
        )
        text = text[:start] + renamed.text + text[start + len(node.text) :]
    return parse(text)
