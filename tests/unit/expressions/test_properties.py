"""Properties over generated input: nothing but the language's own errors ever escapes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, time, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from datacapt.expressions import (
    EvaluationError,
    Expression,
    ExpressionError,
    FieldInfo,
    MappingContext,
    Symbols,
    UntranslatableError,
    ValueType,
    check,
    evaluate,
    parse,
    smart,
    to_redcap,
    to_text,
)
from datacapt.expressions.ast import (
    ARITHMETIC_OPERATORS,
    COMPARISON_OPERATORS,
    LOGICAL_OPERATORS,
    Binary,
    Boolean,
    Call,
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
from datacapt.expressions.functions import FUNCTIONS
from datacapt.expressions.values import Blank, MissingCode

SETTINGS = settings(max_examples=200, deadline=None)

FIELDS = ("a", "b", "cb", "d", "t")
VISITS = ("v1", "baseline_arm_1")
OPTIONS = ("1", "-1", "x_y", "NK")
OPERATORS = sorted(LOGICAL_OPERATORS | COMPARISON_OPERATORS | ARITHMETIC_OPERATORS)

TOKENS = [
    *("[a]", "[b(1)]", "[v1][a]", "[v1][cb(-1)]", "[A]", "[event-name]", "[", "]", "[]"),
    *("[a][2]", "[v1][a][previous-instance]", "[a:label]", "[cb(1):value]", "[survey-url]"),
    *("[previous-event-name][a]", "[a][0]", "[a][b][c]", "null", "||", "contains", "mid"),
    *("(", ")", ",", "1", "2.5", ".5", "100", "101", "'x'", '"y"', "''", "'", '"'),
    *("and", "OR", "not", "=", "==", "<>", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "^"),
    *("if", "datediff", "round", "sum", "min", "today", "foo", "true", "&&", "!", "!=", "%"),
    *(" ", "\n", "\t"),
]

# --- syntax trees -----------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(0, 100).map(Decimal), st.decimals(min_value=0, max_value=100, places=2)
).map(Number)
texts = (
    st.text(st.characters(codec="utf-8"), max_size=8)
    .filter(lambda text: "'" not in text or '"' not in text)
    .map(Text)
)
references = st.builds(
    Reference,
    st.none() | st.sampled_from([*VISITS, *sorted(smart.EVENTS)]),
    st.sampled_from(FIELDS),
    st.none() | st.sampled_from(OPTIONS),
    st.none() | st.sampled_from(["value", "label"]),
    st.none() | st.sampled_from(["1", "2", "12", *sorted(smart.INSTANCES)]),
)
smart_variables = st.sampled_from(sorted(smart.VALUES)).map(SmartVariable)
leaves = st.one_of(
    numbers, texts, references, smart_variables, st.booleans().map(Boolean), st.just(Today())
)


def calls(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    def with_arguments(name: str) -> st.SearchStrategy[Node]:
        function = FUNCTIONS[name]
        maximum = function.maximum or function.required + 3
        arguments = st.lists(children, min_size=function.required, max_size=maximum)
        return arguments.map(lambda nodes: Call(name, tuple(nodes)))

    return st.sampled_from(sorted(FUNCTIONS)).flatmap(with_arguments)


def branches(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(Binary, st.sampled_from(OPERATORS), children, children),
        st.builds(Unary, st.sampled_from(["+", "-"]), children),
        st.builds(Not, children),
        st.builds(If, children, children, children),
        calls(children),
    )


trees = st.recursive(leaves, branches, max_leaves=10)

# --- records and studies ----------------------------------------------------------------------

zones = st.sampled_from([None, UTC, timezone(timedelta(hours=-5, minutes=-30))])
values = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.integers(),
    st.text(max_size=10),
    st.sampled_from(["1", "0", "-2.5", "2020-01-31", "2020-01-31 08:30", "08:30", "today"]),
    st.sampled_from(["y", "M", "d", "true", "false", "ymd"]),
    st.dates(),
    st.datetimes(timezones=zones),
    st.times(timezones=zones),
    st.booleans(),
    st.none(),
    st.sampled_from(["NK", "NASK"]).map(MissingCode),
    st.frozensets(st.sampled_from(OPTIONS)),
)
records = st.dictionaries(st.sampled_from(FIELDS), values)
contexts = st.builds(
    MappingContext,
    records,
    st.dictionaries(st.sampled_from(VISITS), records),
    st.dates(),
    instances=st.dictionaries(
        st.tuples(st.none() | st.sampled_from(VISITS), st.integers(1, 3)), records
    ),
    labels=st.dictionaries(
        st.sampled_from(FIELDS), st.dictionaries(st.sampled_from(OPTIONS), st.text(max_size=5))
    ),
    smart=st.dictionaries(st.sampled_from(sorted(smart.VALUES)), values),
)
studies = st.builds(
    Symbols,
    st.dictionaries(
        st.sampled_from(FIELDS),
        st.builds(
            FieldInfo,
            st.sampled_from(ValueType),
            st.none() | st.frozensets(st.sampled_from([*OPTIONS, "0", "2"]), max_size=4),
        ),
    ),
    st.frozensets(st.sampled_from(VISITS)),
    st.frozensets(st.sampled_from(["NK", "NASK"])),
)

# --- properties -------------------------------------------------------------------------------


def outcome(function: Callable[..., object], *arguments: object) -> object:
    """What ``function`` returns, or the ExpressionError it raises (any other exception fails)."""
    try:
        return function(*arguments)
    except ExpressionError as error:
        return error


def assert_parses_or_fails_cleanly(text: str) -> None:
    result = outcome(parse, text)
    if isinstance(result, ExpressionError):
        assert result.message
        assert result.code
        if result.position is not None:
            assert result.position.line >= 1
            assert result.position.column >= 1
            assert 0 <= result.position.offset <= len(text)
    else:
        assert isinstance(result, Expression)


@SETTINGS
@given(st.text(max_size=200))
def test_any_text_parses_or_fails_with_an_expression_error(text: str) -> None:
    assert_parses_or_fails_cleanly(text)


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map("".join))
def test_token_soup_parses_or_fails_with_an_expression_error(text: str) -> None:
    assert_parses_or_fails_cleanly(text)


@SETTINGS
@given(trees)
def test_canonical_text_parses_back_to_the_same_tree(tree: Node) -> None:
    assert parse(to_text(Expression("", tree))).root == tree


@SETTINGS
@given(trees, contexts)
def test_evaluation_gives_a_value_or_an_evaluation_error(
    tree: Node, context: MappingContext
) -> None:
    result = outcome(evaluate, parse(to_text(Expression("", tree))), context)
    if isinstance(result, ExpressionError):
        assert isinstance(result, EvaluationError)
        assert result.position is not None
    else:
        assert isinstance(result, Decimal | str | date | time | bool | Blank | MissingCode)
        assert not isinstance(result, Decimal) or result.is_finite()


@SETTINGS
@given(trees, studies)
def test_checking_gives_a_type_or_an_expression_error(tree: Node, study: Symbols) -> None:
    result = outcome(check, parse(to_text(Expression("", tree))), study)
    if isinstance(result, ExpressionError):
        assert result.position is not None
    else:
        assert isinstance(result, ValueType)


@SETTINGS
@given(trees)
def test_redcap_text_parses_back_to_the_same_tree_or_names_what_redcap_lacks(tree: Node) -> None:
    result = outcome(to_redcap, Expression("", tree))
    if isinstance(result, ExpressionError):
        assert isinstance(result, UntranslatableError)
        assert "today" in result.message
    else:
        assert isinstance(result, str)
        back = parse(result).root
        assert back == tree or "'today'" in result
