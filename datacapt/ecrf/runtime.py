"""A form as it behaves while someone fills it: values parsed, calculations made, blocks shown or
hidden by their branching, edit checks fired. All of it on the server, with the one evaluator;
the browser only asks (htmx) and shows the result.

Used by the designer's preview and by data entry, so a preview is exactly what sites get.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from pyramid.i18n import TranslationString

from datacapt.ecrf.action_tags import NONE, PIPE, Tags, action_tags
from datacapt.ecrf.definition import (
    Block,
    EditCheck,
    Form,
    Item,
    ItemType,
    Validation,
    keep_published_items,
)
from datacapt.ecrf.values import Parsed, Typed, parse_value, shown
from datacapt.expressions import (
    BLANK,
    ExpressionError,
    MappingContext,
    Value,
    evaluate,
    is_true,
    parse,
)
from datacapt.expressions.functions import UNIT_SECONDS, as_text
from datacapt.expressions.values import parse_moment, to_number
from datacapt.i18n import _
from datacapt.numbers import NumberError, plain

#: Enough rounds for any chain of branching (each round settles at least one more block).
MAX_ROUNDS = 50
READ_ONLY = _("This field is read-only: its value cannot be changed here.")


@dataclass(frozen=True)
class Page:
    """Where and when a form is filled, beyond its values: what smart variables, other repeats,
    choice labels and action tags read.

    ``saved`` are the raw values of the saved form (None: a form never saved, which @DEFAULT
    and @NOW fill in); ``opening`` says the page is being opened, when @SETVALUE sets its value
    (never while typing or saving); ``now`` is the time where the data is entered, for @NOW.
    """

    smart: Mapping[str, Value] = field(default_factory=dict)
    repeats: Mapping[tuple[str | None, int], Mapping[str, Typed]] = field(default_factory=dict)
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    saved: Mapping[str, list[str]] | None = None
    opening: bool = False
    now: datetime | None = None


#: The outcome of a blank value (frozen: one for every block that has none yet).
BLANK_PARSED = Parsed(None, None)


@dataclass
class BlockState:
    block: Block
    raw: list[str] = field(default_factory=list)
    parsed: Parsed = BLANK_PARSED
    visible: bool = True
    fired: list[EditCheck] = field(default_factory=list)
    missing: bool = False  # required, shown, and blank
    tags: Tags = NONE  # the item's action tags that apply
    concealed: bool = False  # @HIDDEN: not shown, its value kept
    readonly: bool = False  # @READONLY, or computed by a tag
    #: The item's variable name (None: a block that is no item); read a few times per block
    #: by each evaluation and page, so given once by who makes the state (see :func:`state_of`).
    name: str | None = None

    @property
    def error(self) -> TranslationString | None:
        return self.parsed.error if self.visible else None

    @property
    def warning(self) -> TranslationString | None:
        return self.parsed.warning if self.visible else None


def state_of(block: Block) -> BlockState:
    """A block's blank state, its variable name set when it is an item."""
    return BlockState(block, name=block.name if isinstance(block, Item) else None)


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
    # Only text and ticked codes can be empty: no comparison of a number or date with them.
    return value is None or (isinstance(value, str | frozenset) and not value)


def _context(
    values: dict[str, Typed],
    visits: Mapping[str, Mapping[str, Typed]] | None,
    today: date | None,
    page: Page,
) -> MappingContext:
    """One context for a whole evaluation: it reads ``values`` as they are when asked."""
    return MappingContext(
        values,
        visits=dict(visits or {}),
        today=today,
        instances=page.repeats,
        labels=page.labels,
        smart=page.smart,
    )


