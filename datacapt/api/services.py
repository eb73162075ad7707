"""What the API reads and writes, as plain JSON-ready dicts: the same rows, rules and save as
the pages (never personal data: identifier items are left out of every answer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacapt.actor import Actor
from datacapt.ecrf.casebook import casebook, form_key, visit_key
from datacapt.ecrf.definition import Definition, Form, Item, ItemType, form_items
from datacapt.entry import services as entry
from datacapt.exports.options import Coded, ExportFormat, ExportOptions
from datacapt.models import (
    DataExport,
    FormInstance,
    FormStatus,
    Query,
    QueryState,
    Site,
    Study,
    Subject,
    VisitInstance,
)
from datacapt.reactions import Reactions


@dataclass(frozen=True)
class Page:
    """``limit`` rows from ``offset``, and how many there are in all."""

    limit: int
    offset: int

    def of(self, items: list[dict[str, Any]], total: int) -> dict[str, Any]:
        return {"items": items, "total": total, "limit": self.limit, "offset": self.offset}


def _site_filter(column: Any, site_ids: frozenset[int] | None) -> Any:
    return True if site_ids is None else column.in_(site_ids)


def sites(
    dbsession: Session, study: Study, site_ids: frozenset[int] | None, page: Page
) -> dict[str, Any]:
    where = (Site.study_id == study.id, _site_filter(Site.id, site_ids))
    total = dbsession.scalar(select(func.count()).select_from(Site).where(*where)) or 0
    rows = dbsession.scalars(
        select(Site).where(*where).order_by(Site.code).limit(page.limit).offset(page.offset)
    ).all()
    items = [
        {"code": s.code, "name": s.name, "country": s.country, "timezone": s.timezone} for s in rows
    ]
    return page.of(items, total)


def subjects(
    dbsession: Session, study: Study, site_ids: frozenset[int] | None, page: Page
) -> dict[str, Any]:
    where = (Subject.study_id == study.id, _site_filter(Subject.site_id, site_ids))
    total = dbsession.scalar(select(func.count()).select_from(Subject).where(*where)) or 0
    rows = dbsession.execute(
        select(Subject.label, Site.code, Subject.status, Subject.included_on)
        .join(Site, Site.id == Subject.site_id)
        .where(*where)
        .order_by(Subject.label)
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    items = [
        {"label": label, "site": code, "status": status.value, "included_on": _iso(included)}
        for label, code, status, included in rows
    ]
    return page.of(items, total)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def subject_casebook(
    dbsession: Session, subject: Subject, site: Site, definition: Definition | None
) -> dict[str, Any]:
    """The subject and the forms of each visit: their keys (the path of the form's data) and
    statuses."""
    visits: list[dict[str, Any]] = []
    if definition is not None:
        entered = dbsession.scalars(
            select(VisitInstance).where(VisitInstance.subject_id == subject.id)
        ).all()
        forms = dbsession.scalars(
            select(FormInstance).where(FormInstance.subject_id == subject.id)
        ).all()
        for row in casebook(definition, list(entered), list(forms)):
            cells = []
            for cell in row.cells:
                instances = cell.rows if cell.rows else [cell.instance]
                cells.extend(
                    {
                        "key": form_key(cell.form, instance.repeat if instance else 1),
                        "form": cell.form.name,
                        "status": instance.status.value if instance else "not_started",
                    }
                    for instance in instances
                    if instance is not None or not cell.rows
                )
            visits.append({"key": row.key, "visit": row.name, "repeat": row.repeat, "forms": cells})
    return {
        "label": subject.label,
        "site": site.code,
        "status": subject.status.value,
        "included_on": _iso(subject.included_on),
        "visits": visits,
    }


#: Items the API reads but never writes: calculations are the save's, files come by upload.
READ_ONLY = frozenset({ItemType.CALCULATED, ItemType.FILE})


def _shared(form: Form) -> dict[str, Item]:
    """The items an API call reads: every item but personal data."""
    return {item.name: item for item in form_items(form) if not item.identifier}


def _writable(form: Form) -> set[str]:
    return {name for name, item in _shared(form).items() if item.type not in READ_ONLY}


def form_data(dbsession: Session, form: Form, instance: FormInstance | None) -> dict[str, Any]:
    """A form's values as stored (ISO dates, choices as lists), its missing-data codes, its
    status and the version a write must name."""
    rows = entry.stored_values(dbsession, instance)
    values: dict[str, Any] = {}
    missing: dict[str, str] = {}
    for name, item in _shared(form).items():
        row = rows.get(item.oid)
        if row is None:
            continue
        if row.missing_code:
            missing[name] = row.missing_code
        elif row.value is not None:
            multiple = item.type is ItemType.MULTIPLE_CHOICE
            values[name] = row.value.split("|") if multiple else row.value
    return {
        "form": form.name,
        "status": instance.status.value if instance else "not_started",
        "version": instance.lock_version if instance else None,
        "values": values,
        "missing": missing,
    }


class UnknownItems(ValueError):
    """The body names items the form does not have, or that the API does not write
    (personal data, calculations, files)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


@dataclass(frozen=True)
class Write:
    """What a write asks for, as the body said it."""

    values: Mapping[str, str | list[str] | None]
    missing: Mapping[str, str]
    version: int | None
    complete: bool | None
    reason: str


def write_form(
    dbsession: Session,
    scope: entry.EntryScope,
    definition: Definition,
    asked: Write,
    *,
    today: date,
    missing_codes: set[str],
    actor: Actor,
    reactions: Reactions,
) -> entry.SaveResult:
    """The page's save with the body's values over what the form holds (items left out keep
    theirs). Raises what the save raises (refused, stale, closed) and UnknownItems."""
    writable = _writable(scope.form)
    unknown = sorted((set(asked.values) | set(asked.missing)) - writable)
    if unknown:
        raise UnknownItems(unknown)
    reads = entry.read_for_save(dbsession, scope, definition)
    instance = reads.instance
    given = {
        name: "|".join(value) if isinstance(value, list) else (value or "")
        for name, value in asked.values.items()
    }
    posted, missing = entry.over_stored(scope.form, reads.rows, given, asked.missing)
    complete = asked.complete
    if complete is None:
        complete = instance is not None and instance.status is FormStatus.COMPLETE
    request = entry.EntryRequest(
        posted=posted,
        missing=missing,
        complete=complete,
        reason=asked.reason,
        lock=asked.version,
        today=today,
    )
    entry.check_entry_allowed(dbsession, scope.subject, actor, reactions)
    plan = entry.plan_save(scope, definition, request, reads, missing_codes=missing_codes)
    return entry.apply_save(dbsession, plan, actor, reactions)


def export_state(row: DataExport, file_url: str | None) -> dict[str, Any]:
    """An export as the API shows it; ``file_url`` once its file can be taken."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": row.id,
        "format": row.options["format"],
        "state": row.state.value,
        "progress": row.progress,
        "size": row.size,
        "sha256": row.sha256,
        "created_at": iso(row.created_at),
        "finished_at": iso(row.finished_at),
        "expires_at": iso(row.expires_at),
        "file": file_url,
    }


def export_options(body: Mapping[str, Any]) -> ExportOptions:
    """The options a body asks for (the OpenAPI description bounds them); never personal
    data, which no key may take."""
    as_of = body.get("as_of")
    return ExportOptions(
        format=ExportFormat(body["format"]),
        sites=tuple(body.get("sites", ())),
        subjects=tuple(body.get("subjects", ())),
        forms=tuple(body.get("forms", ())),
        visits=tuple(body.get("visits", ())),
        statuses=tuple(FormStatus(status) for status in body.get("statuses", ())),
        coded=Coded(body.get("coded", Coded.CODES.value)),
        as_of=datetime.fromisoformat(as_of) if as_of else None,
        shift_dates=bool(body.get("shift_dates", False)),
    )


def queries(
    dbsession: Session,
    study: Study,
    site_ids: frozenset[int] | None,
    state: str | None,
    page: Page,
) -> dict[str, Any]:
    """The study's queries at the sites the key may see, newest number first, where each
    is: subject, visit, form and item (the OID; None: about the form, visit or subject)."""
    where = [Query.study_id == study.id, _site_filter(Query.site_id, site_ids)]
    if state is not None:
        where.append(Query.state == QueryState(state))
    total = dbsession.scalar(select(func.count()).select_from(Query).where(*where)) or 0
    rows = dbsession.execute(
        select(
            Query,
            Subject.label,
            Site.code,
            FormInstance.visit,
            FormInstance.visit_repeat,
            FormInstance.form,
            FormInstance.repeat,
        )
        .join(Subject, Subject.id == Query.subject_id)
        .join(Site, Site.id == Query.site_id)
        .outerjoin(FormInstance, FormInstance.id == Query.form_instance_id)
        .where(*where)
        .order_by(Query.number.desc())
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    items = [
        {
            "number": query.number,
            "state": query.state.value,
            "origin": query.origin.value,
            "subject": label,
            "site": code,
            "visit": visit_key(visit, visit_repeat) if visit else None,
            "form": f"{form}-{repeat}" if form and repeat > 1 else form,
            "item": query.item_oid,
            "raised_at": query.raised_at.isoformat(),
            "answered_at": query.answered_at.isoformat() if query.answered_at else None,
            "closed_at": query.closed_at.isoformat() if query.closed_at else None,
        }
        for query, label, code, visit, visit_repeat, form, repeat in rows
    ]
    return page.of(items, total)
