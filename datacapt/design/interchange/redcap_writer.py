"""Writing a design as a REDCap data dictionary (CSV), with a finding for whatever a dictionary
cannot hold (see :mod:`datacapt.design.interchange.redcap_reader` for the mapping)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from datacapt.design.interchange.findings import (
    Finding,
    FindingLevel,
    variable_name,
)
from datacapt.design.interchange.redcap import (
    CHARLIMIT,
    COLUMNS,
    DEFAULT_SLIDER,
    FORCE_MINMAX,
    HEADER,
    LANGUAGE,
    PATTERNS,
    RANGED,
    cell_text,
    charlimit,
    counted,
    expression_error,
    listed,
    markdown_text,
    matrix_ready,
    plain_text,
    prettified,
    renamed,
    today_check,
)
from datacapt.ecrf.definition import (
    NAME_PATTERN,
    Block,
    Definition,
    EditCheck,
    Form,
    Item,
    ItemType,
    Section,
    Severity,
    Static,
    SubSection,
    Text,
    Validation,
    form_blocks,
    text_in,
)
from datacapt.expressions import ExpressionError, parse, to_redcap, to_text


def redcap_validation(item: Item) -> tuple[str, str | None]:
    """REDCap's validation type for a text item, and what it loses (None when nothing)."""
    validation = item.validation
    if validation is None:
        return "", None
    if validation is Validation.NUMBER:
        return _number_validation(item)
    if validation is Validation.DATE:
        return f"date_{item.date_format or 'ymd'}", None
    if validation is Validation.DATETIME:
        seconds = "seconds_" if item.with_seconds else ""
        return f"datetime_{seconds}{item.date_format or 'ymd'}", None
    if validation is Validation.TIME:
        return ("time_hh_mm_ss" if item.with_seconds else "time"), None
    if validation is Validation.PHONE and item.pattern_name != "phone":
        return "", "REDCap's phone validation accepts North American numbers only: left out"
    if validation is Validation.REGEX:
        return _pattern_validation(item)
    simple = {
        Validation.INTEGER: "integer",
        Validation.EMAIL: "email",
        Validation.PHONE: "phone",
        Validation.TIME_MM_SS: "time_mm_ss",
    }
    if validation in simple:
        return simple[validation], None
    return "", f"REDCap has no {validation} validation: written as text without one"


def _number_validation(item: Item) -> tuple[str, str | None]:
    comma = "_comma_decimal" if item.decimal_comma else ""
    if item.decimals is None:
        return f"number{comma}", None
    if 1 <= item.decimals <= 4:
        return f"number_{item.decimals}dp{comma}", None
    if item.decimals == 0:
        return "integer", "a number without decimals is an integer in REDCap"
    return f"number{comma}", f"REDCap fixes 1 to 4 decimals, not {item.decimals}: any accepted"


def _pattern_validation(item: Item) -> tuple[str, str | None]:
    name = item.pattern_name
    if name not in PATTERNS:
        return "", f"REDCap takes no custom pattern ({item.pattern!r}) in a dictionary: left out"
    if item.pattern != PATTERNS[name]:
        return name, f"REDCap's {name} validation applies its own pattern, not {item.pattern!r}"
    return name, None


