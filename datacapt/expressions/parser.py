"""Text to syntax tree, with errors a study designer can act on.

lark's LALR parser reads ``grammar.lark``; :class:`_Builder` turns lark's tree into
:mod:`~datacapt.expressions.ast` nodes, checking what the grammar leaves loose (names inside
brackets, functions and their arities). Whatever the text, :func:`parse` returns an
:class:`Expression` or raises an :class:`ExpressionError`: lark's own exceptions are translated.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from datacapt.expressions import smart
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
    walk,
)
from datacapt.expressions.errors import (
    ArityError,
    ExpressionError,
    ExpressionLimitError,
    ExpressionSyntaxError,
    Position,
    UnknownFunctionError,
)
from datacapt.expressions.functions import FUNCTIONS, arity_message
from datacapt.expressions.values import MAX_EXPONENT

MAX_LENGTH = 4000
MAX_DEPTH = 40
MAX_NODES = 500

NAME = re.compile(r"[a-z][a-z0-9_]*")
OPTION = re.compile(r"[A-Za-z0-9_.-]+")
BRACKET = re.compile(r"(?P<name>[^()]*)(?:\((?P<option>[^()]*)\))?")
SMART_VARIABLE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)+(?::[A-Za-z0-9_,-]+)?")
BRACKETS = re.compile(r"\[[^\[\]]*\]")
MODIFIERS = frozenset({"value", "label"})
PARENTHESES = re.compile(r"'[^']*'|\"[^\"]*\"|\[[^\[\]]*\]|[()]")
OPERATOR_SPELLINGS = {"==": "=", "!=": "<>", "&&": "and", "||": "or"}
FUNCTION_NAMES = ", ".join(sorted([*FUNCTIONS, "if"]))
CHARACTER_HINTS = {
    "&": "write 'and' or '&&'",
    "|": "write 'or' or '||'",
    "!": "write 'not' or '!' before a value and '<>' or '!=' for 'is not equal to'",
}

_PARSER = Lark(
    resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8"),
    parser="lalr",
    propagate_positions=True,
    maybe_placeholders=False,
)


@lru_cache(maxsize=1024)
def parse(text: str) -> Expression:
    """The expression written in ``text``; cached, since data entry parses the same texts again
    and again (the result is immutable)."""
    if len(text) > MAX_LENGTH:
        raise ExpressionLimitError(
            f"The expression is longer than {MAX_LENGTH} characters: shorten it or split it into "
            "calculated fields.",
            Position.in_text(text, MAX_LENGTH),
        )
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    _check_depth(tree)
    try:
        root = _Builder().transform(tree)
    except VisitError as error:
        raise error.orig_exc from None
    _check_size(root)
    return Expression(text, root)


def _token_position(token: Token) -> Position:
    return Position(line=token.line, column=token.column, offset=token.start_pos)


def _check_depth(tree: Tree[Token]) -> None:
    """Refuse deep nesting before anything recursive walks the tree."""
    pending = [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise ExpressionLimitError(
                f"The expression nests more than {MAX_DEPTH} levels deep: simplify it or split "
                "it into calculated fields.",
                Position(node.meta.line, node.meta.column, node.meta.start_pos),
            )
        pending.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _check_size(root: Node) -> None:
    nodes = list(walk(root))
    if len(nodes) > MAX_NODES:
        positioned = sorted(
            (node.position for node in nodes if node.position), key=lambda p: p.offset
        )
        raise ExpressionLimitError(
            f"The expression has more than {MAX_NODES} parts: split it into calculated fields.",
            positioned[MAX_NODES],
        )


class _Builder(Transformer[Token, Node]):
    """lark's tree to syntax-tree nodes; each method is named after a rule or alias."""

    def number(self, children: list[Token]) -> Node:
        (token,) = children
        return Number(Decimal(token), position=_token_position(token))

    def string(self, children: list[Token]) -> Node:
        (token,) = children
        return Text(token[1:-1], position=_token_position(token))

    def reference(self, children: list[Token]) -> Node:
        (token,) = children
        return _reference(token)

    def bare_name(self, children: list[Token]) -> Node:
        (token,) = children
        if token.lower() == "today":
            return Today(position=_token_position(token))
        if token.lower() in ("true", "false"):
            return Boolean(token.lower() == "true", position=_token_position(token))
        if token.lower() == "null":
            return Text("", position=_token_position(token))
        raise ExpressionSyntaxError(
            f"'{token}' is not a value: write a field in brackets, as in [{token.lower()}], or "
            f"text in quotes, as in '{token}'.",
            _token_position(token),
        )

    def group(self, children: list[Node]) -> Node:
        (inner,) = children
        return inner

    def call(self, children: list[Any]) -> Node:
        name_token, *arguments = children
        name, position = name_token.lower(), _token_position(name_token)
        nodes = tuple(arguments)
        if name == "if":
            _check_arity("if", 3, 3, nodes, position)
            return If(*nodes, position=position)
        if name == "today":
            raise ExpressionSyntaxError("Write today without parentheses.", position)
        function = FUNCTIONS.get(name)
        if function is None:
            raise UnknownFunctionError(
                f"There is no function '{name_token}': use one of {FUNCTION_NAMES}.", position
            )
        _check_arity(name, function.required, function.maximum, nodes, position)
        return Call(name, nodes, position=position)

    def negation(self, children: list[Any]) -> Node:
        keyword, operand = children
        return Not(operand, position=_token_position(keyword))

    def signed(self, children: list[Any]) -> Node:
        sign, operand = children
        return Unary(str(sign), operand, position=_token_position(sign))

    def power(self, children: list[Any]) -> Node:
        base, caret, exponent = children
        literal = exponent
        while isinstance(literal, Unary):
            literal = literal.operand
        if isinstance(literal, Number) and literal.value > MAX_EXPONENT:
            raise ExpressionLimitError(
                f"An exponent of {literal.value} is too large: use exponents between "
                f"-{MAX_EXPONENT} and {MAX_EXPONENT}.",
                literal.position,
            )
        return Binary("^", base, exponent, position=_token_position(caret))

    def comparison(self, children: list[Any]) -> Node:
        return self._chain(children)

    def sum(self, children: list[Any]) -> Node:
        return self._chain(children)

    def product(self, children: list[Any]) -> Node:
        return self._chain(children)

    def conjunction(self, children: list[Any]) -> Node:
        return self._chain(children)

    def disjunction(self, children: list[Any]) -> Node:
        return self._chain(children)

    @staticmethod
    def _chain(children: list[Any]) -> Node:
        """``a op b op c`` as left-associative binary nodes."""
        node: Node = children[0]
        for operator, operand in zip(children[1::2], children[2::2], strict=True):
            symbol = OPERATOR_SPELLINGS.get(operator, operator.lower())
            node = Binary(symbol, node, operand, position=_token_position(operator))
        return node


