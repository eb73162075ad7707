"""Queries and rules for subjects: enrolment, status changes, and the lists."""

from __future__ import annotations

import re
import string
from datetime import date
from typing import Any

from sqlalchemy import Integer, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.db import rows_connection
from datacapt.ecrf.casebook import UNSCHEDULED
from datacapt.ecrf.definition import Definition
from datacapt.i18n import _
from datacapt.models import FormInstance, Site, Study, Subject, SubjectStatus, VisitInstance
from datacapt.pagination import Page, paginate
from datacapt.reactions import publish
from datacapt.studies.services import LABEL_PATTERN
from datacapt.subjects.events import SubjectStatusChanged
from datacapt.validation import ValidationError

SUBJECTS_PER_PAGE = 50

STATUS_LABELS = {
    SubjectStatus.SCREENING: _("Screening"),
    SubjectStatus.INCLUDED: _("Included"),
    SubjectStatus.SCREEN_FAILURE: _("Screen failure"),
    SubjectStatus.COMPLETED: _("Completed"),
    SubjectStatus.WITHDRAWN: _("Withdrawn"),
}
#: Which status may follow which; the ends need a reason and a date.
TRANSITIONS = {
    SubjectStatus.SCREENING: (
        SubjectStatus.INCLUDED,
        SubjectStatus.SCREEN_FAILURE,
        SubjectStatus.WITHDRAWN,
    ),
    SubjectStatus.INCLUDED: (SubjectStatus.COMPLETED, SubjectStatus.WITHDRAWN),
    SubjectStatus.SCREEN_FAILURE: (),
    SubjectStatus.COMPLETED: (),
    SubjectStatus.WITHDRAWN: (),
}
NEEDS_REASON = {SubjectStatus.SCREEN_FAILURE, SubjectStatus.WITHDRAWN}


def site_label_pattern(pattern: str, site_code: str) -> re.Pattern[str]:
    """The IDs the study's ``pattern`` makes at one site: its text and site code as they are,
    ``{seq}`` any number written with at least the digits its format pads to."""
    parts = []
    for text, name, spec, _conversion in string.Formatter().parse(pattern):
        parts.append(re.escape(text))
        if name == "site":
            parts.append(re.escape(site_code))
        elif name == "seq":
            width = re.fullmatch(r"0?(\d+)d?", spec or "")
            parts.append(f"[0-9]{{{width.group(1) if width else 1},}}")
    return re.compile("".join(parts))


def next_label(dbsession: Session, study: Study, site: Site) -> str:
    """The next generated ID at ``site``; the site row is locked so two enrolments at the same
    moment never get the same number."""
    locked = dbsession.scalars(select(Site).where(Site.id == site.id).with_for_update()).one()
    while True:
        label = study.subject_id_pattern.format(site=locked.code, seq=locked.next_subject_number)
        locked.next_subject_number += 1
        taken = dbsession.scalar(
            select(Subject.id).where(Subject.study_id == study.id, Subject.label == label)
        )
        if taken is None:
            return label


def enrol(
    dbsession: Session,
    study: Study,
    site: Site,
    label: str | None,
    *,
    actor: Actor,
) -> Subject:
    """A new subject at ``site``: with the given ID, or one made from the study's pattern."""
    if label:
        label = label.strip()
        if not LABEL_PATTERN.match(label):
            raise ValidationError(
                "label",
                _("Use 1 to 40 letters, digits, '-', '_' or '.', starting with a letter or digit."),
            )
        if not site_label_pattern(study.subject_id_pattern, site.code).fullmatch(label):
            # The same answer whether or not another site holds this ID: it tells nothing.
            raise ValidationError(
                "label",
                _(
                    "Subject IDs at ${site} follow the study's pattern, like ${example}.",
                    mapping={
                        "site": site.code,
                        "example": study.subject_id_pattern.format(site=site.code, seq=1),
                    },
                ),
            )
        taken = dbsession.scalar(
            select(Subject.id).where(Subject.study_id == study.id, Subject.label == label)
        )
        if taken is not None:
            raise ValidationError("label", _("This subject ID is already used in this study."))
    else:
        label = next_label(dbsession, study, site)
    subject = Subject(
        tenant_id=study.tenant_id,
        study_id=study.id,
        site_id=site.id,
        label=label,
        status=SubjectStatus.SCREENING,
        created_by_id=actor.user_id,
    )
    dbsession.add(subject)
    dbsession.flush()
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="subject.enrolled",
        entity_type="subject",
        entity_id=subject.id,
        new={"label": label, "status": subject.status.value},
    )
    return subject


