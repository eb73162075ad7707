"""Queries and rules for subjects."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.i18n import _
from datacapt.models import Site, Study, Subject, SubjectStatus
from datacapt.pagination import Page, paginate

SUBJECTS_PER_PAGE = 50

STATUS_LABELS = {
    SubjectStatus.SCREENING: _("Screening"),
    SubjectStatus.INCLUDED: _("Included"),
    SubjectStatus.SCREEN_FAILURE: _("Screen failure"),
    SubjectStatus.COMPLETED: _("Completed"),
    SubjectStatus.WITHDRAWN: _("Withdrawn"),
}


def subjects_page(
    dbsession: Session, study: Study, site_ids: frozenset[int] | None, number: int, size: int
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
    return paginate(dbsession, statement, number, size)
