"""What a design must satisfy before it is published, and what the designer sees while editing.

Blocking problems refuse the publication; the others are shown as warnings. Expressions are
parsed and type-checked against the definition itself: a reference to an unknown field, visit or
choice code, a calculation that depends on itself, arithmetic on text — all found here, before
any site enters a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import InvalidOperation

from pyramid.i18n import TranslationString

from datacapt.ecrf.action_tags import action_tags
from datacapt.ecrf.definition import (
    NAME_PATTERN,
    Block,
    Definition,
    Form,
    Item,
    ItemType,
    Range,
    SdvRequirement,
    Validation,
    form_blocks,
)
from datacapt.ecrf.timing import anchor_problem
from datacapt.expressions import (
    ExpressionError,
    FieldInfo,
    Reference,
    Symbols,
    ValueType,
    check,
    parse,
    references,
)
from datacapt.i18n import _
from datacapt.numbers import parse_number
from datacapt.patterns import pattern_problem

NUMERIC_VALIDATIONS = {Validation.INTEGER, Validation.NUMBER}
TEMPORAL = {
    Validation.DATE: ValueType.DATE,
    Validation.DATETIME: ValueType.DATETIME,
    Validation.TIME: ValueType.TIME,
}
CONDITION_TYPES = {ValueType.BOOLEAN, ValueType.ANY, ValueType.BLANK}


@dataclass(frozen=True)
class Problem:
    where: str  # the OID of the form, block, check or visit concerned ("" for the whole design)
    field: str  # which of its fields ("show_if", "choices", ...)
    message: TranslationString
    blocking: bool = True


def blocking(problems: Iterable[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.blocking]


def value_type(item: Item) -> ValueType:
    """How expressions see an item's value."""
    if item.type in (ItemType.SINGLE_CHOICE, ItemType.YES_NO, ItemType.TRUE_FALSE):
        return ValueType.CHOICE
    if item.type is ItemType.ACKNOWLEDGEMENT:
        return ValueType.CHOICE
    if item.type is ItemType.MULTIPLE_CHOICE:
        return ValueType.MULTICHOICE
    if item.type in (ItemType.SLIDER, ItemType.CALCULATED):
        return ValueType.NUMBER if item.type is ItemType.SLIDER else ValueType.ANY
    if item.type is ItemType.TEXT and item.validation in NUMERIC_VALIDATIONS:
        return ValueType.NUMBER
    if item.type is ItemType.TEXT and item.validation in TEMPORAL:
        return TEMPORAL[item.validation]
    return ValueType.TEXT


def option_codes(item: Item) -> frozenset[str] | None:
    if item.type in (ItemType.YES_NO, ItemType.TRUE_FALSE):
        return frozenset({"0", "1"})
    if item.type is ItemType.ACKNOWLEDGEMENT:
        return frozenset({"1"})
    if item.type in (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_CHOICE):
        return frozenset(choice.code for choice in item.choices)
    return None


def symbols(definition: Definition) -> Symbols:
    return Symbols(
        fields={
            item.name: FieldInfo(value_type(item), option_codes(item))
            for _form, item in definition.items()
        },
        visits=frozenset(visit.name for visit in definition.schedule.visits),
    )


def expression_problem(where: str, field: str, error: ExpressionError) -> Problem:
    position = error.position
    if position is None:
        return Problem(
            where, field, _("In this expression: ${message}", mapping={"message": error.message})
        )
    return Problem(
        where,
        field,
        _(
            "Line ${line}, column ${column}: ${message}",
            mapping={"line": position.line, "column": position.column, "message": error.message},
        ),
    )


def check_expression(
    text: str, table: Symbols, where: str, field: str, *, condition: bool
) -> Iterator[Problem]:
    try:
        result = check(parse(text), table)
    except ExpressionError as error:
        yield expression_problem(where, field, error)
        return
    if condition and result not in CONDITION_TYPES:
        yield Problem(
            where, field, _("This should be a condition (true or false), such as [age] >= 18.")
        )


def _names(definition: Definition) -> Iterator[Problem]:
    seen_oids: set[str] = set()
    for oid in definition.oids():
        if oid in seen_oids:
            yield Problem(oid, "oid", _("This identifier (OID) is used twice."))
        seen_oids.add(oid)
    duplicate = {
        "form": _("Another form has this name."),
        "visit": _("Another visit has this name."),
    }
    for kind, names in (
        ("form", [(form.oid, form.name, "") for form in definition.forms]),
        ("item", [(item.oid, item.name, form.name) for form, item in definition.items()]),
        ("visit", [(visit.oid, visit.name, "") for visit in definition.schedule.visits]),
    ):
        seen: dict[str, str] = {}  # a name -> the form that has it first
        for oid, name, form_name in names:
            if not NAME_PATTERN.match(name):
                yield Problem(
                    oid,
                    "name",
                    _("Use a lowercase letter, then lowercase letters, digits or underscores."),
                )
            elif name in seen:
                message = name_taken(name, seen[name]) if kind == "item" else duplicate[kind]
                yield Problem(oid, "name", message)
            seen.setdefault(name, form_name)