def change_status(
    dbsession: Session,
    subject: Subject,
    status: SubjectStatus,
    *,
    reason: str,
    on: date | None,
    today: date,
    actor: Actor,
) -> None:
    """Move ``subject`` along its life: screening → included / screen failure → completed /
    withdrawn; ends need a reason and a date, not after ``today`` (the date where the user is)."""
    if status not in TRANSITIONS[subject.status]:
        raise ValidationError("status", _("This status cannot follow the current one."))
    if status in NEEDS_REASON and not reason:
        raise ValidationError("reason", _("Give the reason."))
    if status in NEEDS_REASON and on is None:
        raise ValidationError("date", _("Give the date."))
    if on is not None and on > today:
        raise ValidationError("date", _("The date cannot be in the future."))
    old = subject.status
    subject.status, subject.status_reason, subject.status_date = status, reason or None, on
    if status is SubjectStatus.INCLUDED:
        subject.included_on = on or today  # day 0 of the visit schedule
    changed = audit.record_subject(
        dbsession,
        actor,
        subject,
        action="subject.status_changed",
        entity_type="subject",
        entity_id=subject.id,
        field="status",
        old=old.value,
        new=status.value,
        reason=reason or None,
    )
    if status is SubjectStatus.INCLUDED:
        audit.record_subject(
            dbsession,
            actor,
            subject,
            action="subject.included",
            entity_type="subject",
            entity_id=subject.id,
            field="included_on",
            new=subject.included_on.isoformat(),
        )
    publish(SubjectStatusChanged(dbsession, actor, subject, old, changed.id))


def subjects_page(
    dbsession: Session,
    study: Study,
    site_ids: frozenset[int] | None,
    number: int,
    size: int,
    *,
    search: str = "",
    site_id: int | None = None,
    status: SubjectStatus | None = None,
) -> Page[Any]:
    """One page of the study's subjects at the given sites (None: all), with their site."""
    statement = (
        select(Subject, Site)
        .join(Site, (Site.id == Subject.site_id) & (Site.study_id == Subject.study_id))
        .where(Subject.study_id == study.id)
        .order_by(Subject.label)
    )
    if site_ids is not None:
        statement = statement.where(Subject.site_id.in_(site_ids))
    if site_id is not None:
        statement = statement.where(Subject.site_id == site_id)
    if status is not None:
        statement = statement.where(Subject.status == status)
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Subject.label.ilike(f"%{escaped}%", escape="\\"))
    return paginate(dbsession, statement, number, size, key=Subject.label)


def new_visit_instance(
    dbsession: Session, subject: Subject, visit: str, repeat: int, actor: Actor
) -> VisitInstance:
    """A visit of ``subject`` entered for the first time (scheduled, repeated or unscheduled)."""
    instance = VisitInstance(
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        subject_id=subject.id,
        visit=visit,
        repeat=repeat,
        created_by_id=actor.user_id,
    )
    dbsession.add(instance)
    dbsession.flush()
    return instance


