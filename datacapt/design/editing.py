"""Changes to a draft's definition, as pure functions on the tree.

Views parse what the designer typed, these functions apply it, and
:func:`datacapt.design.services.save_draft` stores the result with an audit event. Each
function finds its target by OID and raises :class:`NotFound` for an OID that is not there (a
stale page, a forged request), so a view answers 404 or 409 instead of guessing.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from datacapt.ecrf.definition import (
    Block,
    Definition,
    Form,
    Item,
    Section,
    Static,
    SubSection,
    Text,
    Visit,
)


class NotFound(LookupError):
    """No element with this OID (or name) in the definition."""


@dataclass(frozen=True)
class BlockPlace:
    form: Form
    section: Section
    subsection: SubSection
    index: int

    @property
    def block(self) -> Block:
        return self.subsection.blocks[self.index]


def new_oid(definition: Definition, prefix: str) -> str:
    """The first free ``PREFIX.n``: OIDs are never reused within a definition's lineage because
    drafts start from the published definition, which holds every OID given so far."""
    taken = set(definition.oids())
    return next(f"{prefix}.{n}" for n in itertools.count(1) if f"{prefix}.{n}" not in taken)


def named_oid(definition: Definition, prefix: str, name: str) -> str:
    """``PREFIX.NAME`` (I.WEIGHT, V.BASELINE ...), numbered only if another element has it."""
    base = f"{prefix}.{name.upper()}"
    taken = set(definition.oids())
    if base not in taken:
        return base
    return next(f"{base}.{n}" for n in itertools.count(2) if f"{base}.{n}" not in taken)


def find_form(definition: Definition, name: str) -> Form:
    form = definition.form(name)
    if form is None:
        raise NotFound(name)
    return form


def find_section(form: Form, oid: str) -> Section:
    found = next((s for s in form.sections if s.oid == oid), None)
    if found is None:
        raise NotFound(oid)
    return found


def find_subsection(form: Form, oid: str) -> tuple[Section, SubSection]:
    for section in form.sections:
        for subsection in section.subsections:
            if subsection.oid == oid:
                return section, subsection
    raise NotFound(oid)


def places(form: Form) -> Iterator[BlockPlace]:
    for section in form.sections:
        for subsection in section.subsections:
            for index in range(len(subsection.blocks)):
                yield BlockPlace(form, section, subsection, index)


def find_block(form: Form, oid: str) -> BlockPlace:
    found = next((p for p in places(form) if p.block.oid == oid), None)
    if found is None:
        raise NotFound(oid)
    return found


def find_visit(definition: Definition, oid: str) -> Visit:
    found = next((v for v in definition.schedule.visits if v.oid == oid), None)
    if found is None:
        raise NotFound(oid)
    return found


def _move(elements: list, index: int, offset: int) -> None:
    target = index + offset
    if not 0 <= target < len(elements):
        return
    elements[index], elements[target] = elements[target], elements[index]


# --- forms, sections, sub-sections -----------------------------------------------------------


def add_form(definition: Definition, name: str, title: Text) -> Form:
    form = Form(oid=named_oid(definition, "F", name), name=name, title=title)
    section = Section(oid=new_oid(definition, "S"))
    form.sections.append(section)
    definition.forms.append(form)
    section.subsections.append(SubSection(oid=new_oid(definition, "G")))
    return form


def delete_form(definition: Definition, name: str) -> None:
    form = find_form(definition, name)
    definition.forms.remove(form)
    for visit in definition.schedule.visits:
        visit.forms = [f for f in visit.forms if f != name]
    schedule = definition.schedule
    schedule.unscheduled_forms = [f for f in schedule.unscheduled_forms if f != name]


def move_form(definition: Definition, name: str, offset: int) -> None:
    _move(definition.forms, definition.forms.index(find_form(definition, name)), offset)


def add_section(definition: Definition, form: Form, title: Text) -> Section:
    section = Section(oid=new_oid(definition, "S"), title=title)
    form.sections.append(section)
    section.subsections.append(SubSection(oid=new_oid(definition, "G")))
    return section


def add_subsection(definition: Definition, section: Section, title: Text) -> SubSection:
    subsection = SubSection(oid=new_oid(definition, "G"), title=title)
    section.subsections.append(subsection)
    return subsection


def delete_section(form: Form, oid: str) -> None:
    section = find_section(form, oid)
    if len(form.sections) == 1:
        raise ValueError("a form keeps at least one section")
    form.sections.remove(section)


def delete_subsection(form: Form, oid: str) -> None:
    section, subsection = find_subsection(form, oid)
    if len(section.subsections) == 1:
        raise ValueError("a section keeps at least one sub-section")
    section.subsections.remove(subsection)


# --- blocks ----------------------------------------------------------------------------------


def add_block(subsection: SubSection, block: Block, index: int | None = None) -> None:
    """At the end, or before the block now at ``index`` (an index past the end appends)."""
    if index is None:
        subsection.blocks.append(block)
    else:
        subsection.blocks.insert(max(index, 0), block)


def replace_block(form: Form, oid: str, block: Block) -> None:
    place = find_block(form, oid)
    place.subsection.blocks[place.index] = block


def delete_block(form: Form, oid: str) -> Block:
    place = find_block(form, oid)
    return place.subsection.blocks.pop(place.index)


def move_block(form: Form, oid: str, offset: int) -> None:
    """One step up (-1) or down (+1); at the edge of a sub-section the block moves into the
    neighbouring sub-section, so the keyboard alone can carry a block anywhere."""
    place = find_block(form, oid)
    blocks = place.subsection.blocks
    target = place.index + offset
    if 0 <= target < len(blocks):
        _move(blocks, place.index, offset)
        return
    subsections = [sub for section in form.sections for sub in section.subsections]
    neighbour = subsections.index(place.subsection) + offset
    if not 0 <= neighbour < len(subsections):
        return
    block = blocks.pop(place.index)
    destination = subsections[neighbour].blocks
    if offset < 0:
        destination.append(block)
    else:
        destination.insert(0, block)


def place_block(form: Form, oid: str, index: int) -> None:
    """To ``index`` within its sub-section (0 is first): one act where ↑/↓ take many."""
    place = find_block(form, oid)
    blocks = place.subsection.blocks
    if not 0 <= index < len(blocks):
        raise IndexError(index)
    blocks.insert(index, blocks.pop(place.index))


def unique_name(definition: Definition, base: str) -> str:
    taken = {item.name for _form, item in definition.items()}
    if base not in taken:
        return base
    stem = base[:95]
    return next(f"{stem}_{n}" for n in itertools.count(2) if f"{stem}_{n}" not in taken)


def duplicate_block(definition: Definition, form: Form, oid: str) -> Block:
    """A copy right after the original, with new OIDs (and a new variable name for an item)."""
    place = find_block(form, oid)
    block = copy.deepcopy(place.block)
    if isinstance(block, Item):
        block.name = unique_name(definition, block.name)
        block.oid = named_oid(definition, "I", block.name)
        for check in block.edit_checks:
            check.oid = new_oid(definition, "EC")
    elif isinstance(block, Static):
        block.oid = new_oid(definition, "T")
    place.subsection.blocks.insert(place.index + 1, block)
    return block


# --- visits ----------------------------------------------------------------------------------


def add_visit(definition: Definition, visit: Visit) -> Visit:
    visit.oid = named_oid(definition, "V", visit.name)
    definition.schedule.visits.append(visit)
    return visit


def replace_visit(definition: Definition, oid: str, visit: Visit) -> None:
    visits = definition.schedule.visits
    visit.oid = oid
    visits[visits.index(find_visit(definition, oid))] = visit


def delete_visit(definition: Definition, oid: str) -> None:
    definition.schedule.visits.remove(find_visit(definition, oid))


def move_visit(definition: Definition, oid: str, offset: int) -> None:
    visits = definition.schedule.visits
    _move(visits, visits.index(find_visit(definition, oid)), offset)
