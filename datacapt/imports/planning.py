"""Running an import: the file's cells, subject by subject, through the same save as a person's
(:func:`~datacapt.entry.services.read_for_save` → ``plan_save`` → ``apply_save``, its
reactions included), with the reason "import FILE".

Each subject is written inside a savepoint: a dry run rolls every one back once its report is
taken, so it sees what the save would do (calculations, edit checks across forms, enrolment)
and writes nothing. A confirmed run keeps them, and its caller rolls the whole back at the
first refusal: a file imports whole or not at all. A subject's rows must follow each other in
the file (as every export writes them); only one subject's rows are held in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pyramid.i18n import TranslationString
from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.actor import Actor
from datacapt.ecrf.casebook import UNSCHEDULED, is_log, visit_forms
from datacapt.ecrf.definition import Definition, Form, Item, ItemType, form_items
from datacapt.ecrf.versions import PublishedDesign
from datacapt.entry import services as entry
from datacapt.i18n import _
from datacapt.imports.cells import Cell, Refusal
from datacapt.imports.report import Report
from datacapt.models import FormStatus, Site, Study, Subject
from datacapt.reactions import Reactions
from datacapt.studies.services import find_site
from datacapt.subjects.services import enrol
from datacapt.validation import ValidationError

FormKey = tuple[str, int, str, int]


@dataclass(frozen=True)
class Run:
    """What one run of an import needs besides the file."""

    dbsession: Session
    study: Study
    design: PublishedDesign
    actor: Actor
    reactions: Reactions
    reason: str
    today: date  # what expressions read as today(): the installation's date
    #: A confirmed run: when its dry run began (a form saved since is refused); None: dry run.
    checked_at: datetime | None = None

    @property
    def confirmed(self) -> bool:
        return self.checked_at is not None


def run(
    work: Run,
    cells: Iterable[Cell | Refusal],
    *,
    progress: Callable[[], None] = lambda: None,
) -> Report:
    """Import ``cells`` as :mod:`this module <datacapt.imports.planning>` says; the report."""
    report = Report()
    for label, group in _subjects(cells, report):
        loaded = set(work.dbsession.identity_map.keys())
        with work.dbsession.begin_nested() as savepoint:
            _subject(work, label, group, report)
            if not work.confirmed:
                savepoint.rollback()
        _forget(work.dbsession, loaded)
        progress()
    return report


def _subjects(cells: Iterable[Cell | Refusal], report: Report) -> Iterator[tuple[str, list[Cell]]]:
    """The cells grouped by subject, in file order; a subject's rows found again after another
    subject's are refused."""
    seen: set[str] = set()
    label, group = "", []
    for cell in cells:
        report.rows += 1
        if isinstance(cell, Refusal):
            report.refuse(cell.line, cell.message)
            continue
        if not cell.subject:
            report.refuse(cell.line, _("The row names no subject."), _where(cell))
            continue
        if cell.subject != label:
            if group:
                yield label, group
            label, group = cell.subject, []
            if label in seen:
                report.refuse(
                    cell.line,
                    _(
                        "The rows of subject ${subject} must follow each other in the file.",
                        mapping={"subject": label},
                    ),
                )
                label = ""
                continue
            seen.add(label)
        if label:
            group.append(cell)
    if group:
        yield label, group


def _forget(dbsession: Session, loaded: set[Any]) -> None:
    """Drop from the session what a subject's import loaded there (all of it written, or
    rolled back), so that memory holds one subject at a time; what the caller had loaded
    before stays."""
    dbsession.flush()
    for key, instance in list(dbsession.identity_map.items()):
        if key not in loaded:
            dbsession.expunge(instance)


def _refuse_all(report: Report, cells: Iterable[Cell], reason: TranslationString) -> None:
    for cell in cells:
        report.refuse(cell.line, reason, _where(cell))


