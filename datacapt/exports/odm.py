"""CDISC ODM 1.3.2: a study's clinical data in one XML file, with the metadata of the published
versions the data were saved under and the admin data they refer to, valid against the
official schema.

The document, in the schema's order:

- ``Study``: the design as :mod:`datacapt.design.interchange.odm_writer` writes it, with a
  ``MetaDataVersion`` (``MDV.<n>``) for each published version an exported form was last saved
  with, their measurement units merged into one ``BasicDefinitions``, and in each version the
  study's missing-data codes as the code list ``CL.DATACAPT.MISSING``.
- ``AdminData``: a ``User`` for every UserRef (``U.<id>``; ``U.SYSTEM`` for changes made by
  the system), a ``Location`` for every site referred to (``LOC.<code>``), a ``SignatureDef``
  for every signature meaning (``SD.<n>``).
- ``ClinicalData``, one per version: SubjectData (SubjectKey = the subject's label, SiteRef) →
  StudyEventData (StudyEventRepeatKey on repeating visits) → FormData (FormRepeatKey on the
  rows of log forms; an AuditRecord of the form's latest value change; the Signature covering
  the form now) → ItemGroupData → ItemData.

Values are the stored canonical text, which already is ODM's: ISO 8601 dates and date-times,
partial dates as ``2026`` or ``2026-01`` (ODM's partialDate), decimals with a point; times gain
their seconds. Coded items hold their codes (the labels are in the CodeLists), a multiple
choice its codes joined by ``|``. A missing-data code is an ItemData with ``IsNull="Yes"`` and
an Annotation whose Flag holds the code as a FlagValue of ``CL.DATACAPT.MISSING``: plain ODM
1.3.2, since the official schema takes no attribute from another namespace. Blank values and
personal-data items are left out, as in every format.

A Transactional file (:attr:`~datacapt.exports.options.ExportOptions.odm_transactional`) holds
instead each value change the audit trail recorded, in the order they happened: an ItemData
with its TransactionType (Insert, Update, Remove) and an AuditRecord (who, at which site, when,
the reason for the change, and the audit event as SourceID).

Streaming: the records are read as every format reads them; each version's ClinicalData is
written as they come, a form at a time, to a file of its own. The head, which must define every
user, site and meaning the data refer to, is written last, in front of them. CreationDateTime
is the export's snapshot time (the request's, which every rerun of that export keeps) and
AsOfDateTime the latest change the file holds, so a rerun gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Collection, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.design.interchange import odm_writer
from datacapt.design.interchange.odm import ODM_NS, XML_LANG
from datacapt.ecrf.definition import Item, Validation, from_json
from datacapt.exports import odm_audit
from datacapt.exports.cells import iso_timestamp
from datacapt.exports.source import Column, FormRecord, StudyData
from datacapt.models import Site, Study, StudyVersion, User
from datacapt.models.design import VersionState
from datacapt.studies.services import study_sites

MISSING_CODES = "CL.DATACAPT.MISSING"
SYSTEM_USER = "U.SYSTEM"
LEGAL_REASON = "Electronic signature under 21 CFR Part 11 (§11.50, §11.70)"
#: Forms whose signatures and audit trail are read together.
BATCH = 500
ITEM_DATA = f"{{{ODM_NS}}}ItemData"
#: What comes before a CodeList in a MetaDataVersion.
BEFORE_CODE_LISTS = frozenset(
    f"{{{ODM_NS}}}{name}"
    for name in ("Include", "Protocol", "StudyEventDef", "FormDef", "ItemGroupDef", "ItemDef")
)


#: The subject-level columns' study event, form, item group and items (``.1``, ``.2``...).
SUBJECT_EVENT = "SE.DATACAPT.SUBJECT"
SUBJECT_FORM = "F.DATACAPT.SUBJECT"
SUBJECT_GROUP = "IG.DATACAPT.SUBJECT"
SUBJECT_ITEM = "IT.DATACAPT.SUBJECT"
#: What comes before each kind of definition in a MetaDataVersion (ODM 1.3.2's order).
DEFINITION_ORDER = ("Include", "Protocol", "StudyEventDef", "FormDef", "ItemGroupDef", "ItemDef")


def _after(metadata: etree._Element, kind: str) -> int:
    """The position just after the last child of ``kind`` or of a kind that comes before."""
    before = {_tag(name) for name in DEFINITION_ORDER[: DEFINITION_ORDER.index(kind) + 1]}
    return max(
        (index + 1 for index, child in enumerate(metadata) if child.tag in before), default=0
    )


def _tag(name: str) -> str:
    return f"{{{ODM_NS}}}{name}"


def _element(
    parent: etree._Element | None, name: str, text: str | None = None, **attributes: object
) -> etree._Element:
    """An ODM element with the attributes that have a value."""
    values = {key: str(value) for key, value in attributes.items() if value is not None}
    if parent is None:
        element = etree.Element(_tag(name), values, nsmap={None: ODM_NS})
    else:
        element = etree.SubElement(parent, _tag(name), values)
    element.text = text
    return element


def odm_value(item: Item, text: str) -> str:
    """A stored value as ODM writes it: the canonical text, times with their seconds."""
    if item.validation is Validation.TIME and len(text) == len("14:30"):
        return f"{text}:00"
    return text


# --- the design, version by version ---------------------------------------------------------


@dataclass(frozen=True)
class FormLayout:
    oid: str
    repeating: bool
    #: ItemGroupOID → its ItemOIDs, in the form's order.
    groups: dict[str, list[str]]
    items: frozenset[str] = frozenset()
    #: The groups that repeat: a log form's row holds one of each (ItemGroupRepeatKey 1).
    repeating_groups: frozenset[str] = frozenset()

    def group_of(self, item_oid: str) -> str | None:
        return next((oid for oid, items in self.groups.items() if item_oid in items), None)


@dataclass
class Version:
    """A published version: its Study element as the design's ODM writer wrote it, and the
    OIDs its data are written with, read back from that element."""

    number: int
    effective: date
    study: etree._Element
    events: dict[str, tuple[str, bool]] = field(default_factory=dict)  # visit → OID, repeating
    forms: dict[str, FormLayout] = field(default_factory=dict)

    @property
    def oid(self) -> str:
        return f"MDV.{self.number}"


def study_oid(study: Study) -> str:
    """The Study OID, as the design's ODM export names it."""
    return f"ST.{study.code.upper()}"


