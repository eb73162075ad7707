"""Reading ODM expressions: ConditionDefs, MethodDefs and RangeCheck formal expressions
translated into the expression language (XPath and OpenEDC dialects, and Datacapt's own), once
every item has its name. A mixin of the ODM reader (:mod:`.odm_reader`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lxml import etree

from datacapt.design.interchange import odm
from datacapt.design.interchange.findings import FindingLevel
from datacapt.ecrf.definition import (
    Form,
    Item,
)
from datacapt.expressions import ExpressionError, parse

INFO, WARNING = FindingLevel.INFO, FindingLevel.WARNING


IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")


XPATH_TEST = re.compile(
    r"""(?:\.\./|/)*
    (?:StudyEventData\[\s*@StudyEventOID\s*=\s*(?P<q0>['"])(?P<event>.*?)(?P=q0)\s*\]/)?
    (?:FormData\[\s*@FormOID\s*=\s*(?P<q1>['"])(?P<form>.*?)(?P=q1)\s*\]/)?
    (?:ItemGroupData\[\s*@ItemGroupOID\s*=\s*(?P<q2>['"])(?P<group>.*?)(?P=q2)\s*\]/)?
    ItemData\[\s*@ItemOID\s*=\s*(?P<q3>['"])(?P<item>.*?)(?P=q3)\s*\]
    \[\s*@Value\s*(?P<op>!=|<=|>=|=|<|>)\s*
    (?:(?P<q4>['"])(?P<value>.*?)(?P=q4)|(?P<number>-?[0-9]+(?:\.[0-9]+)?))\s*\]""",
    re.VERBOSE,
)


XPATH_WORD = re.compile(r"\s+|and\b|or\b|not\s*\(|\(|\)")


OPENEDC_TOKEN = re.compile(
    r"""\s+|(?P<string>"[^"]*"|'[^']*')|(?P<number>[0-9]+(?:\.[0-9]+)?)
    |(?P<op>==|!=|<=|>=|&&|\|\||[-+*/^()<>!])""",
    re.VERBOSE,
)


OPENEDC_OPERATORS = {"==": "=", "!=": "<>", "&&": "and", "||": "or", "!": "not"}


SIMPLE_COMPARISON = re.compile(r"""(\[[a-z][a-z0-9_]*\]) (=|<>) ('[^']*'|"[^"]*"|-?[0-9.]+)\Z""")


class UntranslatableError(ValueError):
    """An expression outside what the translators read; its message says why."""


def literal_text(value: str, numeric: bool) -> str:
    if numeric and NUMBER.match(value):
        return value
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise UntranslatableError(f"a value with both kinds of quotes: {value}")


def show_if_of(exception: str) -> str:
    """The show_if of a translated ODM exception condition: a simple comparison is flipped
    (``=`` ↔ ``<>``, the same for blanks), anything else negated."""
    match = SIMPLE_COMPARISON.match(exception)
    if match:
        reference, operator, value = match.groups()
        return f"{reference} {'<>' if operator == '=' else '='} {value}"
    return odm.negate(exception)


def render(parts: Iterable[str]) -> str:
    """Tokens joined with single spaces, none inside parentheses."""
    text = ""
    for part in parts:
        if text and not text.endswith("(") and part != ")":
            text += " "
        text += part
    return text


@dataclass
class Scope:
    """Where an expression is read: which form and item group it belongs to."""

    form_oid: str | None = None
    group_oid: str | None = None


@dataclass
class Pending:
    """An expression to translate once every item has its name: a ConditionDef or MethodDef
    reference, or the FormalExpressions of a RangeCheck."""

    oid: str
    scope: Scope
    where: str
    apply: Callable[[str, bool], None]  # (expression, is it in Datacapt's own language)
    defs: str = "ConditionDef"
    expressions: list[etree._Element] | None = None


class ExpressionReading:
    """The ODM reader's expression pass (its state lives on the reader)."""

    def resolve(self) -> None:
        """Translate the conditions and computations now that every item has its name."""
        self.identifiers = self.known_identifiers()
        self.expect_form_conditions()
        # Taken off the reader: some of its callbacks hold the reader, a cycle that would keep
        # the reader, its tree and its code lists until the garbage collector ran.
        work, self.pending = self.pending, []
        for pending in work:
            if pending.expressions is not None:
                expressions, what = pending.expressions, "RangeCheck"
            else:
                found = (self.conditions if pending.defs == "ConditionDef" else self.methods).get(
                    pending.oid
                )
                if found is None:
                    self.note(pending.where, f"{pending.defs} {pending.oid} is missing: ignored")
                    continue
                self.use(found)
                self.use_description(found)
                if (
                    pending.defs == "MethodDef"
                    and found.get("Type", "Computation") != "Computation"
                ):
                    self.note(
                        f"MethodDef {pending.oid}",
                        f"a method of Type {found.get('Type')} is not read: only computations",
                    )
                    continue
                expressions = self.children(found, "FormalExpression")
                what = f"{pending.defs} {pending.oid}"
            self.translate_into(pending, expressions, what)

    def use_description(self, element: etree._Element) -> None:
        description = self.child(element, "Description")
        if description is not None:
            self.text(description)

    def translate_into(
        self, pending: Pending, expressions: list[etree._Element], what: str
    ) -> None:
        attempts = []
        for expression in sorted(
            expressions, key=lambda e: e.get("Context") != odm.DATACAPT_CONTEXT
        ):
            self.use(expression)
            context = expression.get("Context", "")
            text = (expression.text or "").strip()
            try:
                translated = self.translate(context, text, pending.scope)
            except UntranslatableError as error:
                attempts.append(f"{context or 'no context'}: {text!r} ({error})")
                continue
            if context == odm.DATACAPT_CONTEXT:
                self.check_parses(translated, what)
            pending.apply(translated, context == odm.DATACAPT_CONTEXT)
            for alternative in expressions:  # the same logic in other languages
                self.use(alternative)
            return
        outcome = (
            "the item stays an input item"
            if pending.defs == "MethodDef"
            else "no condition is kept"
        )
        self.note(
            what,
            f"expression not translated for {pending.where}: "
            f"{'; '.join(attempts) or 'no FormalExpression'}; {outcome}",
        )

    def translate(self, context: str, text: str, scope: Scope) -> str:
        """An ODM FormalExpression in Datacapt's language, checked by its parser."""
        if not text:
            raise UntranslatableError("empty")
        if context == odm.DATACAPT_CONTEXT:
            return text
        lowered = context.lower()
        if lowered == "xpath":
            translated = self.from_xpath(text, scope)
        elif lowered == "openedc":
            translated = self.from_openedc(text, scope)
        elif not context:
            try:
                translated = self.from_xpath(text, scope)
            except UntranslatableError:
                translated = self.from_openedc(text, scope)
        else:
            raise UntranslatableError(f"unknown expression language {context!r}")
        try:
            parse(translated)
        except ExpressionError as error:
            raise UntranslatableError(f"{translated!r} does not parse: {error.message}") from None
        return translated

    def find_item(
        self,
        item_oid: str,
        scope: Scope,
        form_oid: str | None = None,
        group_oid: str | None = None,
    ) -> Item:
        """The copy of an ItemDef an expression means: in the named (or the expression's) form,
        preferably in the named (or the expression's) group; else the first copy."""
        place = self.places.get(form_oid or scope.form_oid or "")
        copies = place.items.get(item_oid, []) if place is not None else []
        wanted = group_oid or scope.group_oid
        for copy_group, item in copies:
            if copy_group == wanted:
                return item
        if copies:
            return copies[0][1]
        if item_oid in self.first_item:
            return self.first_item[item_oid]
        raise UntranslatableError(f"item {item_oid} is not in any form")

    def value_literal(self, item: Item | None, value: str, quoted: bool) -> str:
        """A compared value: ODM's boolean true/false are Datacapt's yes/no codes 1/0."""
        if item is not None and self.data_types.get(id(item)) == "boolean":
            value = {"true": "1", "false": "0"}.get(value.lower(), value)
        return literal_text(value, numeric=not quoted)

    def from_xpath(self, text: str, scope: Scope) -> str:
        """The XPath of CDISC's examples: ItemData value tests joined by and/or/not()."""
        tokens, position = [], 0
        while position < len(text):
            test = XPATH_TEST.match(text, position)
            if test:
                tokens.append(self.xpath_test(test, scope))
                position = test.end()
                continue
            word = XPATH_WORD.match(text, position)
            if not word:
                raise UntranslatableError(
                    f"unsupported XPath at {text[position : position + 30]!r}"
                )
            position = word.end()
            token = word.group().strip()
            if token:
                tokens += ["not", "("] if token.startswith("not") else [token]
        return render(tokens)

    def xpath_test(self, test: re.Match[str], scope: Scope) -> str:
        item = self.find_item(test["item"], scope, test["form"], test["group"])
        reference = f"[{item.name}]"
        if test["event"]:
            visit = self.visit_names.get(test["event"])
            if visit is None:
                raise UntranslatableError(f"event {test['event']} is not a visit")
            reference = f"[{visit}]{reference}"
        operator = "<>" if test["op"] == "!=" else test["op"]
        quoted = test["value"] is not None
        value = test["value"] if quoted else test["number"]
        return f"{reference} {operator} {self.value_literal(item, value, quoted=quoted)}"

    def known_identifiers(self) -> re.Pattern[str] | None:
        """OpenEDC names items by OID, by Name, or as ``<ItemGroupOID>-<ItemOID>``."""
        known: dict[str, tuple[str, str | None]] = {}
        for oid, group in self.groups.items():
            for ref in self.children(group, "ItemRef"):
                known[f"{oid}-{ref.get('ItemOID')}"] = (ref.get("ItemOID", ""), oid)
        for oid, item_def in self.item_defs.items():
            name = item_def.get("Name", "")
            if IDENTIFIER.match(name):
                known.setdefault(name, (oid, None))
        for oid in self.item_defs:
            known[oid] = (oid, None)
        self.identifier_targets = known
        if not known:
            return None
        alternatives = "|".join(re.escape(key) for key in sorted(known, key=len, reverse=True))
        return re.compile(rf"(?:{alternatives})(?![A-Za-z0-9_.])")

    def from_openedc(self, text: str, scope: Scope) -> str:
        """OpenEDC's JavaScript-like conditions and computations."""
        tokens, position, last_item = [], 0, None
        while position < len(text):
            identifier = self.identifiers.match(text, position) if self.identifiers else None
            if identifier:
                item_oid, group = self.identifier_targets[identifier.group()]
                last_item = self.find_item(item_oid, scope, group_oid=group)
                tokens.append(f"[{last_item.name}]")
                position = identifier.end()
                continue
            token = OPENEDC_TOKEN.match(text, position)
            if not token:
                raise UntranslatableError(
                    f"unknown name or sign at {text[position : position + 30]!r}"
                )
            position = token.end()
            if token["string"]:
                value = token["string"][1:-1]
                tokens.append(self.value_literal(last_item, value, quoted=True))
            elif token["number"]:
                tokens.append(token["number"])
            elif token["op"]:
                tokens.append(OPENEDC_OPERATORS.get(token["op"], token["op"]))
        return render(tokens)

    def expect_form_conditions(self) -> None:
        """A FormRef condition holds for a form's every section when each visit lists the form
        under that one condition; Datacapt has no per-visit form condition."""
        for form_oid, conditions in self.form_conditions.items():
            distinct = set(conditions)
            if distinct == {None}:
                continue
            where = f"FormRef {form_oid}"
            if len(distinct) > 1:
                self.note(where, "the form's visits differ in its condition: no condition kept")
                continue
            (condition,) = distinct
            apply = self.section_conditions(self.places[form_oid].form, where)
            self.pending.append(Pending(condition or "", Scope(form_oid), where, apply))

    def section_conditions(self, form: Form, where: str) -> Callable[[str, bool], None]:
        def apply(expression: str, native: bool) -> None:
            show_if = odm.negate(expression) if native else show_if_of(expression)
            for section in form.sections:
                section.show_if = (
                    show_if if section.show_if is None else f"({section.show_if}) and ({show_if})"
                )
            self.note(where, "the form's condition is kept on each of its sections", INFO)

        return apply