def _form_place(cell: Cell) -> str:
    """Where a cell goes, as a casebook names it: ``par01-0001 / unscheduled-2 / ae-1``."""
    visit = cell.visit or "?"
    if cell.visit_repeat > 1 or visit == UNSCHEDULED:
        visit = f"{visit}-{cell.visit_repeat}"
    form = cell.form if cell.form_repeat == 1 else f"{cell.form}-{cell.form_repeat}"
    return f"{cell.subject} / {visit} / {form}"


def _where(cell: Cell) -> str:
    return f"{_form_place(cell)} / {cell.item}"


def _subject(work: Run, label: str, cells: list[Cell], report: Report) -> None:
    dbsession, study = work.dbsession, work.study
    sites = {cell.site for cell in cells if cell.site}
    row = dbsession.execute(
        select(Subject, Site.code)
        .join(Site, Site.id == Subject.site_id)
        .where(Subject.study_id == study.id, Subject.label == label)
    ).first()
    if row is not None:
        subject, code = row
        if sites - {code}:
            _refuse_all(
                report,
                cells,
                _(
                    "Subject ${subject} is at site ${site}.",
                    mapping={"subject": label, "site": code},
                ),
            )
            return
    else:
        if len(sites) != 1:
            _refuse_all(
                report,
                cells,
                _(
                    "No subject ${subject} in this study, and the file does not name one site "
                    "to enrol them at.",
                    mapping={"subject": label},
                ),
            )
            return
        site = find_site(dbsession, study, next(iter(sites)))
        if site is None:
            _refuse_all(
                report,
                cells,
                _("No site ${site} in this study.", mapping={"site": next(iter(sites))}),
            )
            return
        try:
            subject = enrol(dbsession, study, site, label, actor=work.actor)
        except ValidationError as refusal:
            _refuse_all(report, cells, refusal.message)
            return
        report.enrolled(label)
    forms: dict[FormKey, list[Cell]] = {}
    definition = work.design.definition
    for cell in cells:
        visit = cell.visit if cell.visit is not None else _only_visit(definition, cell.form)
        forms.setdefault((visit or "", cell.visit_repeat, cell.form, cell.form_repeat), []).append(
            cell
        )
    for key, form_cells in forms.items():
        _form(work, subject, key, form_cells, report)


def _only_visit(definition: Definition, form: str) -> str | None:
    """The one scheduled visit holding ``form`` (None: none, or several)."""
    holding = [visit.name for visit in definition.schedule.visits if form in visit.forms]
    return holding[0] if len(holding) == 1 else None


def _place(definition: Definition, key: FormKey) -> Form | TranslationString:
    """The form a key names, or why the design has no such place."""
    visit, visit_repeat, form_name, form_repeat = key
    if not visit:
        return _("Name the visit (the form is in several visits, or in none).")
    scheduled = next((v for v in definition.schedule.visits if v.name == visit), None)
    if scheduled is None and not (visit == UNSCHEDULED and definition.schedule.unscheduled_allowed):
        return _("No visit ${visit} in the study's design.", mapping={"visit": visit})
    if visit_repeat > 1 and scheduled is not None and not scheduled.repeating:
        return _("Visit ${visit} does not repeat.", mapping={"visit": visit})
    form = next((f for f in visit_forms(definition, visit) if f.name == form_name), None)
    if form is None:
        return _("No form ${form} at visit ${visit}.", mapping={"form": form_name, "visit": visit})
    if form_repeat > 1 and not is_log(form):
        return _("Form ${form} does not repeat.", mapping={"form": form_name})
    return form