def published_versions(dbsession: Session, study: Study) -> dict[int, Version]:
    rows = dbsession.execute(
        select(
            StudyVersion.number,
            StudyVersion.definition,
            StudyVersion.published_at,
            StudyVersion.created_at,
        )
        .where(StudyVersion.study_id == study.id, StudyVersion.state == VersionState.PUBLISHED)
        .order_by(StudyVersion.number)
    ).all()
    found = {}
    for number, document, published_at, created_at in rows:
        content = odm_writer.write_metadata(
            from_json(document),
            study_oid=study_oid(study),
            study_name=study.title,
            version_oid=f"MDV.{number}",
            version_name=f"Version {number}",
        )
        element = etree.fromstring(content).find(_tag("Study"))
        version = Version(number, (published_at or created_at).date(), element)
        _read_layout(version)
        found[number] = version
    return found


def _read_layout(version: Version) -> None:
    """The OIDs of the version's visits, forms and groups. A log form (a repeating group) is
    filled a row at a time, each row a form instance with its own status, lock and signature:
    its FormDef says Repeating="Yes", each row is a FormData with its FormRepeatKey, and the
    repeating group in it has ItemGroupRepeatKey 1."""
    metadata = version.study.find(_tag("MetaDataVersion"))
    groups = {
        group.get("OID"): [ref.get("ItemOID") for ref in group.iterfind(_tag("ItemRef"))]
        for group in metadata.iterfind(_tag("ItemGroupDef"))
    }
    for event in metadata.iterfind(_tag("StudyEventDef")):
        version.events[event.get("Name")] = (event.get("OID"), event.get("Repeating") == "Yes")
    repeating = {
        group.get("OID")
        for group in metadata.iterfind(_tag("ItemGroupDef"))
        if group.get("Repeating") == "Yes"
    }
    for form in metadata.iterfind(_tag("FormDef")):
        refs = [ref.get("ItemGroupOID") for ref in form.iterfind(_tag("ItemGroupRef"))]
        if repeating.intersection(refs):
            form.set("Repeating", "Yes")  # a log form: its rows are forms of their own
        version.forms[form.get("Name")] = FormLayout(
            form.get("OID"),
            form.get("Repeating") == "Yes",
            {oid: groups[oid] for oid in refs},
            frozenset(oid for group in refs for oid in groups[group]),
            frozenset(repeating.intersection(refs)),
        )


