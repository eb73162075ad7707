"""Errors a study designer reads in the form where they wrote the expression.

Every failure of the language is an :class:`ExpressionError` with an English sentence, a stable
machine ``code`` for the form and the tests, and where known the position it points at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self


@dataclass(frozen=True)
class Position:
    """A place in the expression's text: 1-based line and column, 0-based character offset."""

    line: int
    column: int
    offset: int

    @classmethod
    def in_text(cls, text: str, offset: int) -> Position:
        line_start = text.rfind("\n", 0, offset) + 1
        return cls(
            line=text.count("\n", 0, offset) + 1, column=offset - line_start + 1, offset=offset
        )


class ExpressionError(Exception):
    """Anything wrong with an expression, from its text to its evaluation."""

    default_code: ClassVar[str] = "expression"

    def __init__(self, message: str, position: Position | None = None, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.code = code or self.default_code

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        return f"line {self.position.line}, column {self.position.column}: {self.message}"

    def at(self, position: Position) -> Self:
        """The same error pointing at ``position`` (for errors raised where it was not known)."""
        return type(self)(self.message, position, self.code)


class ExpressionSyntaxError(ExpressionError):
    default_code = "syntax"


class ExpressionLimitError(ExpressionError):
    """The expression is too long, too deep or too large to be accepted."""

    default_code = "limit"


class UnknownReferenceError(ExpressionError):
    """A field, visit or option the study does not have ("unknown-field", "unknown-visit",
    "unknown-option")."""

    default_code = "unknown-field"


class UnknownFunctionError(ExpressionError):
    default_code = "unknown-function"


class ArityError(ExpressionError):
    default_code = "arity"


class ExpressionTypeError(ExpressionError):
    default_code = "type"


class EvaluationError(ExpressionError):
    """Evaluation cannot give a value; blanks and impossible arithmetic give BLANK instead."""

    default_code = "evaluation"


class UntranslatableError(ExpressionError):
    """The expression has no equivalent in another dialect (REDCap's, XPath)."""

    default_code = "untranslatable"