def _form(work: Run, subject: Subject, key: FormKey, cells: list[Cell], report: Report) -> None:
    """One form of the file: planned as a save of what the form holds with the file's values
    over it, then applied (kept or rolled back by the caller)."""
    definition = work.design.definition
    form = _place(definition, key)
    if isinstance(form, TranslationString):
        _refuse_all(report, cells, form)
        return
    items = {item.name: item for item in form_items(form)}
    given: dict[str, Cell] = {}
    for cell in cells:
        item = items.get(cell.item)
        if item is None:
            report.refuse(
                cell.line,
                _(
                    "No item ${item} in form ${form}.",
                    mapping={"item": cell.item, "form": form.name},
                ),
                _where(cell),
            )
        elif item.name in given:
            report.refuse(
                cell.line,
                _(
                    "Item ${item} is given twice for this form (also on line ${line}).",
                    mapping={"item": item.name, "line": given[item.name].line},
                ),
                _where(cell),
            )
        elif item.type is not ItemType.CALCULATED and (cell.value or cell.missing):
            given[item.name] = cell  # a calculation is the save's, never the file's
    if not given:
        return
    scope = entry.EntryScope(work.study, subject, key[0], key[1], form, key[3], work.design.number)
    reads = entry.read_for_save(work.dbsession, scope, definition)
    first = cells[0]
    instance = reads.instance
    if (
        work.checked_at is not None
        and instance is not None
        and instance.updated_at > work.checked_at
    ):
        _refuse_all(
            report,
            given.values(),
            _("The form was changed since the dry run (409): check the file again."),
        )
        return
    posted, missing = entry.over_stored(
        form,
        reads.rows,
        {name: cell.value for name, cell in given.items() if cell.value},
        {name: cell.missing or "" for name, cell in given.items() if not cell.value},
    )
    complete = next((c.complete for c in cells if c.complete is not None), None)
    if complete is None:
        complete = instance is not None and instance.status is FormStatus.COMPLETE
    request = entry.EntryRequest(
        posted=posted,
        missing=missing,
        complete=complete,
        reason=work.reason,
        lock=instance.lock_version if instance is not None else None,
        today=work.today,
    )
    codes = {code for code, _label in work.study.missing_codes}
    try:
        entry.check_entry_allowed(work.dbsession, scope.subject, work.actor, work.reactions)
        plan = entry.plan_save(scope, definition, request, reads, missing_codes=codes)
    except entry.EntryBlocked as blocked:
        _refuse_all(report, given.values(), blocked.refusals[0])
        return
    except entry.SaveRefused as refused:
        for name, text in refused.errors.items():
            item = name.removeprefix("missing-")
            cell = given.get(item)
            if cell is not None:
                report.refuse(cell.line, text, _where(cell))
            else:  # an item the file leaves as the form holds it (required to complete)
                report.refuse(first.line, text, f"{_form_place(first)} / {item}")
        return
    except entry.FormClosed:
        if not _same_as_stored(given, items, reads):
            _refuse_all(report, given.values(), _("The form is frozen, locked or signed."))
        return
    except entry.StaleForm:
        _refuse_all(report, given.values(), _("The form was changed meanwhile (409)."))
        return
    if plan.outcome != "write" or not plan.events:
        return  # the file repeats what the form holds: the form is not touched
    try:
        applied = entry.apply_save(work.dbsession, plan, work.actor, work.reactions)
    except entry.EntryBlocked as blocked:  # a withdrawal committed since the check: nothing written
        _refuse_all(report, given.values(), blocked.refusals[0])
        return
    except entry.FormClosed:  # frozen or locked since the read: nothing written
        _refuse_all(report, given.values(), _("The form is frozen, locked or signed."))
        return
    except entry.StaleForm:  # a save committed since the read: this one wrote nothing
        _refuse_all(report, given.values(), _("The form was changed meanwhile (409)."))
        return
    if applied.replayed:
        return  # a save committed since the read left the form as the file has it
    if instance is None:
        report.forms_created += 1
    elif plan.changes:
        report.forms_changed += 1
    for change in plan.changes:
        cell = given.get(change.item.name, first)
        report.changed(cell.line, _form_place(cell), change.item, change.old, change.new)


def _same_as_stored(given: dict[str, Cell], items: dict[str, Item], reads: entry.SaveReads) -> bool:
    """Whether the file only repeats what a closed form holds (re-importing an export of a
    study with locked forms changes nothing, and is not refused for it)."""
    for name, cell in given.items():
        row = reads.rows.get(items[name].oid)
        stored = (row.value, row.missing_code) if row is not None else (None, None)
        if stored != (cell.value or None, None if cell.value else cell.missing):
            return False
    return True