def _check_arity(
    name: str, minimum: int, maximum: int | None, arguments: tuple[Node, ...], at: Position
) -> None:
    if len(arguments) < minimum or (maximum is not None and len(arguments) > maximum):
        raise ArityError(arity_message(name, minimum, maximum, len(arguments)), at)


def _reference(token: Token) -> Node:
    """A reference (``[visit][field(option):modifier][instance]``) or a smart variable, each
    part checked; what is not understood is named in the error."""
    position = _token_position(token)
    parts, offset = [], 0
    for part in BRACKETS.findall(token):
        parts.append((part, _shifted(position, offset)))
        offset += len(part)
    if len(parts) == 1 and _is_smart(parts[0][0]):
        return _smart_variable(*parts[0])
    instance = None
    if len(parts) > 1 and _is_instance(parts[-1][0]):
        instance = _instance(*parts.pop())
    visit = None
    if len(parts) == 2:
        visit = _visit(*parts.pop(0))
    if len(parts) != 1:
        text, where = parts[-1]
        before = "".join(part for part, _where in parts[:-1])
        raise ExpressionSyntaxError(
            f"{text} after {before} is not an instance: write a repeat number, as in "
            f"{before}[2], or one of {_listed(smart.INSTANCES)}.",
            where,
        )
    field, option, modifier = _field(*parts[0])
    return Reference(visit, field, option, modifier, instance, position=position)