def entered_visit_instance(
    dbsession: Session, subject: Subject, visit: str, repeat: int, actor: Actor
) -> VisitInstance:
    """A visit a save enters for the first time, or the one another transaction inserted since
    this one read (``ON CONFLICT DO NOTHING``): two first saves in a visit never started meet at
    their forms, not at a unique violation of the visit. One statement, as
    :func:`new_visit_instance`; the one that meets another's reads it."""
    dialect = postgresql if dbsession.get_bind().dialect.name == "postgresql" else sqlite
    inserted = dbsession.scalars(
        dialect.insert(VisitInstance)
        .values(
            tenant_id=subject.tenant_id,
            study_id=subject.study_id,
            subject_id=subject.id,
            visit=visit,
            repeat=repeat,
            created_by_id=actor.user_id,
        )
        .on_conflict_do_nothing(index_elements=["subject_id", "visit", "repeat"])
        .returning(VisitInstance)
    ).one_or_none()
    if inserted is not None:
        return inserted
    return dbsession.scalars(
        select(VisitInstance).where(
            VisitInstance.subject_id == subject.id,
            VisitInstance.visit == visit,
            VisitInstance.repeat == repeat,
        )
    ).one()


class VisitNotAddable(LookupError):
    """The published schedule has no repeating visit of that name, nor allows unscheduled ones."""


def add_visit(
    dbsession: Session,
    subject: Subject,
    definition: Definition | None,
    name: str,
    actor: Actor,
) -> VisitInstance:
    """An unscheduled visit, or another occurrence of a repeating visit, audited."""
    allowed = {v.name for v in definition.schedule.visits if v.repeating} if definition else set()
    if definition and definition.schedule.unscheduled_allowed:
        allowed.add(UNSCHEDULED)
    if name not in allowed:
        raise VisitNotAddable(name)
    last = dbsession.scalar(
        select(func.max(VisitInstance.repeat)).where(
            VisitInstance.subject_id == subject.id, VisitInstance.visit == name
        )
    ) or (0 if name == UNSCHEDULED else 1)
    instance = new_visit_instance(dbsession, subject, name, last + 1, actor)
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="entry.visit_added",
        entity_type="visit_instance",
        entity_id=instance.id,
        new={"visit": name, "repeat": instance.repeat},
    )
    return instance


#: Built once: SQLAlchemy neither rebuilds the statement nor computes its cache key per page.
#: PostgreSQL gets the ids as one array (``= ANY``): the text stays the same whatever their
#: number, so neither SQLAlchemy (an expanding IN renders one parameter per id each time) nor
#: psycopg (which does not cache a statement of more than 50 parameters) converts it again.
#: The study is named too: the forms are indexed by study, then subject (without it,
#: PostgreSQL read every form of every study, 10 ms a page at 74,000 forms).
_UNANSWERED = FormInstance.open_queries - FormInstance.answered_queries
_OPEN_QUERIES = (
    select(FormInstance.subject_id, func.sum(_UNANSWERED))
    .where(FormInstance.study_id == bindparam("study_id"))
    .group_by(FormInstance.subject_id)
)
_OPEN_QUERIES_IN = _OPEN_QUERIES.where(
    FormInstance.subject_id.in_(bindparam("subject_ids", expanding=True)), _UNANSWERED > 0
)
_OPEN_QUERIES_ANY = _OPEN_QUERIES.where(
    FormInstance.subject_id == any_(bindparam("subject_ids", type_=postgresql.ARRAY(Integer))),
    _UNANSWERED > 0,
)


def open_queries_by_subject(
    dbsession: Session, study_id: int, subject_ids: list[int]
) -> dict[int, int]:
    """Subject id → open queries (not answered yet) of the study's subjects ``subject_ids``,
    from the status rows (one query for a page). Plain rows on the session's connection: no
    ORM execution to set up for them."""
    if not subject_ids:
        return {}
    connection = rows_connection(dbsession)
    statement = _OPEN_QUERIES_ANY if connection.dialect.name == "postgresql" else _OPEN_QUERIES_IN
    parameters = {"study_id": study_id, "subject_ids": subject_ids}
    return dict(connection.execute(statement, parameters).all())