def evaluate_form(
    form: Form,
    posted: Mapping[str, list[str]],
    *,
    others: Mapping[str, Typed] | None = None,
    visits: Mapping[str, Mapping[str, Typed]] | None = None,
    today: date | None = None,
    page: Page | None = None,
) -> FormState:
    """The state of ``form`` for the raw values ``posted`` (by variable name).

    ``others`` are the subject's values on other forms of the same visit, ``visits`` the values
    at other visits, for expressions that reach them; ``page`` what else they and the action
    tags read.
    """
    page = page or Page()
    found = _FORM_PLANS.get(id(form))
    if found is not None and found[0] is form:
        return _evaluate_planned(found[1], form, posted, others, visits, today, page)
    states: dict[str, BlockState] = {}
    for section in form.sections:
        for subsection in section.subsections:
            for block in subsection.blocks:
                state = state_of(block)
                if isinstance(block, Item) and block.type is not ItemType.CALCULATED:
                    state.raw = list(posted.get(block.name, []))
                    state.parsed = parse_value(block, state.raw)
                states[block.oid] = state

    values: dict[str, Typed] = dict(others or {})
    current = _context(values, visits, today, page)

    for state in states.values():
        if state.name is not None:
            values[state.name] = state.parsed.value
    _apply_tags(states, posted, page, current, today)

    hidden: set[str] = set()
    section_visibility: dict[str, bool] = {}
    for _round in range(MAX_ROUNDS):
        for state in states.values():
            if state.name is not None:
                values[state.name] = None if state.block.oid in hidden else state.parsed.value
        for state in states.values():
            if isinstance(state.block, Item) and state.block.type is ItemType.CALCULATED:
                state.parsed = _calculate(state.block, current)
                values[state.block.name] = state.parsed.value
            elif state.tags is not NONE and state.tags.computed:
                _compute(state, current)
                values[state.block.name] = state.parsed.value
        now_hidden: set[str] = set()
        for section in form.sections:
            shown_section = _condition(section.show_if, current)
            section_visibility[section.oid] = shown_section
            for subsection in section.subsections:
                shown_sub = shown_section and _condition(subsection.show_if, current)
                section_visibility[subsection.oid] = shown_sub
                for block in subsection.blocks:
                    if not shown_sub or (block.show_if and not _condition(block.show_if, current)):
                        now_hidden.add(block.oid)
        if now_hidden == hidden:
            break
        hidden = now_hidden

    for state in states.values():
        state.visible = state.block.oid not in hidden
        block = state.block
        if state.visible and isinstance(block, Item):
            _check(state, block, current)
    return _form_state(form, states, section_visibility)


def _check(state: BlockState, item: Item, context: MappingContext) -> None:
    """A shown item's last look: required and blank (a partial value is kept), and its edit
    checks, run on a value that parsed."""
    parsed = state.parsed
    empty = _is_blank(parsed.value)
    blank = empty and parsed.stored is None  # partial: kept
    state.missing = item.required and blank and not parsed.error and not state.concealed
    if item.edit_checks and parsed.error is None and not empty:
        state.fired = [c for c in item.edit_checks if _fires(c, context)]


#: A subsection's OID, shown-if, its blocks' OIDs and (OID, shown-if) of those that have one.
_SubSectionPlan = tuple[str, str | None, tuple[str, ...], tuple[tuple[str, str], ...]]
#: A section's OID, shown-if and subsections.
_SectionPlan = tuple[str, str | None, tuple[_SubSectionPlan, ...]]


@dataclass(frozen=True, slots=True)
class _FormPlan:
    """What evaluating a published form takes, found once per process: its blocks in page
    order (OID, variable name or None, whether its value is parsed: an item not calculated),
    whether anything can hide a block or compute a value, the shown-if conditions by section
    and subsection (each subsection's blocks, and those with a condition of their own), and
    the items the last pass looks at (required, or with edit checks)."""

    blocks: tuple[tuple[Block, str, str | None, bool], ...]
    named: tuple[tuple[str, str], ...]  # (name, OID) of every item
    moving: tuple[str, ...]  # OIDs of calculated items and items with action tags, in order
    tagged: bool
    settles: bool  # a condition, a calculation or a tag: rounds to run
    sections: tuple[_SectionPlan, ...]
    checked: tuple[str, ...]
    shown: dict[str, bool]  # every section and subsection shown: when nothing can hide one


#: By ``id``, the evaluation plans of published versions' forms, each with its form (its ``id``
#: is not reused while it is kept). Bounded: cleared when full.
_FORM_PLANS: dict[int, tuple[Form, _FormPlan]] = {}
FORM_PLANS_LIMIT = 4096


def _form_plan(form: Form) -> _FormPlan:
    blocks: list[tuple[Block, str, str | None, bool]] = []
    named: list[tuple[str, str]] = []
    moving: list[str] = []
    checked: list[str] = []
    sections: list[_SectionPlan] = []
    tagged = conditions = calculated = False
    for section in form.sections:
        subsections: list[_SubSectionPlan] = []
        conditions = conditions or bool(section.show_if)
        for sub in section.subsections:
            conditions = conditions or bool(sub.show_if)
            own: list[tuple[str, str]] = []
            for block in sub.blocks:
                if block.show_if:
                    own.append((block.oid, block.show_if))
                if not isinstance(block, Item):
                    blocks.append((block, block.oid, None, False))
                    continue
                computed = block.type is ItemType.CALCULATED
                has_tags = not computed and action_tags(block.annotation) is not NONE
                blocks.append((block, block.oid, block.name, not computed))
                named.append((block.name, block.oid))
                if computed or has_tags:
                    moving.append(block.oid)
                calculated, tagged = calculated or computed, tagged or has_tags
                if block.required or block.edit_checks:
                    checked.append(block.oid)
            conditions = conditions or bool(own)
            subsections.append((sub.oid, sub.show_if, tuple(b.oid for b in sub.blocks), tuple(own)))
        sections.append((section.oid, section.show_if, tuple(subsections)))
    shown = {oid: True for section in sections for oid in (section[0], *(s[0] for s in section[2]))}
    return _FormPlan(
        tuple(blocks),
        tuple(named),
        tuple(moving),
        tagged,
        conditions or calculated or tagged,
        tuple(sections),
        tuple(checked),
        shown,
    )


