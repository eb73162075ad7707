"""A subject's casebook: the visits of the published schedule (and the unscheduled or repeated
ones entered so far), each with its forms and their status; and how they are addressed.

Keys in URLs: a visit is its design name (``baseline``), a repeat of it ``baseline-2``, an
unscheduled visit ``unscheduled-1``; a form is its name, a row of a log form ``adverse_events-3``.
Names cannot hold '-', so keys never clash.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from datacapt.ecrf.definition import Definition, Form, Visit
from datacapt.models import FormInstance, FormStatus, VisitInstance

UNSCHEDULED = "unscheduled"


def is_log(form: Form) -> bool:
    """A log form (adverse events, medications): filled once per row, as many rows as needed."""
    if form.repeating:
        return True
    for section in form.sections:
        for subsection in section.subsections:
            if subsection.repeating:
                return True
    return False


def visit_key(visit: str, repeat: int) -> str:
    if visit == UNSCHEDULED or repeat > 1:
        return f"{visit}-{repeat}"
    return visit


def form_key(form: Form, repeat: int) -> str:
    return f"{form.name}-{repeat}" if is_log(form) else form.name


def parse_key(key: str) -> tuple[str, int] | None:
    """``baseline`` → (baseline, 1); ``baseline-2`` → (baseline, 2); anything else → None."""
    name, dash, number = key.partition("-")
    if not dash:
        return name, 1
    if not (number.isascii() and number.isdigit()) or len(number) > 6 or int(number) < 1:
        return None
    return name, int(number)


@dataclass
class FormCell:
    form: Form
    key: str
    instance: FormInstance | None = None
    rows: list[FormInstance] = field(default_factory=list)  # log forms: its rows

    @property
    def status(self) -> str:
        if is_log(self.form):
            return "log"
        return self.instance.status.value if self.instance else "not_started"


@dataclass
class VisitRow:
    name: str
    repeat: int
    design: Visit | None  # None for an unscheduled visit
    instance: VisitInstance | None
    cells: list[FormCell]

    @property
    def key(self) -> str:
        return visit_key(self.name, self.repeat)


def visit_forms(definition: Definition, name: str) -> list[Form]:
    if name == UNSCHEDULED:
        names = definition.schedule.unscheduled_forms
    else:
        visit = next((v for v in definition.schedule.visits if v.name == name), None)
        names = visit.forms if visit else []
    return [form for form in definition.forms if form.name in names]


def cells(definition: Definition, name: str, instances: list[FormInstance]) -> list[FormCell]:
    found = []
    for form in visit_forms(definition, name):
        mine = sorted((i for i in instances if i.form == form.name), key=lambda i: i.repeat)
        if is_log(form):
            rows = [row for row in mine if row.status is not FormStatus.REMOVED]
            found.append(FormCell(form, form.name, rows=rows))
        else:
            found.append(FormCell(form, form.name, mine[0] if mine else None))
    return found


def casebook(
    definition: Definition, visits: list[VisitInstance], forms: list[FormInstance]
) -> list[VisitRow]:
    """The visits in schedule order (repeats after their first), then the unscheduled ones."""
    by_visit: dict[int, list[FormInstance]] = {}
    for instance in forms:
        by_visit.setdefault(instance.visit_instance_id, []).append(instance)
    entered = {(v.visit, v.repeat): v for v in visits}
    rows: list[VisitRow] = []
    for design in definition.schedule.visits:
        repeats = sorted({1} | {repeat for (name, repeat) in entered if name == design.name})
        for repeat in repeats:
            instance = entered.get((design.name, repeat))
            mine = by_visit.get(instance.id, []) if instance else []
            rows.append(
                VisitRow(
                    design.name, repeat, design, instance, cells(definition, design.name, mine)
                )
            )
    for (name, repeat), instance in sorted(entered.items()):
        if name == UNSCHEDULED:
            rows.append(
                VisitRow(
                    name,
                    repeat,
                    None,
                    instance,
                    cells(definition, name, by_visit.get(instance.id, [])),
                )
            )
    return rows
