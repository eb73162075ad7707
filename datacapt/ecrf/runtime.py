"""A form as it behaves while someone fills it: values parsed, calculations made, blocks shown or
hidden by their branching, edit checks fired. All of it on the server, with the one evaluator;
the browser only asks (htmx) and shows the result.

Used by the designer's preview and by data entry, so a preview is exactly what sites get.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pyramid.i18n import TranslationString

from datacapt.ecrf.definition import Block, EditCheck, Form, Item, ItemType
from datacapt.ecrf.values import Parsed, Typed, parse_value
from datacapt.expressions import ExpressionError, MappingContext, evaluate, is_true, parse
from datacapt.i18n import _
from datacapt.numbers import NumberError, plain

#: Enough rounds for any chain of branching (each round settles at least one more block).
MAX_ROUNDS = 50


@dataclass
class BlockState:
    block: Block
    raw: list[str] = field(default_factory=list)
    parsed: Parsed = field(default_factory=lambda: Parsed(None, None))
    visible: bool = True
    fired: list[EditCheck] = field(default_factory=list)
    missing: bool = False  # required, shown, and blank

    @property
    def name(self) -> str | None:
        return self.block.name if isinstance(self.block, Item) else None

    @property
    def error(self) -> TranslationString | None:
        return self.parsed.error if self.visible else None

    @property
    def warning(self) -> TranslationString | None:
        return self.parsed.warning if self.visible else None


@dataclass
class SubSectionState:
    oid: str
    title: dict[str, str]
    visible: bool
    blocks: list[BlockState]
    repeating: bool = False
    matrix: str | None = None


@dataclass
class SectionState:
    oid: str
    title: dict[str, str]
    visible: bool
    subsections: list[SubSectionState]


@dataclass
class FormState:
    form: Form
    sections: list[SectionState]
    blocks: dict[str, BlockState]  # by block OID

    def items(self) -> list[BlockState]:
        return [state for state in self.blocks.values() if state.name is not None]

    @property
    def errors(self) -> dict[str, TranslationString]:
        """Refused values of shown items, by variable name."""
        return {s.name: s.error for s in self.items() if s.error is not None and s.name}

    @property
    def blocking_checks(self) -> list[tuple[BlockState, EditCheck]]:
        return [(s, c) for s in self.items() for c in s.fired if c.severity == "blocking"]

    def stored(self) -> dict[str, str | None]:
        """What would be saved: canonical values of shown items; hidden items are blank."""
        return {
            s.name: (s.parsed.stored if s.visible and s.parsed.error is None else None)
            for s in self.items()
            if s.name
        }


def _condition(text: str | None, context: MappingContext) -> bool:
    if not text:
        return True
    try:
        return is_true(evaluate(parse(text), context))
    except ExpressionError:
        return True  # a broken condition never hides data; publication refuses broken ones


def _calculate(item: Item, context: MappingContext) -> Parsed:
    try:
        value = evaluate(parse(item.calculation or ""), context)
    except ExpressionError:
        return Parsed(None, None, error=_("This calculation could not be made."))
    if value is None or value == "" or not isinstance(value, Decimal | str | date):
        return Parsed(None, None)
    if not isinstance(value, Decimal):
        return Parsed(str(value), value)
    try:
        return Parsed(plain(value), value)
    except NumberError:
        return Parsed(None, None, error=_("This calculation gives a number too large to keep."))


def _is_blank(value: Typed) -> bool:
    return value is None or value == "" or value == frozenset()


def evaluate_form(
    form: Form,
    posted: Mapping[str, list[str]],
    *,
    others: Mapping[str, Typed] | None = None,
    visits: Mapping[str, Mapping[str, Typed]] | None = None,
    today: date | None = None,
) -> FormState:
    """The state of ``form`` for the raw values ``posted`` (by variable name).

    ``others`` are the subject's values on other forms of the same visit, ``visits`` the values
    at other visits, for expressions that reach them.
    """
    states: dict[str, BlockState] = {}
    for section in form.sections:
        for subsection in section.subsections:
            for block in subsection.blocks:
                state = BlockState(block)
                if isinstance(block, Item) and block.type is not ItemType.CALCULATED:
                    state.raw = list(posted.get(block.name, []))
                    state.parsed = parse_value(block, state.raw)
                states[block.oid] = state

    values: dict[str, Typed] = dict(others or {})
    hidden: set[str] = set()
    section_visibility: dict[str, bool] = {}
    for _round in range(MAX_ROUNDS):
        for state in states.values():
            if state.name is not None:
                values[state.name] = None if state.block.oid in hidden else state.parsed.value
        context = MappingContext(values, visits=dict(visits or {}), today=today)
        for state in states.values():
            if isinstance(state.block, Item) and state.block.type is ItemType.CALCULATED:
                state.parsed = _calculate(state.block, context)
                values[state.block.name] = state.parsed.value
        context = MappingContext(values, visits=dict(visits or {}), today=today)
        now_hidden: set[str] = set()
        for section in form.sections:
            shown_section = _condition(section.show_if, context)
            section_visibility[section.oid] = shown_section
            for subsection in section.subsections:
                shown_sub = shown_section and _condition(subsection.show_if, context)
                section_visibility[subsection.oid] = shown_sub
                for block in subsection.blocks:
                    if not (shown_sub and _condition(block.show_if, context)):
                        now_hidden.add(block.oid)
        if now_hidden == hidden:
            break
        hidden = now_hidden

    context = MappingContext(values, visits=dict(visits or {}), today=today)
    for state in states.values():
        state.visible = state.block.oid not in hidden
        block = state.block
        if not (state.visible and isinstance(block, Item)):
            continue
        blank = _is_blank(state.parsed.value) and state.parsed.stored is None  # partial: kept
        state.missing = block.required and blank and not state.error
        if state.parsed.error is None and not _is_blank(state.parsed.value):
            state.fired = [c for c in block.edit_checks if _fires(c, context)]
    return FormState(
        form=form,
        sections=[
            SectionState(
                section.oid,
                section.title,
                section_visibility[section.oid],
                [
                    SubSectionState(
                        sub.oid,
                        sub.title,
                        section_visibility[sub.oid],
                        [states[block.oid] for block in sub.blocks],
                        sub.repeating,
                        sub.matrix,
                    )
                    for sub in section.subsections
                ],
            )
            for section in form.sections
        ],
        blocks=states,
    )


def _fires(check: EditCheck, context: MappingContext) -> bool:
    try:
        return is_true(evaluate(parse(check.condition), context))
    except ExpressionError:
        return False


def form_state(state: FormState) -> dict[str, list[str]]:
    """What the browser applies after a re-evaluation: the element ids to show and to hide, and
    the inputs to mark invalid or valid (see static/app.js)."""
    groups = [(sub.oid, sub.visible) for section in state.sections for sub in section.subsections]
    groups += [(section.oid, section.visible) for section in state.sections]
    blocks = [(oid, block.visible) for oid, block in state.blocks.items()]
    return {
        "shown": [f"block-{oid}" for oid, visible in groups + blocks if visible],
        "hidden": [f"block-{oid}" for oid, visible in groups + blocks if not visible],
        "invalid": [f"item-{s.name}" for s in state.items() if s.error is not None],
        "valid": [f"item-{s.name}" for s in state.items() if s.error is None],
    }