def name_taken(name: str, form_name: str) -> TranslationString:
    """An item name is unique in the whole study (expressions name items across forms): say
    where the other one is, so the designer can find it."""
    return _(
        "The form ${form} already has an item named ${name}.",
        mapping={"form": form_name, "name": name},
    )


def _parse_bound(value: str, kind: ValueType) -> object:
    if kind is ValueType.NUMBER:
        return parse_number(value)
    if kind is ValueType.DATE:
        return date.fromisoformat(value)
    if kind is ValueType.DATETIME:
        return datetime.fromisoformat(value)
    return time.fromisoformat(value)


def _range(item: Item, bounds: Range | None, field: str) -> Iterator[Problem]:
    if bounds is None:
        return
    kind = value_type(item)
    if kind not in (ValueType.NUMBER, ValueType.DATE, ValueType.DATETIME, ValueType.TIME):
        yield Problem(item.oid, field, _("Ranges apply to numbers, dates and times only."))
        return
    parsed = []
    for value in (bounds.min, bounds.max):
        if value is None:
            continue
        try:
            parsed.append(_parse_bound(value, kind))
        except (ValueError, InvalidOperation):
            yield Problem(
                item.oid,
                field,
                _("“${value}” is not a valid bound for this item.", mapping={"value": value}),
            )
            return
    if len(parsed) == 2 and parsed[0] > parsed[1]:
        yield Problem(item.oid, field, _("The minimum is above the maximum."))


def _item(definition: Definition, item: Item) -> Iterator[Problem]:
    if not item.label.get(definition.default_language):
        yield Problem(item.oid, "label", _("Give a label in the default language."))
    codes = [choice.code for choice in item.choices]
    if item.type in (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_CHOICE):
        if not codes:
            yield Problem(item.oid, "choices", _("Give at least one choice."))
        if len(set(codes)) != len(codes) or "" in codes:
            yield Problem(item.oid, "choices", _("Each choice needs its own, non-empty code."))
    if (item.type is ItemType.CALCULATED) != bool(item.calculation):
        yield Problem(
            item.oid,
            "calculation",
            _("A calculated item needs a calculation, and only calculated items have one."),
        )
    if item.type is ItemType.SLIDER and item.slider and item.slider.min >= item.slider.max:
        yield Problem(item.oid, "slider", _("The slider's minimum must be below its maximum."))
    if item.validation is Validation.REGEX and not item.pattern:
        yield Problem(item.oid, "pattern", _("Give the pattern values must match."))
    uses_pattern = item.validation in (Validation.REGEX, Validation.PHONE)
    if uses_pattern and item.pattern and (reason := pattern_problem(item.pattern)) is not None:
        yield Problem(
            item.oid,
            "pattern",
            _(
                "This pattern cannot be used: ${reason}. Write a regular expression without "
                "back-references or look-arounds (they cannot be matched in a bounded time).",
                mapping={"reason": reason},
            ),
        )
    if item.decimals is not None and not 0 <= item.decimals <= 10:
        yield Problem(item.oid, "decimals", _("Use 0 to 10 decimals."))
    if item.max_length is not None and item.max_length < 1:
        yield Problem(item.oid, "max_length", _("The maximum length must be at least 1."))
    yield from _range(item, item.hard_range, "hard_range")
    yield from _range(item, item.soft_range, "soft_range")


def _calculation_cycles(definition: Definition) -> Iterator[Problem]:
    """Calculated items that depend, directly or not, on themselves."""
    depends: dict[str, set[str]] = {}
    oids: dict[str, str] = {}
    for _form, item in definition.items():
        if item.type is ItemType.CALCULATED and item.calculation:
            try:
                found = references(parse(item.calculation))
            except ExpressionError:
                continue  # reported by the expression check
            depends[item.name] = {ref.field for ref in found if _same_record(ref)}
            oids[item.name] = item.oid
    for name, direct in depends.items():
        seen: set[str] = set()
        pending = list(direct)
        while pending:
            current = pending.pop()
            if current == name:
                yield Problem(oids[name], "calculation", _("This calculation depends on itself."))
                break
            if current not in seen:
                seen.add(current)
                pending.extend(depends.get(current, ()))