def plan_published_forms(forms: Iterable[Form]) -> None:
    """Plan the evaluation of a published version's forms once per process (a draft's forms
    may change between two evaluations: evaluated by the general path)."""
    forms = list(forms)
    if len(_FORM_PLANS) + len(forms) > FORM_PLANS_LIMIT:
        _FORM_PLANS.clear()
    for form in forms:
        _FORM_PLANS[id(form)] = (form, _form_plan(form))
    keep_published_items(forms)


def _evaluate_planned(
    plan: _FormPlan,
    form: Form,
    posted: Mapping[str, list[str]],
    others: Mapping[str, Typed] | None,
    visits: Mapping[str, Mapping[str, Typed]] | None,
    today: date | None,
    page: Page,
) -> FormState:
    """:func:`evaluate_form`'s steps with what the form decides looked up once: no rounds for
    a form nothing can hide or compute, only the items that can change between rounds
    recomputed, only the conditions written evaluated, and only required or checked items
    looked at last."""
    states: dict[str, BlockState] = {}
    values: dict[str, Typed] = dict(others or {})
    for block, oid, name, parsed_here in plan.blocks:
        state = states[oid] = BlockState(block, name=name)
        if parsed_here:
            raw = state.raw = list(posted.get(name, ()))  # type: ignore[arg-type]
            state.parsed = parse_value(block, raw)  # type: ignore[arg-type]
    for name, oid in plan.named:
        values[name] = states[oid].parsed.value
    current = _context(values, visits, today, page)
    if plan.tagged:
        _apply_tags(states, posted, page, current, today)

    hidden: set[str] = set()
    visibility = plan.shown
    if plan.settles:
        visibility = {}
        for _round in range(MAX_ROUNDS):
            for name, oid in plan.named:
                values[name] = None if oid in hidden else states[oid].parsed.value
            for oid in plan.moving:
                state = states[oid]
                item = state.block
                assert isinstance(item, Item)
                if item.type is ItemType.CALCULATED:
                    state.parsed = _calculate(item, current)
                    values[item.name] = state.parsed.value
                elif state.tags is not NONE and state.tags.computed:
                    _compute(state, current)
                    values[item.name] = state.parsed.value
            now_hidden: set[str] = set()
            for section_oid, section_if, subsections in plan.sections:
                shown_section = _condition(section_if, current)
                visibility[section_oid] = shown_section
                for sub_oid, sub_if, oids, own in subsections:
                    shown_sub = shown_section and _condition(sub_if, current)
                    visibility[sub_oid] = shown_sub
                    if not shown_sub:
                        now_hidden.update(oids)
                        continue
                    for oid, condition in own:
                        if not _condition(condition, current):
                            now_hidden.add(oid)
            if now_hidden == hidden:
                break
            hidden = now_hidden

    for oid in hidden:
        states[oid].visible = False
    for oid in plan.checked:
        state = states[oid]
        if not state.visible:
            continue
        item = state.block
        assert isinstance(item, Item)
        _check(state, item, current)
    return _form_state(form, states, visibility)


