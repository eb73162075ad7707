"""A subject's PDF casebook as its template reads it: every visit in schedule order, every form
with its values as the design version it was saved with shows them, its states, queries and
signatures. Only words and numbers here; the template lays them out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from datacapt.ecrf.casebook import UNSCHEDULED, is_log
from datacapt.ecrf.definition import Definition, Form, Item, Section, form_items
from datacapt.exports.source import FormRecord
from datacapt.exports.subject_reads import FormState, SignatureRecord, SubjectReads, Thread
from datacapt.exports.wording import Wording
from datacapt.i18n import _
from datacapt.models.entry import FormStatus, LockState, ReviewStatus, SdvStatus, SignatureState
from datacapt.models.queries import QueryState, QueryStep
from datacapt.models.review import SignatureScope
from datacapt.queries.services import worded
from datacapt.units import shown_unit

STATUS_LABELS = {FormStatus.IN_PROGRESS: _("In progress"), FormStatus.COMPLETE: _("Complete")}
LOCK_LABELS = {LockState.FROZEN: _("Frozen"), LockState.LOCKED: _("Locked")}
SDV_LABELS = {
    SdvStatus.NOT_REQUIRED: _("SDV not required"),
    SdvStatus.AWAITING: _("Awaiting SDV"),
    SdvStatus.VERIFIED: _("Verified"),
    SdvStatus.CHANGED: _("Changed since verified"),
}
REVIEW_LABELS = {
    ReviewStatus.REVIEWED: _("Reviewed"),
    ReviewStatus.CHANGED: _("Changed since reviewed"),
}
SIGNATURE_LABELS = {
    SignatureState.SIGNED: _("Signed"),
    SignatureState.BROKEN: _("Signature invalidated"),
}
QUERY_LABELS = {
    QueryState.OPEN: _("Open"),
    QueryState.ANSWERED: _("Answered"),
    QueryState.CLOSED: _("Closed"),
}
STEP_LABELS = {
    QueryStep.RAISED: _("Raised"),
    QueryStep.ANSWERED: _("Answered"),
    QueryStep.CLOSED: _("Closed"),
    QueryStep.REOPENED: _("Re-opened"),
}


@dataclass(frozen=True)
class Cover:
    """What every casebook of one export says on its cover."""

    study_code: str
    study_title: str
    exported_at: str
    exported_by: str
    options: list[tuple[str, str]]


@dataclass(frozen=True)
class ChangeLine:
    at: str
    by: str
    old: str
    new: str
    reason: str


@dataclass(frozen=True)
class ValueLine:
    label: str
    value: str | None  # as the form shows it; None: blank
    units: str | None
    missing: str | None  # the missing-data code and its label
    sdv: str
    changes: list[ChangeLine] = field(default_factory=list)
    heading: bool = False  # a section's title among the values


@dataclass(frozen=True)
class MessageLine:
    step: str
    author: str
    at: str
    body: str


@dataclass(frozen=True)
class QueryLine:
    number: int
    about: str
    state: str
    messages: list[MessageLine]


@dataclass(frozen=True)
class SignatureLine:
    signer: str
    at: str
    meaning: str
    broken: str | None  # when it was invalidated


@dataclass(frozen=True)
class FormPage:
    title: str
    row: int | None  # a log form's row number
    states: list[str]
    lines: list[ValueLine]
    queries: list[QueryLine]
    signatures: list[SignatureLine]


@dataclass(frozen=True)
class VisitPart:
    title: str | None  # None: an unscheduled visit
    repeat: int
    forms: list[FormPage]
    signatures: list[SignatureLine]


@dataclass(frozen=True)
class Casebook:
    cover: Cover
    language: str
    subject: str
    site_code: str
    site_name: str
    visits: list[VisitPart]
    signatures: list[SignatureLine]  # of the whole casebook


class Pages:
    """Builds each subject's :class:`Casebook` of one export."""

    def __init__(
        self,
        definitions: dict[int, Definition],
        latest: Definition,
        wording: Wording,
        kept: set[str],
        cover: Cover,
    ) -> None:
        self.definitions = definitions  # the published versions, by number
        self.latest = latest
        self.wording = wording
        self.kept = kept  # the OIDs exported: personal-data items are not among them
        self.cover = cover
        schedule = self.latest.schedule.visits
        self.visit_order = {visit.name: number for number, visit in enumerate(schedule)}
        self.form_order = {form.name: number for number, form in enumerate(self.latest.forms)}

    def casebook(self, records: list[FormRecord], reads: SubjectReads) -> Casebook:
        first = records[0]
        visits: dict[tuple[str, int], list[FormRecord]] = {}
        for record in sorted(records, key=self._order):
            visits.setdefault((record.visit, record.visit_repeat), []).append(record)
        parts = [
            self._visit(name, repeat, found, reads) for (name, repeat), found in visits.items()
        ]
        return Casebook(
            self.cover,
            self.wording.language,
            first.subject,
            first.site,
            reads.site_name,
            parts,
            self._signatures(reads.signatures, SignatureScope.CASEBOOK, None),
        )

    def _order(self, record: FormRecord) -> tuple[int, int, int, int]:
        last = len(self.visit_order)
        return (
            self.visit_order.get(record.visit, last + (record.visit == UNSCHEDULED)),
            record.visit_repeat,
            self.form_order.get(record.form, len(self.form_order)),
            record.form_repeat,
        )

    def _visit(
        self, name: str, repeat: int, records: list[FormRecord], reads: SubjectReads
    ) -> VisitPart:
        words = self.wording
        design = next((v for v in self.latest.schedule.visits if v.name == name), None)
        title = words.text(design.title) if design is not None else None
        forms, visit_ids = [], set()
        for record in records:
            state = reads.forms[
                (record.visit, record.visit_repeat, record.form, record.form_repeat)
            ]
            visit_ids.add(state.visit_instance_id)
            forms.append(self._form(record, state, reads))
        signatures = [
            line
            for visit_id in sorted(visit_ids)
            for line in self._signatures(reads.signatures, SignatureScope.VISIT, visit_id)
        ]
        return VisitPart(title, repeat, forms, signatures)

    def _design(self, record: FormRecord, state: FormState) -> Form:
        """The form as the version it was saved with has it (the latest's, failing that)."""
        definition = self.definitions.get(state.version_number, self.latest)
        form = definition.form(record.form) or self.latest.form(record.form)
        assert form is not None  # the catalogue lists only forms of published versions
        return form

    def _form(self, record: FormRecord, state: FormState, reads: SubjectReads) -> FormPage:
        words = self.wording
        form = self._design(record, state)
        states = [
            words.translate(STATUS_LABELS[record.status]),
            words.translate(SDV_LABELS[state.sdv_status]),
        ]
        for labels, value in (
            (LOCK_LABELS, record.lock_state),
            (REVIEW_LABELS, state.review_status),
            (SIGNATURE_LABELS, state.signature_state),
        ):
            if value in labels:
                states.append(words.translate(labels[value]))
        lines = []
        for section in form.sections:
            lines += self._heading(section)
            for subsection in section.subsections:
                if subsection.title:
                    lines.append(self._title(words.text(subsection.title)))
                for block in subsection.blocks:
                    if isinstance(block, Item) and block.oid in self.kept:
                        lines.append(self._line(block, record, state, reads))
        return FormPage(
            words.text(form.title),
            record.form_repeat if is_log(form) else None,
            states,
            lines,
            [self._query(thread, form) for thread in reads.threads.get(state.id, [])],
            self._signatures(reads.signatures, SignatureScope.FORM, state.id),
        )

    def _heading(self, section: Section) -> list[ValueLine]:
        return [self._title(self.wording.text(section.title))] if section.title else []

    @staticmethod
    def _title(text: str) -> ValueLine:
        return ValueLine(text, None, None, None, "", heading=True)

    def _line(
        self, item: Item, record: FormRecord, state: FormState, reads: SubjectReads
    ) -> ValueLine:
        words = self.wording
        stored = record.values.get(item.oid)
        value = words.value(item, stored.text) if stored and stored.text is not None else None
        missing = words.missing(stored.missing_code) if stored and stored.missing_code else None
        changes = [
            ChangeLine(
                words.moment(change.at),
                change.by or words.translate(_("the system")),
                words.audited(item, change.old),
                words.audited(item, change.new),
                change.reason or "",
            )
            for change in reads.changes.get((state.id, item.oid), [])
        ]
        return ValueLine(
            words.text(item.label),
            value,
            shown_unit(item.units, words.translate) if value is not None and item.units else None,
            missing,
            self._sdv(reads, state.id, item.oid),
            changes,
        )

    def _sdv(self, reads: SubjectReads, instance_id: int, oid: str) -> str:
        words = self.wording
        mark = reads.marks.get((instance_id, oid))
        if mark is None:
            return ""
        if not mark.required:
            return words.translate(SDV_LABELS[SdvStatus.NOT_REQUIRED])
        if mark.verified_at is not None:
            by = mark.verified_by or words.translate(_("the system"))
            verified = words.translate(SDV_LABELS[SdvStatus.VERIFIED])
            return f"{verified} · {by} · {words.moment(mark.verified_at)}"
        return words.translate(
            SDV_LABELS[SdvStatus.CHANGED if mark.changed else SdvStatus.AWAITING]
        )

    def _query(self, thread: Thread, form: Form) -> QueryLine:
        """A query and its thread; its item named by its question (a personal-data item's
        too: the question is no personal data, and its value is never shown)."""
        words = self.wording
        item = next((i for i in form_items(form) if i.oid == thread.item_oid), None)
        about = words.text(item.label) if item else words.translate(_("the whole form"))
        return QueryLine(
            thread.number,
            about,
            words.translate(QUERY_LABELS[thread.state]),
            [
                MessageLine(
                    words.translate(STEP_LABELS[message.step]),
                    message.author or words.translate(_("the system")),
                    words.moment(message.at),
                    worded(
                        message.body,
                        message.wording,
                        message.author is None,
                        words.localizer,
                        words.language,
                        words.language,
                    ),
                )
                for message in thread.messages
            ],
        )

    def _signatures(
        self, signatures: Iterable[SignatureRecord], scope: SignatureScope, anchor: int | None
    ) -> list[SignatureLine]:
        words = self.wording
        return [
            SignatureLine(
                signature.signer_name,
                words.moment(signature.signed_at),
                signature.meaning,
                words.moment(signature.broken_at) if signature.broken_at else None,
            )
            for signature in signatures
            if signature.scope is scope and signature.anchor == anchor
        ]
