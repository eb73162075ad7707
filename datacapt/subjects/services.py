"""Queries and rules for subjects: enrolment, status changes, and the lists."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.i18n import _
from datacapt.models import Site, Study, Subject, SubjectStatus
from datacapt.pagination import Page, paginate
from datacapt.validation import ValidationError

SUBJECTS_PER_PAGE = 50
LABEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
PATTERN_FIELDS = {"site", "seq"}

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


def check_pattern(pattern: str) -> str:
    """A subject ID pattern: text with {site} and {seq} (formatted, e.g. {seq:04})."""
    try:
        fields = {name for _text, name, _spec, _conv in string.Formatter().parse(pattern) if name}
        sample = pattern.format(site="par01", seq=1)
    except (ValueError, IndexError, KeyError):
        fields, sample = {"?"}, ""
    if fields - PATTERN_FIELDS or "seq" not in fields or not LABEL_PATTERN.match(sample):
        raise ValidationError(
            "subject_id_pattern",
            _("Use {site} and {seq} with letters, digits, '-', '_' or '.', e.g. {site}-{seq:04}."),
        )
    return pattern


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
    audit.record(
        dbsession,
        actor,
        tenant_id=study.tenant_id,
        study_id=study.id,
        site_id=site.id,
        subject_id=subject.id,
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
    actor: Actor,
) -> None:
    """Move ``subject`` along its life: screening → included / screen failure → completed /
    withdrawn; ends need a reason and a date."""
    if status not in TRANSITIONS[subject.status]:
        raise ValidationError("status", _("This status cannot follow the current one."))
    if status in NEEDS_REASON and not reason:
        raise ValidationError("reason", _("Give the reason."))
    if status in NEEDS_REASON and on is None:
        raise ValidationError("date", _("Give the date."))
    if on is not None and on > date.today():
        raise ValidationError("date", _("The date cannot be in the future."))
    old = subject.status
    subject.status, subject.status_reason, subject.status_date = status, reason or None, on
    audit.record(
        dbsession,
        actor,
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        site_id=subject.site_id,
        subject_id=subject.id,
        action="subject.status_changed",
        entity_type="subject",
        entity_id=subject.id,
        field="status",
        old=old.value,
        new=status.value,
        reason=reason or None,
    )


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
    where: Sequence[ColumnElement[bool]] = (),
) -> Page[tuple[Subject, Site]]:
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
    for condition in where:
        statement = statement.where(condition)
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Subject.label.ilike(f"%{escaped}%", escape="\\"))
    return paginate(dbsession, statement, number, size)
