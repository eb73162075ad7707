"""The ePRO compliance of a study: each questionnaire occurrence classed as due, completed (on
time or late), missed or opted out, counted and listed, by site, questionnaire and subject.

One statement reads every occurrence in scope (with its subject's label, status and site); the
counts and the list are made from it, so the page takes the same number of statements however
many rows there are.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.epro.services import OPTED_OUT
from datacapt.models import EproOccurrence, OccurrenceStatus, Site, Study, Subject

#: At most this many rows are listed (the counts cover them all).
LIST_LIMIT = 500


class Standing(enum.StrEnum):
    UPCOMING = "upcoming"  # its window has not opened
    DUE = "due"  # open now, not completed
    ON_TIME = "on_time"  # completed within its window
    LATE = "late"  # completed after its window closed
    MISSED = "missed"  # window closed, not completed
    OPTED_OUT = "opted_out"  # not completed, the subject left the study (nothing is sent)


COMPLETED = (Standing.ON_TIME, Standing.LATE)


@dataclass(frozen=True)
class Line:
    occurrence_id: int
    subject: str
    site: str
    visit: str
    form: str
    opens_at: datetime
    closes_at: datetime
    completed_at: datetime | None
    standing: Standing
    entered_by_staff: bool


@dataclass(frozen=True)
class Compliance:
    counts: dict[str, int]
    lines: list[Line]
    total: int

    @property
    def completed(self) -> int:
        return sum(self.counts.get(s, 0) for s in COMPLETED)


def standing(occurrence: EproOccurrence, subject_status: object, now: datetime) -> Standing:
    if occurrence.status is OccurrenceStatus.COMPLETED:
        done = occurrence.completed_at
        return (
            Standing.LATE if done is not None and done > occurrence.closes_at else Standing.ON_TIME
        )
    if subject_status in OPTED_OUT:
        return Standing.OPTED_OUT
    if occurrence.status is OccurrenceStatus.MISSED or occurrence.closes_at <= now:
        return Standing.MISSED
    if occurrence.opens_at > now:
        return Standing.UPCOMING
    return Standing.DUE


def compliance(
    dbsession: Session,
    study: Study,
    site_ids: Collection[int] | None,
    now: datetime,
    *,
    site: int | None = None,
    form: str | None = None,
    subject: str | None = None,
) -> Compliance:
    """The occurrences of ``study`` at ``site_ids`` (None: every site), narrowed by the
    filters, classed at ``now``."""
    statement = (
        select(EproOccurrence, Subject.label, Subject.status, Site.code)
        .join(Subject, Subject.id == EproOccurrence.subject_id)
        .join(Site, Site.id == Subject.site_id)
        .where(EproOccurrence.study_id == study.id, Subject.study_id == study.id)
        .order_by(EproOccurrence.opens_at, EproOccurrence.id)
    )
    if site_ids is not None:
        statement = statement.where(Subject.site_id.in_(site_ids))
    if site is not None:
        statement = statement.where(Subject.site_id == site)
    if form:
        statement = statement.where(EproOccurrence.form == form)
    if subject:
        statement = statement.where(Subject.label == subject)
    lines = [
        Line(
            occurrence.id,
            label,
            code,
            occurrence.visit,
            occurrence.form,
            occurrence.opens_at,
            occurrence.closes_at,
            occurrence.completed_at,
            standing(occurrence, status, now),
            occurrence.entered_by_id is not None,
        )
        for occurrence, label, status, code in dbsession.execute(statement)
    ]
    counts = Counter(line.standing.value for line in lines)
    return Compliance(
        {s.value: counts.get(s.value, 0) for s in Standing}, lines[:LIST_LIMIT], len(lines)
    )