# --- what the data refer to -----------------------------------------------------------------


class References:
    """The users, sites and signature meanings the clinical data refer to, by OID, the missing
    codes they use and the latest moment they hold: what the head must define."""

    def __init__(self, dbsession: Session, sites: dict[str, Site]) -> None:
        self.dbsession = dbsession
        self.sites = sites
        self.users: dict[str | None, tuple[str, User | None]] = {}
        self.locations: set[str] = set()
        self.meanings: dict[str, str] = {}
        self.missing: set[str] = set()
        self.latest: datetime | None = None

    def user(self, email: str | None) -> str:
        if email not in self.users:
            account = None
            if email is not None:
                account = self.dbsession.scalar(select(User).where(User.email == email))
            self.users[email] = (SYSTEM_USER if account is None else f"U.{account.id}", account)
        return self.users[email][0]

    def location(self, code: str) -> str:
        self.locations.add(code)
        return f"LOC.{code}"

    def signature(self, meaning: str) -> str:
        return self.meanings.setdefault(meaning, f"SD.{len(self.meanings) + 1}")

    def moment(self, moment: datetime) -> str:
        self.latest = moment if self.latest is None else max(self.latest, moment)
        return iso_timestamp(moment)


# --- the clinical data ----------------------------------------------------------------------


class ClinicalData:
    """One version's ClinicalData, written to a file of its own as the records come; the
    subject and the visit being written stay open until a record of another one comes."""

    def __init__(self, stack: ExitStack, path: Path, writer: OdmWriter, version: Version) -> None:
        self.path, self.writer, self.version = path, writer, version
        self.upsert = "Upsert" if writer.transactional else None
        handle = stack.enter_context(path.open("wb"))
        self.xf = stack.enter_context(etree.xmlfile(handle, encoding="utf-8"))
        self.levels: list[Any] = []
        self.keys: list[object] = []
        self._enter(
            None,
            "ClinicalData",
            {None: ODM_NS},
            StudyOID=writer.study_oid,
            MetaDataVersionOID=version.oid,
        )

    def _enter(self, key: object, name: str, nsmap: Any = None, **attributes: object) -> None:
        values = {k: str(v) for k, v in attributes.items() if v is not None}
        level = self.xf.element(_tag(name), values, nsmap=nsmap)
        level.__enter__()
        self.levels.append(level)
        self.keys.append(key)

    def _close(self, depth: int) -> None:
        while len(self.levels) > depth:
            self.levels.pop().__exit__(None, None, None)
            self.keys.pop()

    def finish(self) -> None:
        self._close(0)

    def write(
        self,
        record: FormRecord,
        signed: odm_audit.Signed | None,
        changes: list[odm_audit.Change] | None,
    ) -> int:
        """The record's FormData (inside its subject and visit); the ItemData written."""
        refs = self.writer.refs
        if self.keys[1:2] != [record.subject]:
            self._close(1)
            self._enter(
                record.subject,
                "SubjectData",
                SubjectKey=record.subject,
                TransactionType=self.upsert,
            )
            self.xf.write(_element(None, "SiteRef", LocationOID=refs.location(record.site)))
        visit = (record.visit, record.visit_repeat)
        if self.keys[2:3] != [visit]:
            self._close(2)
            event_oid, repeating = self.writer.event(self.version, record.visit)
            self._enter(
                visit,
                "StudyEventData",
                StudyEventOID=event_oid,
                StudyEventRepeatKey=record.visit_repeat if repeating else None,
                TransactionType=self.upsert,
            )
        layout = self.writer.layout(self.version, record.form)
        form = _element(
            None,
            "FormData",
            FormOID=layout.oid,
            FormRepeatKey=record.form_repeat if layout.repeating else None,
            TransactionType=self.upsert,
        )
        columns = self.writer.columns[record.form]
        if changes is None:
            self._last_change(form, record, columns)
        self._signature(form, signed)
        if changes is None:
            count = self._values(form, record, layout, columns)
        else:
            count = self._changes(form, record, layout, columns, changes)
        self.xf.write(form)
        return count

    def _last_change(
        self, form: etree._Element, record: FormRecord, columns: dict[str, Column]
    ) -> None:
        """A snapshot's FormData: who changed its values last, and when."""
        changed = [
            stored
            for oid, stored in record.values.items()
            if oid in columns and stored.updated_at is not None
        ]
        if not changed:
            return
        last = max(changed, key=lambda stored: stored.updated_at or datetime.min)
        assert last.updated_at is not None
        self._audit_record(form, last.updated_by, record.site, last.updated_at)

    def _audit_record(
        self,
        parent: etree._Element,
        user: str | None,
        site: str,
        moment: datetime,
        reason: str | None = None,
        source: str | None = None,
    ) -> None:
        refs = self.writer.refs
        audit_record = _element(parent, "AuditRecord")
        _element(audit_record, "UserRef", UserOID=refs.user(user))
        _element(audit_record, "LocationRef", LocationOID=refs.location(site))
        _element(audit_record, "DateTimeStamp", refs.moment(moment))
        if reason:
            _element(audit_record, "ReasonForChange", reason)
        if source is not None:
            _element(audit_record, "SourceID", source)

    def _signature(self, form: etree._Element, signed: odm_audit.Signed | None) -> None:
        if signed is None:
            return
        refs = self.writer.refs
        signature = _element(form, "Signature")
        _element(signature, "UserRef", UserOID=refs.user(signed.signer))
        _element(signature, "LocationRef", LocationOID=refs.location(signed.site))
        _element(signature, "SignatureRef", SignatureOID=refs.signature(signed.meaning))
        _element(signature, "DateTimeStamp", refs.moment(signed.signed_at))

    def _group_keys(self, layout: FormLayout, group_oid: str) -> dict[str, str | None]:
        return {
            "ItemGroupOID": group_oid,
            "ItemGroupRepeatKey": "1" if group_oid in layout.repeating_groups else None,
            "TransactionType": self.upsert,
        }

    def _values(
        self,
        form: etree._Element,
        record: FormRecord,
        layout: FormLayout,
        columns: dict[str, Column],
    ) -> int:
        """A snapshot's ItemData: the values now, group by group in the form's order (the
        writer's hot loop: elements made directly)."""
        count = 0
        for group_oid, item_oids in self.writer.placed(layout, record.form, record.values):
            group = None
            for item_oid in item_oids:
                stored = record.values[item_oid]
                column = columns.get(item_oid)
                if column is None or (stored.text is None and stored.missing_code is None):
                    continue
                if group is None:
                    group = _element(form, "ItemGroupData", **self._group_keys(layout, group_oid))
                if stored.missing_code is not None:
                    item_data = etree.SubElement(
                        group, ITEM_DATA, {"ItemOID": item_oid, "IsNull": "Yes"}
                    )
                    self._missing(item_data, stored.missing_code)
                else:
                    assert stored.text is not None
                    value = odm_value(column.item, stored.text)
                    etree.SubElement(group, ITEM_DATA, {"ItemOID": item_oid, "Value": value})
                count += 1
        return count

    def _missing(self, item_data: etree._Element, code: str) -> None:
        """A missing-data code: ODM's Flag, its value a code of ``CL.DATACAPT.MISSING``."""
        self.writer.refs.missing.add(code)
        flag = _element(_element(item_data, "Annotation", SeqNum=1), "Flag")
        _element(flag, "FlagValue", code, CodeListOID=MISSING_CODES)

    def _changes(
        self,
        form: etree._Element,
        record: FormRecord,
        layout: FormLayout,
        columns: dict[str, Column],
        changes: list[odm_audit.Change],
    ) -> int:
        """A Transactional file's ItemData: every change, group by group, in time order."""
        exported = [change for change in changes if change.item_oid in columns]
        count = 0
        placed = self.writer.placed(layout, record.form, {c.item_oid for c in exported})
        for group_oid, item_oids in placed:
            group = _element(form, "ItemGroupData", **self._group_keys(layout, group_oid))
            for change in exported:
                if change.item_oid in item_oids:
                    self._change(group, columns[change.item_oid].item, record, change)
                    count += 1
        return count

    def _change(
        self, group: etree._Element, item: Item, record: FormRecord, change: odm_audit.Change
    ) -> None:
        if change.old is None:
            transaction = "Insert"
        elif change.new is None:
            transaction = "Remove"
        else:
            transaction = "Update"
        code = odm_audit.missing_code(change.new)
        value = None if change.new is None or code is not None else odm_value(item, change.new)
        item_data = _element(
            group,
            "ItemData",
            ItemOID=item.oid,
            TransactionType=transaction,
            Value=value,
            IsNull="Yes" if code is not None else None,
        )
        self._audit_record(
            item_data,
            change.actor,
            change.site or record.site,
            change.occurred_at,
            change.reason,
            f"audit-event-{change.event_id}",
        )
        if code is not None:
            self._missing(item_data, code)