class _Writer:
    """One export: the rows of a definition, and findings on what they cannot carry."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self.language = definition.default_language
        self.findings: list[Finding] = []
        self.exported_checks: set[int] = set()  # ids of edit checks written as "today" bounds
        self.names = self._names()
        self.renames = {
            item.name: self.names[id(item)]
            for _form, item in definition.items()
            if self.names[id(item)] != item.name
        }

    def note(self, where: str, message: str, level: FindingLevel = FindingLevel.WARNING) -> None:
        self.findings.append(Finding(where, message, level))

    def text(self, text: Text) -> str:
        return text_in(text, self.language, self.language)

    def _names(self) -> dict[int, str]:
        """REDCap variable names by block; items keep theirs, descriptive fields take their
        OID's, and any clash or invalid name gets a unique valid one."""
        blocks = [block for form in self.definition.forms for block in form_blocks(form)]
        names: dict[int, str] = {}
        used: set[str] = set()
        for block in sorted(blocks, key=lambda block: isinstance(block, Static)):
            wanted = block.name if isinstance(block, Item) else block.oid.removeprefix("T.").lower()
            name = wanted if NAME_PATTERN.match(wanted) else variable_name(wanted)
            unique, number = name, 2
            while unique in used:
                unique, number = f"{name[:90]}_{number}", number + 1
            if unique != wanted:
                message = f"written as {unique}: {wanted!r} is not a free REDCap variable name"
                self.note(block.oid, message, FindingLevel.INFO)
            used.add(unique)
            names[id(block)] = unique
        return names

    # - the whole definition

    def rows(self) -> Iterator[list[str]]:
        self._definition_findings()
        for form in self.definition.forms:
            yield from self._form_rows(form)

    def _definition_findings(self) -> None:
        if self.language != LANGUAGE:
            message = (
                f"texts written in {self.language}: a dictionary does not say its language, "
                "so they read back in the first language of the study importing it"
            )
            self.note("languages", message, FindingLevel.INFO)
        others = [lang for lang in self.definition.languages if lang != self.language]
        if others:
            message = (
                f"texts in {', '.join(others)} not exported: a dictionary holds one language "
                "(REDCap's Multi-Language Management imports translations)"
            )
            self.note("languages", message)
        schedule = self.definition.schedule
        if schedule.visits:
            names = [visit.name for visit in schedule.visits]
            message = f"{counted(names, 'visit')} not exported (a dictionary has no events): "
            self.note("schedule", message + listed(names) + "; define them as REDCap events")
        if schedule.unscheduled_allowed or schedule.unscheduled_forms:
            self.note("schedule", "unscheduled visits and their forms not exported")
        first = next((b for form in self.definition.forms for b in form_blocks(form)), None)
        if first is not None and not (isinstance(first, Item) and first.type is ItemType.TEXT):
            message = (
                "REDCap takes the first field as the record identifier: put a text field first"
            )
            self.note(first.oid, message)

    def _form_rows(self, form: Form) -> Iterator[list[str]]:
        name = form.name
        if not NAME_PATTERN.match(name):
            name = variable_name(name)
            self.note(form.oid, f"form written as {name}: {form.name!r} is no REDCap form name")
        if self.text(form.title) != prettified(name):
            message = f"form title {self.text(form.title)!r} not exported: a dictionary names forms"
            self.note(form.oid, message + f" only ({name})")
        if form.repeating:
            self.note(form.oid, "repeating form: make the instrument repeating in REDCap's setup")
        if next(form_blocks(form), None) is None:
            self.note(form.oid, "form without fields not exported: REDCap needs at least one")
        started = False
        for section in form.sections:
            header = self.text(section.title)
            blocks = [block for sub in section.subsections for block in sub.blocks]
            self._section_findings(section, header, started, bool(blocks))
            cell = cell_text(header, plain_text)
            previous: SubSection | None = None
            for subsection in section.subsections:
                self._subsection_findings(subsection, previous)
                for block in subsection.blocks:
                    yield self._row(name, block, cell, subsection.matrix)
                    cell = ""
                previous = subsection if subsection.blocks else previous
            started = started or bool(blocks)

    def _section_findings(self, section: Section, header: str, started: bool, filled: bool) -> None:
        if section.show_if:
            message = f"section condition {section.show_if!r} not exported: REDCap has none"
            self.note(section.oid, message + " (give it to each field)")
        if header and not filled:
            self.note(section.oid, f"section {header!r} has no field to carry it: not exported")
        elif not header and started and filled:
            message = "untitled section joined to the previous one: REDCap starts sections at "
            self.note(section.oid, message + "headers", FindingLevel.INFO)

    def _subsection_findings(self, subsection: SubSection, previous: SubSection | None) -> None:
        where = subsection.oid
        if subsection.title:
            self.note(where, f"sub-section title {self.text(subsection.title)!r} not exported")
        if subsection.show_if:
            message = f"sub-section condition {subsection.show_if!r} not exported: REDCap has "
            self.note(where, message + "none (give it to each field)")
        if subsection.repeating:
            message = "repeating sub-section not exported as such: REDCap repeats whole forms"
            self.note(where, message)
        if previous is not None and subsection.blocks and previous.matrix == subsection.matrix:
            what = f"matrix groups {subsection.matrix}" if subsection.matrix else "sub-sections"
            self.note(
                where, f"adjacent {what} joined: REDCap cannot tell them apart", FindingLevel.INFO
            )
        if subsection.matrix and not matrix_ready(subsection):
            message = "REDCap accepts in a matrix only radio or checkbox fields with the same "
            self.note(where, message + "choices: the upload will refuse this group")

    # - one row

    def _row(self, form: str, block: Block, header: str, matrix: str | None) -> list[str]:
        cells = dict.fromkeys(COLUMNS, "")
        cells.update(name=self.names[id(block)], form=form, section=header, matrix=matrix or "")
        cells["logic"] = self._expression(block.show_if, block.oid, "branching logic")
        if isinstance(block, Static):
            cells.update(
                type="descriptive", label=cell_text(self.text(block.content), markdown_text)
            )
        else:
            self._item_cells(block, cells)
        return [cells[column] for column in COLUMNS]

    def _item_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["label"] = cell_text(self.text(item.label), plain_text)
        cells["note"] = cell_text(self.text(item.help), plain_text)
        cells["identifier"] = "y" if item.identifier else ""
        cells["required"] = "y" if item.required else ""
        forced = None
        if item.type is ItemType.TEXT:
            forced = self._text_cells(item, cells)
        else:
            getattr(self, f"_{item.type.value}_cells")(item, cells)
        cells["annotation"] = self._annotation(item, forced)
        self._lost(item)

    def _text_cells(self, item: Item, cells: dict[str, str]) -> bool | None:
        cells["type"] = "text"
        cells["validation"], problem = redcap_validation(item)
        if problem:
            self.note(item.oid, problem)
        return self._ranges(item, cells)

    def _long_text_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["type"] = "notes"

    def _calculated_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["type"] = "calc"
        cells["choices"] = self._expression(item.calculation, item.oid, "calculation")
        if not item.calculation:
            self.note(item.oid, "calculated item without a calculation: REDCap needs one")

    def _single_choice_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["type"] = "radio" if item.widget in (None, "radio") else "dropdown"
        cells["validation"] = "autocomplete" if item.widget == "autocomplete" else ""
        cells["choices"] = self._choices(item)

    def _multiple_choice_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells.update(type="checkbox", choices=self._choices(item))

    def _yes_no_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["type"] = "yesno"

    def _true_false_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["type"] = "truefalse"

    def _file_cells(self, item: Item, cells: dict[str, str]) -> None:
        cells["type"] = "file"
        cells["validation"] = "signature" if item.file_kind == "signature" else ""

    def _acknowledgement_cells(self, item: Item, cells: dict[str, str]) -> None:
        label = cell_text(self.text(item.label), plain_text, pipes=True)
        cells.update(type="checkbox", choices=f"1, {label}")
        message = "an acknowledgement is written as a checkbox with one choice (1): it reads "
        self.note(item.oid, message + "back as a multiple choice")

    def _slider_cells(self, item: Item, cells: dict[str, str]) -> None:
        slider = item.slider or DEFAULT_SLIDER
        labels = [
            cell_text(self.text(text), plain_text, pipes=True)
            for text in (slider.left, slider.middle, slider.right)
        ]
        cells["type"] = "slider"
        cells["choices"] = " | ".join(labels) if any(labels) else ""
        cells["validation"] = "number" if slider.show_number else ""
        cells["min"] = str(slider.min) if slider.min != DEFAULT_SLIDER.min else ""
        cells["max"] = str(slider.max) if slider.max != DEFAULT_SLIDER.max else ""

    def _choices(self, item: Item) -> str:
        parts = []
        for choice in item.choices:
            code = choice.code
            if not code or code != code.strip() or "," in code or "|" in code:
                message = f"choice code {code!r} cannot be written (empty, spaces, ',' or '|'): "
                self.note(item.oid, message + "left out")
                continue
            parts.append(f"{code}, {cell_text(self.text(choice.label), plain_text, pipes=True)}")
        return " | ".join(parts)

    def _expression(self, text: str | None, where: str, what: str) -> str:
        if not text:
            return ""
        try:
            expression = parse(renamed(text, self.renames))
        except ExpressionError as error:
            message = f"{what} does not parse ({expression_error(error)}): written as it is"
            self.note(where, message)
            return text
        try:
            return to_redcap(expression)
        except ExpressionError as error:
            message = f"{what} has no REDCap equivalent ({expression_error(error)}): written in "
            self.note(where, message + "Datacapt's syntax, which REDCap will not read")
            return to_text(expression)

    # - ranges, action tags and what a dictionary cannot hold

    def _ranges(self, item: Item, cells: dict[str, str]) -> bool | None:
        """Fill min/max; whether REDCap must refuse values out of them (@FORCE-MINMAX), None
        when there are none (the annotation's tag is then left as it is)."""
        hard, soft = item.hard_range, item.soft_range
        if item.validation not in RANGED:
            if hard or soft:
                self.note(item.oid, "range not exported: REDCap ranges numbers, dates and times")
            return None
        written = hard or soft
        if hard and soft:
            forced = bool(FORCE_MINMAX.search(item.annotation or ""))
            written = hard if forced else soft
            lost = "soft" if forced else "hard"
            self.note(item.oid, f"the {lost} range not exported: REDCap has one range per field")
        todays = self._today_checks(item)
        if written is None:
            forced = any(check.severity is Severity.BLOCKING for check in todays.values())
        else:
            forced = written is hard
        for bound in ("min", "max"):
            value = getattr(written, bound) if written else None
            check = todays.get(bound)
            if (
                value is None
                and check is not None
                and check == today_check(item.name, bound, forced)
            ):
                value = "today"
                self.exported_checks.add(id(check))
            cells[bound] = value or ""
        return forced if cells["min"] or cells["max"] else None

    def _today_checks(self, item: Item) -> dict[str, EditCheck]:
        """The edit checks that are a "today" bound read from REDCap, by bound."""
        if not NAME_PATTERN.match(item.name):
            return {}
        found: dict[str, EditCheck] = {}
        for check in item.edit_checks:
            for bound in ("min", "max"):
                if check in (today_check(item.name, bound, forced) for forced in (False, True)):
                    found.setdefault(bound, check)
        return found

    def _annotation(self, item: Item, forced: bool | None) -> str:
        """The annotation, with @FORCE-MINMAX and @CHARLIMIT agreeing with the item."""
        annotation = item.annotation or ""
        if forced is not None and bool(FORCE_MINMAX.search(annotation)) != forced:
            annotation = _with_tag(annotation, FORCE_MINMAX, "@FORCE-MINMAX" if forced else None)
            message = "@FORCE-MINMAX " + ("added: the range is hard" if forced else "removed")
            self.note(item.oid, message, FindingLevel.INFO)
        if charlimit(annotation) != item.max_length:
            tag = f"@CHARLIMIT={item.max_length}" if item.max_length else None
            annotation = _with_tag(annotation, CHARLIMIT, tag)
            self.note(
                item.oid, f"annotation's @CHARLIMIT set to {tag or 'none'}", FindingLevel.INFO
            )
        return annotation

    def _lost(self, item: Item) -> None:
        """What the item holds and no dictionary column can."""
        if item.units:
            message = f"units {item.units!r} not exported: REDCap has no units column (give "
            self.note(item.oid, message + "them in the label or the field note)")
        if item.missing_codes_allowed:
            message = "missing data codes not exported: REDCap sets them for the whole project"
            self.note(item.oid, message)
        for alias in item.aliases:
            self.note(item.oid, f"alias {alias.context} {alias.name!r} not exported")
        for check in item.edit_checks:
            if id(check) not in self.exported_checks:
                message = f"edit check {check.condition!r} not exported: REDCap keeps data "
                self.note(check.oid, message + "quality rules apart from the dictionary")
        if item.type is not ItemType.TEXT and item.validation is not None:
            self.note(item.oid, f"{item.validation} validation of a {item.type} item not exported")
        if item.type is not ItemType.TEXT and (item.hard_range or item.soft_range):
            self.note(item.oid, f"range of a {item.type} item not exported")
        if item.type is not ItemType.CALCULATED and item.calculation:
            self.note(item.oid, f"calculation of a {item.type} item not exported")
        if item.choices and item.type not in (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_CHOICE):
            message = f"choices of a {item.type} item not exported: REDCap's are fixed"
            self.note(item.oid, message)


def _with_tag(annotation: str, pattern: re.Pattern[str], tag: str | None) -> str:
    kept = pattern.sub("", annotation).strip()
    return " ".join(part for part in (kept, tag) if part)


def write_dictionary(definition: Definition) -> tuple[str, list[Finding]]:
    """The REDCap data dictionary (CSV text) of a definition, and what it could not carry.

    One row per item or static in order; a section's title heads its first field, a matrix
    sub-section names its fields' matrix group. The text is to be encoded as UTF-8.
    """
    writer = _Writer(definition)
    buffer = io.StringIO(newline="")
    output = csv.writer(buffer)
    output.writerow(HEADER)
    output.writerows(writer.rows())
    return buffer.getvalue(), writer.findings