def _form_state(
    form: Form, states: dict[str, BlockState], visibility: Mapping[str, bool]
) -> FormState:
    return FormState(
        form=form,
        sections=[
            SectionState(
                section.oid,
                section.title,
                visibility[section.oid],
                [
                    SubSectionState(
                        sub.oid,
                        sub.title,
                        visibility[sub.oid],
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


def _apply_tags(
    states: Mapping[str, BlockState],
    posted: Mapping[str, list[str]],
    page: Page,
    context: MappingContext,
    today: date | None,
) -> None:
    """The items' action tags, each @IF decided on the values as posted: hidden, read-only,
    filled in (@DEFAULT, @NOW, @TODAY on a new form; @SETVALUE when the form opens), limited
    in length (@CHARLIMIT)."""
    for state in states.values():
        item = state.block
        if not isinstance(item, Item) or item.type is ItemType.CALCULATED:
            continue
        tags = action_tags(item.annotation)
        if tags is NONE:
            continue
        if tags.conditions:
            tags = tags.resolved(lambda condition: _condition(condition, context))
        state.tags, state.concealed = tags, tags.hidden
        state.readonly = tags.readonly or tags.computed
        filled = _filled(item, tags, page, context, today)
        if tags.readonly:
            kept = filled if page.saved is None else list(page.saved.get(item.name, []))
            sent = posted.get(item.name)
            changed = sent is not None and _meaningful(sent) != _meaningful(kept)
            if changed and not (page.saved is None and tags.now):
                state.raw, state.parsed = kept, Parsed(None, None, error=READ_ONLY)
                continue
            state.raw = kept
        elif filled and (
            (page.saved is None and page.opening and not _meaningful(state.raw))
            or (page.opening and tags.setvalue is not None)
        ):
            state.raw = filled
        state.parsed = parse_value(item, state.raw)
        if tags.charlimit and state.parsed.error is None and _too_long(state.raw, tags):
            state.parsed = Parsed(
                None,
                None,
                error=_("Use at most ${count} characters.", mapping={"count": tags.charlimit}),
            )


def _meaningful(raw: list[str]) -> list[str]:
    return [value.strip() for value in raw if value.strip()]


def _too_long(raw: list[str], tags: Tags) -> bool:
    return any(len(value) > (tags.charlimit or 0) for value in raw)


def _filled(
    item: Item, tags: Tags, page: Page, context: MappingContext, today: date | None
) -> list[str]:
    """The raw value a tag fills the item with (@SETVALUE, then @DEFAULT, then @NOW/@TODAY),
    or none."""
    text = tags.setvalue if tags.setvalue is not None else tags.default
    if text is not None:
        piped = _piped(text, context)
        if item.type is ItemType.MULTIPLE_CHOICE:
            return [code.strip() for code in piped.split(",") if code.strip()]
        return [piped] if piped else []
    if tags.now is None:
        return []
    moment: date | datetime | None = page.now if tags.now == "now" else today
    if moment is None:
        return []
    return [shown(item, _moment_text(item, moment))]


def _moment_text(item: Item, moment: date | datetime | time) -> str:
    """A date, date-time or time as the item stores it (its validation decides which)."""
    if isinstance(moment, datetime):
        if item.validation is Validation.DATE:
            return moment.date().isoformat()
        if item.validation is Validation.TIME:
            return moment.strftime("%H:%M:%S" if item.with_seconds else "%H:%M")
        seconds = ":%S" if item.with_seconds else ""
        return moment.replace(tzinfo=None).strftime(f"%Y-%m-%d %H:%M{seconds}")
    if isinstance(moment, date) and item.validation is Validation.DATETIME:
        return f"{moment.isoformat()} 00:00"
    return moment.isoformat()


def _piped(text: str, context: MappingContext) -> str:
    """``text`` with each [field] (or smart variable) replaced by its value."""

    def value(found: re.Match[str]) -> str:
        try:
            return as_text(evaluate(parse(found.group()), context))
        except ExpressionError:
            return ""

    return PIPE.sub(value, text)


def _compute(state: BlockState, context: MappingContext) -> None:
    """@CALCTEXT or @CALCDATE: the value computed, as the item's input would show it."""
    item, tags = state.block, state.tags
    assert isinstance(item, Item)
    try:
        if tags.calcdate is not None:
            result = _calcdate(tags.calcdate, context)
        else:
            result = evaluate(parse(tags.calctext or ""), context)
    except ExpressionError:
        state.parsed = Parsed(None, None, error=_("This calculation could not be made."))
        return
    if result is BLANK:
        text = ""
    elif isinstance(result, date | time):
        text = shown(item, _moment_text(item, result))
    elif isinstance(result, Decimal):
        text = plain(result)
    else:
        text = as_text(result)
    state.raw = [text] if text else []
    state.parsed = parse_value(item, state.raw)


def _calcdate(arguments: tuple[str, str, str], context: MappingContext) -> Value:
    """@CALCDATE(date, offset, unit): the date (or date-time) ``offset`` units later."""
    start, offset = (evaluate(parse(text), context) for text in arguments[:2])
    moment = parse_moment(start) if isinstance(start, str) else start
    number = to_number(offset)
    if not isinstance(moment, date) or number is None:
        return BLANK
    seconds = number * UNIT_SECONDS[arguments[2]]
    try:
        if isinstance(moment, datetime):
            return moment + timedelta(seconds=float(seconds))
        return moment + timedelta(days=int(seconds // 86400))
    except (OverflowError, ValueError):
        return BLANK


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
    blocks = [(oid, block.visible and not block.concealed) for oid, block in state.blocks.items()]
    return {
        "shown": [f"block-{oid}" for oid, visible in groups + blocks if visible],
        "hidden": [f"block-{oid}" for oid, visible in groups + blocks if not visible],
        "invalid": [f"item-{s.name}" for s in state.items() if s.error is not None],
        "valid": [f"item-{s.name}" for s in state.items() if s.error is None],
    }