def _same_record(reference: Reference) -> bool:
    """Whether a reference reads the values being entered (not another visit or repeat)."""
    return reference.visit in (None, "event-name") and reference.instance in (
        None,
        "current-instance",
    )


def _block_expressions(block: Block, table: Symbols) -> Iterator[Problem]:
    if block.show_if:
        yield from check_expression(block.show_if, table, block.oid, "show_if", condition=True)
    if not isinstance(block, Item):
        return
    if block.calculation:
        yield from check_expression(
            block.calculation, table, block.oid, "calculation", condition=False
        )
    for edit_check in block.edit_checks:
        yield from check_expression(
            edit_check.condition, table, edit_check.oid, "condition", condition=True
        )
    tags = action_tags(block.annotation)
    for problem in tags.problems:
        yield Problem(
            block.oid,
            "annotation",
            _("This action tag cannot be applied: ${problem}.", mapping={"problem": problem}),
        )
    for text in tags.expressions():
        yield from check_expression(text, table, block.oid, "annotation", condition=False)


def item_problems(definition: Definition, block: Block) -> list[Problem]:
    """The problems of one block being edited, as if it were already in the definition."""
    table = symbols(definition)
    if isinstance(block, Item):
        fields = dict(table.fields)
        fields[block.name] = FieldInfo(value_type(block), option_codes(block))
        table = Symbols(fields=fields, visits=table.visits)
    problems = list(_block_expressions(block, table))
    if isinstance(block, Item):
        problems.extend(_item(definition, block))
    return problems


def _expressions(definition: Definition) -> Iterator[Problem]:
    table = symbols(definition)
    for form in definition.forms:
        for section in form.sections:
            if section.show_if:
                yield from check_expression(
                    section.show_if, table, section.oid, "show_if", condition=True
                )
            for subsection in section.subsections:
                if subsection.show_if:
                    yield from check_expression(
                        subsection.show_if, table, subsection.oid, "show_if", condition=True
                    )
                for block in subsection.blocks:
                    yield from _block_expressions(block, table)
    yield from _calculation_cycles(definition)


#: Why a visit cannot count from the visit it names (see :func:`timing.anchor_problem`).
ANCHOR_PROBLEMS = {
    "unknown": _("Count from another visit of the schedule."),
    "unscheduled": _("Count from a visit planned on a day, and not repeating."),
    "cycle": _("Visits cannot count from each other in a circle."),
}


def _schedule(definition: Definition) -> Iterator[Problem]:
    forms = {form.name for form in definition.forms}
    scheduled: set[str] = set(definition.schedule.unscheduled_forms)
    for visit in definition.schedule.visits:
        if not visit.title.get(definition.default_language):
            yield Problem(visit.oid, "title", _("Give a title in the default language."))
        if visit.window_before < 0 or visit.window_after < 0:
            yield Problem(visit.oid, "window", _("Windows are numbers of days, 0 or more."))
        problem = anchor_problem(definition.schedule, visit)
        if problem is not None:
            yield Problem(visit.oid, "anchor", ANCHOR_PROBLEMS[problem])
        for name in visit.forms:
            if name not in forms:
                yield Problem(
                    visit.oid, "forms", _("There is no form “${name}”.", mapping={"name": name})
                )
        scheduled.update(visit.forms)
    for form in definition.forms:
        if form.name not in scheduled:
            yield Problem(form.oid, "visits", _("This form is in no visit yet."), blocking=False)
    if not definition.schedule.visits:
        yield Problem("", "schedule", _("Add at least one visit to the schedule."))


def _sdv(form: Form) -> Iterator[Problem]:
    names = {block.name for block in form_blocks(form) if isinstance(block, Item)}
    unknown = [name for name in form.sdv_items if name not in names]
    if unknown:
        yield Problem(
            form.oid,
            "sdv_items",
            _("No question of this form is named “${name}”.", mapping={"name": unknown[0]}),
        )
    if form.sdv is SdvRequirement.TARGETED and not form.sdv_items:
        yield Problem(form.oid, "sdv_items", _("Choose the questions to verify."))


def check_definition(definition: Definition) -> list[Problem]:
    """Every problem of the design, blocking ones and warnings."""
    problems: list[Problem] = []
    if definition.default_language not in definition.languages:
        problems.append(Problem("", "languages", _("The default language must be offered.")))
    if not definition.forms:
        problems.append(Problem("", "forms", _("Add at least one form.")))
    problems.extend(_names(definition))
    for form in definition.forms:
        if not form.title.get(definition.default_language):
            problems.append(Problem(form.oid, "title", _("Give a title in the default language.")))
        problems.extend(_sdv(form))
    for _form, item in definition.items():
        problems.extend(_item(definition, item))
    problems.extend(_expressions(definition))
    problems.extend(_schedule(definition))
    return problems