# --- the document ---------------------------------------------------------------------------


def batches(records: Iterable[FormRecord]) -> Iterator[list[FormRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, BATCH)):
        yield batch


class OdmWriter:
    """One export: the versions' metadata, what the data refer to, and the parts written."""

    def __init__(self, data: StudyData) -> None:
        self.data = data
        self.study = data.study
        self.transactional = data.options.odm_transactional
        self.study_oid = study_oid(data.study)
        self.versions = published_versions(data.dbsession, data.study)
        self.columns = {
            form: {column.item.oid: column for column in columns}
            for form, columns in data.catalogue.forms.items()
        }
        sites = {site.code: site for site in study_sites(data.dbsession, data.study)}
        self.refs = References(data.dbsession, sites)

    # the OIDs of a record: its version's, else the latest version's that has the visit or form

    def event(self, version: Version, visit: str) -> tuple[str, bool]:
        for candidate in (version, *reversed(self.versions.values())):
            if visit in candidate.events:
                return candidate.events[visit]
        return visit, True

    def layout(self, version: Version, form: str) -> FormLayout:
        for candidate in (version, *reversed(self.versions.values())):
            if form in candidate.forms:
                return candidate.forms[form]
        return FormLayout(form, True, {})

    def placed(
        self, layout: FormLayout, form: str, item_oids: Collection[str]
    ) -> list[tuple[str, list[str]]]:
        """``item_oids`` by ItemGroupOID, the groups in the form's order: each item in its
        group of ``layout``, or else of the latest version whose form has it."""
        placed = {
            group: [oid for oid in items if oid in item_oids]
            for group, items in layout.groups.items()
        }
        for oid in item_oids:
            if oid not in layout.items and (group := self.group_elsewhere(form, oid)) is not None:
                placed.setdefault(group, []).append(oid)
        return [(group, oids) for group, oids in placed.items() if oids]

    def group_elsewhere(self, form: str, item_oid: str) -> str | None:
        for version in reversed(self.versions.values()):
            layout = version.forms.get(form)
            group = layout.group_of(item_oid) if layout else None
            if group is not None:
                return group
        return None

    def write(self, target: Path) -> int:
        """Stream the clinical data, then put the head in front of it; the ItemData written."""
        count = 0
        parts: dict[int, ClinicalData] = {}
        with tempfile.TemporaryDirectory(prefix="datacapt-odm-") as scratch:
            with ExitStack() as stack:
                for batch in batches(self.data.records()):
                    count += self.write_batch(batch, parts, stack, Path(scratch))
                for part in parts.values():
                    part.finish()
            written = [parts[number] for number in sorted(parts)]
            used = [part.version for part in written]
            if not used and self.versions:
                used = [self.latest()]
            paths = [part.path for part in written]
            if self.data.subject_columns and used:
                paths.append(self.subject_data(Path(scratch) / "subjects.xml", used[-1]))
            self.assemble(target, used, paths)
        return count

    # subject-level columns other capabilities contribute (a randomisation's number, arm...)

    def subject_item_oid(self, position: int) -> str:
        return f"{SUBJECT_ITEM}.{position + 1}"

    def subject_data(self, path: Path, version: Version) -> Path:
        """A ClinicalData of ``version`` holding each subject's contributed columns as the
        ItemGroup ``IG.DATACAPT.SUBJECT`` of a form and study event of their own, defined in
        that version's metadata by :meth:`add_subject_definitions`."""
        table = self.data.subject_columns
        self.subject_version = version
        clinical = _element(
            None, "ClinicalData", StudyOID=self.study_oid, MetaDataVersionOID=version.oid
        )
        for label, (site, cells) in sorted(table.rows.items()):
            subject = _element(clinical, "SubjectData", SubjectKey=label)
            _element(subject, "SiteRef", LocationOID=self.refs.location(site))
            event = _element(subject, "StudyEventData", StudyEventOID=SUBJECT_EVENT)
            form = _element(event, "FormData", FormOID=SUBJECT_FORM)
            group = _element(form, "ItemGroupData", ItemGroupOID=SUBJECT_GROUP)
            for position, cell in enumerate(cells):
                if cell is not None and cell != "":
                    _element(group, "ItemData", ItemOID=self.subject_item_oid(position), Value=cell)
        path.write_bytes(etree.tostring(clinical, encoding="utf-8"))
        return path

    def add_subject_definitions(self, metadata: etree._Element) -> None:
        """The study event, form, item group and items of the subject-level columns, each
        after the last definition of its kind (the schema's order), referred to by the
        Protocol."""
        table = self.data.subject_columns
        name = "Subject-level data"
        event = _element(None, "StudyEventDef", OID=SUBJECT_EVENT, Name=name)
        event.set("Repeating", "No")
        event.set("Type", "Common")
        _element(event, "FormRef", FormOID=SUBJECT_FORM, Mandatory="No")
        form = _element(None, "FormDef", OID=SUBJECT_FORM, Name=name, Repeating="No")
        _element(form, "ItemGroupRef", ItemGroupOID=SUBJECT_GROUP, Mandatory="No")
        group = _element(None, "ItemGroupDef", OID=SUBJECT_GROUP, Name=name, Repeating="No")
        items = []
        for position, (column, description) in enumerate(
            zip(table.names, table.descriptions, strict=True)
        ):
            oid = self.subject_item_oid(position)
            _element(group, "ItemRef", ItemOID=oid, Mandatory="No")
            item = _element(None, "ItemDef", OID=oid, Name=column, DataType="text")
            text = _element(item, "Description")
            _element(text, "TranslatedText", description, **{XML_LANG: "en"})
            items.append(item)
        for kind, elements in (
            ("StudyEventDef", [event]),
            ("FormDef", [form]),
            ("ItemGroupDef", [group]),
            ("ItemDef", items),
        ):
            position = _after(metadata, kind)
            for offset, element in enumerate(elements):
                metadata.insert(position + offset, element)
        protocol = metadata.find(_tag("Protocol"))
        if protocol is None:
            protocol = _element(None, "Protocol")
            metadata.insert(_after(metadata, "Include"), protocol)
        refs = protocol.findall(_tag("StudyEventRef"))
        ref = _element(
            None,
            "StudyEventRef",
            StudyEventOID=SUBJECT_EVENT,
            OrderNumber=len(refs) + 1,
            Mandatory="No",
        )
        last = max(
            (
                index + 1
                for index, child in enumerate(protocol)
                if child.tag in {_tag("Description"), _tag("StudyEventRef")}
            ),
            default=0,
        )
        protocol.insert(last, ref)

    def write_batch(
        self,
        batch: list[FormRecord],
        parts: dict[int, ClinicalData],
        stack: ExitStack,
        folder: Path,
    ) -> int:
        dbsession = self.data.dbsession
        ids = [record.instance_id for record in batch]
        signed = odm_audit.signatures(dbsession, ids)
        changes = odm_audit.value_changes(dbsession, ids) if self.transactional else None
        count = 0
        for record in batch:
            version = self.versions.get(record.version) or self.latest()
            part = parts.get(version.number)
            if part is None:
                path = folder / f"{version.oid}.xml"
                part = parts[version.number] = ClinicalData(stack, path, self, version)
            history = None if changes is None else changes.get(record.instance_id, [])
            count += part.write(record, signed.get(record.instance_id), history)
        return count

    def latest(self) -> Version:
        return self.versions[max(self.versions)]

    def assemble(self, target: Path, used: list[Version], parts: list[Path]) -> None:
        """The head, then each version's ClinicalData as written."""
        with target.open("wb") as handle, etree.xmlfile(handle, encoding="utf-8") as xf:
            xf.write_declaration()
            with xf.element(_tag("ODM"), self.root_attributes(), nsmap={None: ODM_NS}):
                xf.write(self.study_element(used))
                xf.write(self.admin_data(used))
                xf.flush()
                for part in parts:
                    with part.open("rb") as source:
                        shutil.copyfileobj(source, handle)

    def root_attributes(self) -> dict[str, str]:
        """Created at the export's snapshot time (so a rerun gives the same bytes), as of the
        latest change the file holds; its OID names both and the options, so that only the
        same export of the same data has the same OID."""
        moment = self.refs.latest or self.study.created_at
        created = self.data.options.stamp or moment
        described = json.dumps(self.data.options.describe(), sort_keys=True).encode()
        kind = "Transactional" if self.transactional else "Snapshot"
        digest = hashlib.sha256(described).hexdigest()[:12]
        stamp = f"{created:%Y%m%dT%H%M%SZ}.{moment:%Y%m%dT%H%M%SZ}.{digest}"
        return {
            "Description": self.study.title,
            "FileType": kind,
            "FileOID": f"{self.study_oid}.{kind}.{stamp}",
            "CreationDateTime": iso_timestamp(created),
            "AsOfDateTime": iso_timestamp(moment),
            "ODMVersion": "1.3.2",
            "SourceSystem": "Datacapt",
        }

    def study_element(self, used: list[Version]) -> etree._Element:
        """One Study: the first version's global variables, every version's units under one
        OID each, and the versions' MetaDataVersions with the missing-data codes."""
        study = _element(None, "Study", OID=self.study_oid)
        if not used:
            variables = _element(study, "GlobalVariables")
            for name in ("StudyName", "StudyDescription", "ProtocolName"):
                _element(variables, name, self.study.title)
            return study
        study.append(used[0].study.find(_tag("GlobalVariables")))
        basic = _element(study, "BasicDefinitions")
        units: dict[str, str] = {}  # symbol → OID
        for version in used:
            renamed = {}
            for unit in version.study.iterfind(
                f"{_tag('BasicDefinitions')}/{_tag('MeasurementUnit')}"
            ):
                symbol, oid = unit.get("Name"), unit.get("OID")
                if symbol not in units:
                    units[symbol] = f"MU.{len(units) + 1}"
                    unit.set("OID", units[symbol])
                    basic.append(unit)
                renamed[oid] = units[symbol]
            metadata = version.study.find(_tag("MetaDataVersion"))
            for ref in metadata.iter(_tag("MeasurementUnitRef")):
                ref.set("MeasurementUnitOID", renamed[ref.get("MeasurementUnitOID")])
            self.add_missing_codes(metadata)
            if version is getattr(self, "subject_version", None):
                self.add_subject_definitions(metadata)
            study.append(metadata)
        if not len(basic):
            study.remove(basic)
        return study

    def missing_codes(self) -> list[tuple[str, str]]:
        """The study's missing-data codes, then any the data use that it no longer offers."""
        codes = [(code, label) for code, label in self.study.missing_codes]
        offered = {code for code, _label in codes}
        return codes + [(code, code) for code in sorted(self.refs.missing - offered)]

    def add_missing_codes(self, metadata: etree._Element) -> None:
        codes = self.missing_codes()
        if not codes:
            return
        code_list = _element(
            None, "CodeList", OID=MISSING_CODES, Name="Missing-data codes", DataType="text"
        )
        for code, label in codes:
            entry = _element(code_list, "CodeListItem", CodedValue=code)
            _element(_element(entry, "Decode"), "TranslatedText", label, **{XML_LANG: "en"})
        position = max(
            (index + 1 for index, child in enumerate(metadata) if child.tag in BEFORE_CODE_LISTS),
            default=0,
        )
        metadata.insert(position, code_list)

    def admin_data(self, used: list[Version]) -> etree._Element:
        """A definition for every user, site and signature meaning the data refer to."""
        refs = self.refs
        admin = _element(None, "AdminData", StudyOID=self.study_oid)
        accounts = dict(refs.users.values())  # e-mails unknown share the system's OID
        for oid, account in sorted(accounts.items()):
            user = _element(admin, "User", OID=oid)
            if account is None:
                _element(user, "LoginName", "system")
                _element(user, "FullName", "Datacapt")
            else:
                _element(user, "LoginName", account.email)
                _element(user, "FullName", account.name)
        for code in sorted(refs.locations):
            site = refs.sites.get(code)
            location = _element(
                admin,
                "Location",
                OID=f"LOC.{code}",
                Name=site.name if site is not None else code,
                LocationType="Site",
            )
            for version in used:
                _element(
                    location,
                    "MetaDataVersionRef",
                    StudyOID=self.study_oid,
                    MetaDataVersionOID=version.oid,
                    EffectiveDate=version.effective.isoformat(),
                )
        for meaning, oid in refs.meanings.items():
            definition = _element(admin, "SignatureDef", OID=oid, Methodology="Electronic")
            _element(definition, "Meaning", meaning)
            _element(definition, "LegalReason", LEGAL_REASON)
        return admin


def write(target: Path, data: StudyData) -> int:
    """Write the ODM file to ``target``; the number of ItemData written."""
    return OdmWriter(data).write(target)