def _shifted(position: Position, offset: int) -> Position:
    return Position(position.line, position.column + offset, position.offset + offset)


def _listed(names: frozenset[str]) -> str:
    return ", ".join(f"[{name}]" for name in sorted(names))


def _is_smart(text: str) -> bool:
    return SMART_VARIABLE.fullmatch(text[1:-1]) is not None


def _is_instance(text: str) -> bool:
    return text[1:-1].isdigit() or _is_smart(text)


def _smart_variable(text: str, position: Position) -> Node:
    name = text[1:-1]
    if name in smart.VALUES:
        return SmartVariable(name, position=position)
    reason = smart.LEFT_OUT.get(name.split(":")[0])
    if reason is not None:
        message = f"{text} is a REDCap smart variable Datacapt does not take: {reason}."
    else:
        message = (
            f"{text} is not a smart variable Datacapt knows: use one of "
            f"{_listed(frozenset(smart.VALUES))}, or a field name."
        )
    raise ExpressionSyntaxError(message, position)


def _instance(text: str, position: Position) -> str:
    name = text[1:-1]
    if name.isdigit():
        if name.startswith("0"):
            raise ExpressionSyntaxError(
                f"Repeats are numbered from 1, without leading zeros: {text} names none.",
                position,
            )
        return name
    if name not in smart.INSTANCES:
        raise ExpressionSyntaxError(
            f"{text} is not an instance: write a repeat number or one of "
            f"{_listed(smart.INSTANCES)}.",
            position,
        )
    return name


def _visit(text: str, position: Position) -> str:
    if _is_smart(text):
        name = text[1:-1]
        if name not in smart.EVENTS:
            raise ExpressionSyntaxError(
                f"{text} does not name a visit: write a visit name or one of "
                f"{_listed(smart.EVENTS)}.",
                position,
            )
        return name
    visit, option, modifier = _field(text, position, "visit")
    if option is not None or modifier is not None:
        suffix = f"({option})" if option is not None else f":{modifier}"
        raise ExpressionSyntaxError(
            f"A visit takes no option: write [{visit}][field{suffix}].", position
        )
    return visit


def _field(
    text: str, position: Position, kind: str = "field"
) -> tuple[str, str | None, str | None]:
    """The name, option code and modifier (``:value``, ``:label``) of one ``[...]``."""
    inner, modifier = text[1:-1], None
    if ":" in inner and kind == "field":
        inner, modifier = inner.rsplit(":", 1)
        if modifier not in MODIFIERS:
            raise ExpressionSyntaxError(
                f"':{modifier}' in {text} is not something Datacapt reads from a field: write "
                f"{text.replace(':' + modifier, ':value')} or "
                f"{text.replace(':' + modifier, ':label')}.",
                position,
            )
    name, option = _bracket(f"[{inner}]", kind, position)
    return name, option, modifier


def _bracket(text: str, kind: str, position: Position) -> tuple[str, str | None]:
    """The name and option code of one ``[...]``."""
    inner = text[1:-1]
    match = BRACKET.fullmatch(inner)
    name = match["name"] if match else inner
    if not inner.strip():
        raise ExpressionSyntaxError(
            f"These brackets are empty: write a {kind} name between them, as in [weight].",
            position,
        )
    if match is None or not NAME.fullmatch(name):
        raise ExpressionSyntaxError(_bad_name(text, name, kind), position)
    option = match["option"]
    if option is not None and not OPTION.fullmatch(option):
        raise ExpressionSyntaxError(
            f"'({option})' is not a valid option code: use letters, digits, '_', '.' or '-'.",
            position,
        )
    return name, option


