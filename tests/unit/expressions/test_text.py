"""The tree the parser builds, the canonical text, references and renaming."""

from __future__ import annotations

from decimal import Decimal

import pytest

from datacapt.expressions import (
    ExpressionSyntaxError,
    MappingContext,
    Reference,
    check,
    evaluate,
    parse,
    references,
    rename,
    to_text,
)
from datacapt.expressions.ast import Binary, Call, If, Not, Number, Text, Unary
from datacapt.expressions.symbols import FieldInfo, Symbols, ValueType


def test_tree_of_a_branching_condition() -> None:
    expression = parse("[a] = '1' AND NOT([b] > 2)")
    assert expression.text == "[a] = '1' AND NOT([b] > 2)"
    assert expression.root == Binary(
        "and",
        Binary("=", Reference(None, "a"), Text("1")),
        Not(Binary(">", Reference(None, "b"), Number(Decimal(2)))),
    )


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("-2^2", Unary("-", Binary("^", Number(Decimal(2)), Number(Decimal(2))))),
        (
            "2^3^2",
            Binary("^", Number(Decimal(2)), Binary("^", Number(Decimal(3)), Number(Decimal(2)))),
        ),
        ("2^-1", Binary("^", Number(Decimal(2)), Unary("-", Number(Decimal(1))))),
        (
            "1 - 2 - 3",
            Binary("-", Binary("-", Number(Decimal(1)), Number(Decimal(2))), Number(Decimal(3))),
        ),
        ("[a] == 1", Binary("=", Reference(None, "a"), Number(Decimal(1)))),
        ("[a] != 1", Binary("<>", Reference(None, "a"), Number(Decimal(1)))),
        ("[v][f(-1)]", Reference("v", "f", "-1")),
        ("ROUND(.5)", Call("round", (Number(Decimal("0.5")),))),
        ("If(1, '', \"x\")", If(Number(Decimal(1)), Text(""), Text("x"))),
    ],
)
def test_precedence_and_normal_forms(text: str, tree: object) -> None:
    assert parse(text).root == tree


def test_parsing_is_cached_and_the_result_immutable() -> None:
    assert parse("[a] + 1") is parse("[a] + 1")
    with pytest.raises(AttributeError):
        parse("[a] + 1").root.operator = "-"  # type: ignore[misc]


def test_positions_point_at_operators_and_names() -> None:
    root = parse("[a] +\n  round([b])").root
    assert isinstance(root, Binary)
    assert (root.position.line, root.position.column) == (1, 5)
    assert (root.right.position.line, root.right.position.column) == (2, 3)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("[a]='1' AND NOT([b]>2)", "[a] = '1' and not ([b] > 2)"),
        ("[a]=='1' or [b]!=2", "[a] = '1' or [b] <> 2"),
        ("((([a])))", "[a]"),
        ("([a] + [b]) * [c]", "([a] + [b]) * [c]"),
        ("[a] + ([b] * [c])", "[a] + [b] * [c]"),
        ("[a] - ([b] - [c])", "[a] - ([b] - [c])"),
        ("([a] - [b]) - [c]", "[a] - [b] - [c]"),
        ("(2 ^ 3) ^ 2", "(2^3)^2"),
        ("2 ^ (3 ^ 2)", "2^3^2"),
        ("(-2) ^ 2", "(-2)^2"),
        ("-(2 ^ 2)", "-2^2"),
        ("- (-[a])", "- -[a]"),
        ("-([a] + 1)", "-([a] + 1)"),
        ("([a] = 1) = ([b] = 2)", "([a] = 1) = ([b] = 2)"),
        ("[a] or ([b] or [c])", "[a] or ([b] or [c])"),
        ("([a] or [b]) and [c]", "([a] or [b]) and [c]"),
        ("not (not [a])", "not not [a]"),
        ("not [a] and [b]", "not [a] and [b]"),
        ("(not [a]) = 1", "(not [a]) = 1"),
        ('IF([a] = 1, \'say "hi"\', "it\'s")', 'if([a] = 1, \'say "hi"\', "it\'s")'),
        ("datediff([d1],[d2],\"y\", 'dmy')", "datediff([d1], [d2], 'y', 'dmy')"),
        ("0.50 + .5 + 5.", "0.50 + 0.5 + 5"),
        ("TODAY", "today"),
        ("[baseline_arm_1][f(-1)]", "[baseline_arm_1][f(-1)]"),
    ],
)
def test_canonical_text(text: str, canonical: str) -> None:
    expression = parse(text)
    assert to_text(expression) == canonical
    assert parse(canonical) == expression


def test_references_are_each_field_read_once() -> None:
    expression = parse("[a] + [a] + [v1][b] + [c(1)] + [c(2)] + if([a] = 1, [d], 0)")
    assert references(expression) == {
        Reference(None, "a"),
        Reference("v1", "b"),
        Reference(None, "c", "1"),
        Reference(None, "c", "2"),
        Reference(None, "d"),
    }
    assert all(reference.position is None for reference in references(expression))


def test_rename_keeps_the_layout() -> None:
    expression = parse("[a] = '1'\n  OR [v1][b(2)] = '1' or [a] > [zz]")
    renamed = rename(expression, {"a": "alpha", "b": "beta"}, {"v1": "visit_one"})
    assert renamed.text == "[alpha] = '1'\n  OR [visit_one][beta(2)] = '1' or [alpha] > [zz]"
    assert references(renamed) == {
        Reference(None, "alpha"),
        Reference("visit_one", "beta", "2"),
        Reference(None, "zz"),
    }


def test_rename_refuses_invalid_names() -> None:
    with pytest.raises(ExpressionSyntaxError):
        rename(parse("[a] = 1"), {"a": "Alpha"}, {})


def test_the_largest_expressions_allowed_leave_the_caller_stack_room() -> None:
    """500 nodes make a 250-deep chain; each walk takes at most two frames a level, so a caller
    already 300 frames deep (a web request) still has room under Python's limit of 1000."""
    chain = parse("[a]" + " + [a]" * 249)

    def use(depth: int) -> None:
        if depth:
            return use(depth - 1)
        assert evaluate(chain, MappingContext({"a": Decimal(1)})) == 250
        assert check(chain, Symbols({"a": FieldInfo(ValueType.NUMBER)})) is ValueType.NUMBER
        assert parse(to_text(chain)) == chain
        assert references(chain) == {Reference(None, "a")}
        return None

    use(300)
