"""The study's expression language: branching logic, calculated fields and edit checks.

REDCap-compatible text (``[weight] > 100 and [sex] = '1'``) is parsed by a lark grammar into an
immutable tree (:func:`parse`, cached), checked against the study when a version is published
(:func:`check`), and evaluated on the server by a whitelist interpreter (:func:`evaluate`).
Nothing is ever handed to Python's own evaluation. REDCap's whole language is read: repeats
(``[field][2]``, ``[visit][field][previous-instance]``), ``[field:value]``/``[field:label]``,
``&&``/``||``/``!``, ``true``/``false``/``null``, its text, date and statistics functions, and
the smart variables that have a meaning in a study (:mod:`.smart`). :func:`to_text` writes the
canonical text, :func:`to_redcap` REDCap's own.

A partial date (a date item's ``UK/03/1970``, stored ``1970-03``) reaches expressions as a
missing value: ``[onset] = ''`` is true and ``datediff([onset], ...)`` is blank, as for a date
not given, because no single day can stand for it.
"""

from __future__ import annotations

from datacapt.expressions.ast import Expression, Reference
from datacapt.expressions.checker import check
from datacapt.expressions.context import EvaluationContext, MappingContext
from datacapt.expressions.errors import (
    ArityError,
    EvaluationError,
    ExpressionError,
    ExpressionLimitError,
    ExpressionSyntaxError,
    ExpressionTypeError,
    Position,
    UnknownFunctionError,
    UnknownReferenceError,
    UntranslatableError,
)
from datacapt.expressions.evaluator import evaluate
from datacapt.expressions.parser import parse
from datacapt.expressions.references import references, rename
from datacapt.expressions.rendering import to_redcap, to_text
from datacapt.expressions.symbols import FieldInfo, Symbols, ValueType
from datacapt.expressions.values import BLANK, Blank, MissingCode, Value, is_true

__all__ = [
    "BLANK",
    "ArityError",
    "Blank",
    "EvaluationContext",
    "EvaluationError",
    "Expression",
    "ExpressionError",
    "ExpressionLimitError",
    "ExpressionSyntaxError",
    "ExpressionTypeError",
    "FieldInfo",
    "MappingContext",
    "MissingCode",
    "Position",
    "Reference",
    "Symbols",
    "UnknownFunctionError",
    "UnknownReferenceError",
    "UntranslatableError",
    "Value",
    "ValueType",
    "check",
    "evaluate",
    "is_true",
    "parse",
    "references",
    "rename",
    "to_redcap",
    "to_text",
]