def _bad_name(text: str, name: str, kind: str) -> str:
    suggestion = name.strip().lower()
    if NAME.fullmatch(suggestion):
        corrected = text.replace(name, suggestion, 1)
        return f"{kind.capitalize()} names are in lowercase, without spaces: write {corrected}."
    return (
        f"{text} is not a valid reference: a {kind} name is a lowercase letter followed by "
        "lowercase letters, digits or underscores."
    )


VALUE_TOKENS = frozenset({"NUMBER", "STRING", "REFERENCE"})
OPERATOR_TOKENS = frozenset(
    {"OR", "PIPES", "AND", "AMPERSANDS", "COMPARISON", "PLUS", "MINUS", "STAR", "SLASH", "CARET"}
)


def _syntax_error(text: str, error: UnexpectedInput) -> ExpressionError:
    if isinstance(error, UnexpectedCharacters):
        return _unexpected_character(text, error.pos_in_stream)
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        return _unexpected_token(text, error.token, _acceptable(text[: error.token.start_pos]))
    return _unexpected_end(text, _acceptable(text))


def _acceptable(prefix: str) -> frozenset[str]:
    """The tokens the parser would take after ``prefix``, which it read without error (lark's
    ``expected`` is wider: it merges the states the LALR tables share)."""
    parser = _PARSER.parse_interactive(prefix)
    parser.exhaust_lexer()
    return frozenset(parser.accepts())


def _unexpected_character(text: str, offset: int) -> ExpressionError:
    character = text[offset]
    position = Position.in_text(text, offset)
    if character in "'\"":
        message = f"This text is never closed: add a {character} at its end."
    elif character == "[":
        message = "This '[' is not closed: write a reference as [field] or [visit][field]."
    elif character == "]":
        message = "This ']' has no matching '[': remove it or add the '['."
    elif character in CHARACTER_HINTS:
        message = f"'{character}' is not an operator: {CHARACTER_HINTS[character]}."
    else:
        message = f"The character {character!r} cannot be used here: remove it."
    return ExpressionSyntaxError(message, position)


def _unexpected_token(text: str, token: Token, expected: frozenset[str]) -> ExpressionError:
    position = _token_position(token)
    if token.type == "RPAR" and not _open_parentheses(text[: token.start_pos]):
        return ExpressionSyntaxError("This ')' has no matching '(': remove it.", position)
    if token.type == "COMPARISON" and not expected & (VALUE_TOKENS | {"COMPARISON"}):
        return ExpressionSyntaxError(
            "Comparisons cannot be chained: join them with 'and', as in [a] < [b] and [b] < [c].",
            position,
        )
    found = token if len(token) <= 30 else f"{token[:27]}..."
    return ExpressionSyntaxError(f"Expected {_describe(expected)} here, not '{found}'.", position)


def _unexpected_end(text: str, expected: frozenset[str]) -> ExpressionError:
    end = len(text.rstrip())
    position = Position.in_text(text, end)
    if not end:
        return ExpressionSyntaxError(
            "The expression is empty: write a condition or a calculation.", position
        )
    opened = _open_parentheses(text)
    if "RPAR" in expected and opened:
        where = Position.in_text(text, opened[-1])
        return ExpressionSyntaxError(
            f"The '(' at line {where.line}, column {where.column} is never closed: add a ')'.",
            position,
        )
    return ExpressionSyntaxError(
        f"The expression ends too early: {_describe(expected)} is missing.", position
    )


def _open_parentheses(text: str) -> list[int]:
    """Offsets of the '(' that ``text`` leaves open, quoted text and references skipped."""
    opened: list[int] = []
    for match in PARENTHESES.finditer(text):
        if match.group() == "(":
            opened.append(match.start())
        elif match.group() == ")" and opened:
            opened.pop()
    return opened


def _describe(expected: frozenset[str]) -> str:
    """What the parser would have accepted, in words."""
    if expected & VALUE_TOKENS:
        parts = ["a value"]
    else:
        parts = ["an operator"] if expected & OPERATOR_TOKENS else []
    parts += [words for token, words in (("RPAR", "')'"), ("COMMA", "','")) if token in expected]
    if "$END" in expected or not parts:
        parts.append("the end of the expression")
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"
