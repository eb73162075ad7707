"""Setting a recruitment up: its form, criteria, dates and sites as typed and checked, saved
(audited old → new), listed with their counts; whether one takes applications today.

Criteria are expressions of the pre-screening form's items, one per line, checked against the
form's items when saved (:mod:`datacapt.recruitment.services.applying` evaluates them).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.ecrf.checks import option_codes, value_type
from datacapt.ecrf.definition import Definition, Form, form_items
from datacapt.expressions import ExpressionError, FieldInfo, Symbols, check, parse
from datacapt.i18n import _
from datacapt.models import (
    Application,
    ApplicationState,
    Recruitment,
    RecruitmentSite,
    RecruitmentState,
    Site,
    Study,
)


@dataclass(frozen=True)
class RecruitmentData:
    title: str
    target: int
    opens_on: date
    closes_on: date
    form: str
    criteria: str
    site_ids: tuple[int, ...]
    open: bool


def _symbols(form: Form) -> Symbols:
    return Symbols(
        fields={
            item.name: FieldInfo(value_type(item), option_codes(item)) for item in form_items(form)
        },
        visits=frozenset(),
    )


def criteria_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse_recruitment(
    values: Mapping[str, str],
    site_ids: Sequence[str],
    sites: Sequence[Site],
    definition: Definition | None,
) -> tuple[RecruitmentData | None, dict[str, object]]:
    """The recruitment as typed, checked; else the messages by field."""
    errors: dict[str, object] = {}
    title = " ".join((values.get("title") or "").split())
    if not title or len(title) > 200:
        errors["title"] = _("Enter a title of at most 200 characters.")
    target_text = (values.get("target") or "").strip()
    target = int(target_text) if target_text.isascii() and target_text.isdigit() else 0
    if not 1 <= target <= 100000:
        errors["target"] = _("Enter a whole number of participants, at least 1.")
    dates: dict[str, date] = {}
    for name in ("opens_on", "closes_on"):
        try:
            dates[name] = date.fromisoformat((values.get(name) or "").strip())
        except ValueError:
            errors[name] = _("Enter a date as YYYY-MM-DD.")
    if len(dates) == 2 and dates["closes_on"] < dates["opens_on"]:
        errors["closes_on"] = _("The recruitment closes on or after the day it opens.")
    known = {str(site.id): site.id for site in sites}
    chosen = tuple(sorted({known[s] for s in site_ids if s in known}))
    if not chosen:
        errors["sites"] = _("Choose at least one site.")
    form = definition.form(values.get("form") or "") if definition else None
    if form is None:
        errors["form"] = _("Choose the pre-screening form among the published design's forms.")
    criteria = "\n".join(criteria_lines(values.get("criteria") or ""))
    if form is not None:
        table = _symbols(form)
        for line in criteria_lines(criteria):
            try:
                check(parse(line), table)
            except ExpressionError as error:
                errors["criteria"] = _(
                    "${criterion}: ${message}",
                    mapping={"criterion": line, "message": error.message},
                )
                break
    if errors:
        return None, errors
    return RecruitmentData(
        title=title,
        target=target,
        opens_on=dates["opens_on"],
        closes_on=dates["closes_on"],
        form=form.name if form else "",
        criteria=criteria,
        site_ids=chosen,
        open=values.get("state", "open") != "closed",
    ), {}


def recruitments(dbsession: Session, study: Study) -> list[tuple[Recruitment, int, int]]:
    """The study's recruitments with their applications and enrolments (one query)."""
    enrolled = func.count(Application.id).filter(Application.state == ApplicationState.ENROLLED)
    return [
        (recruitment, total, done)
        for recruitment, total, done in dbsession.execute(
            select(Recruitment, func.count(Application.id), enrolled)
            .outerjoin(Application, Application.recruitment_id == Recruitment.id)
            .where(Recruitment.study_id == study.id)
            .group_by(Recruitment.id)
            .order_by(Recruitment.number.desc())
        )
    ]


def site_ids_of(dbsession: Session, recruitment: Recruitment) -> list[int]:
    return list(
        dbsession.scalars(
            select(RecruitmentSite.site_id)
            .where(RecruitmentSite.recruitment_id == recruitment.id)
            .order_by(RecruitmentSite.site_id)
        )
    )


def study_sites(dbsession: Session, study: Study) -> list[Site]:
    return list(
        dbsession.scalars(select(Site).where(Site.study_id == study.id).order_by(Site.code))
    )


def sites_of(dbsession: Session, recruitment: Recruitment) -> list[Site]:
    return list(
        dbsession.scalars(
            select(Site)
            .join(RecruitmentSite, RecruitmentSite.site_id == Site.id)
            .where(RecruitmentSite.recruitment_id == recruitment.id)
            .order_by(Site.code)
        )
    )


def _snapshot(recruitment: Recruitment, site_ids: Sequence[int]) -> dict[str, object]:
    return {
        "title": recruitment.title,
        "target": recruitment.target,
        "opens_on": recruitment.opens_on.isoformat(),
        "closes_on": recruitment.closes_on.isoformat(),
        "form": recruitment.form,
        "criteria": recruitment.criteria,
        "sites": list(site_ids),
        "state": recruitment.state.value,
    }


def save(
    dbsession: Session,
    study: Study,
    recruitment: Recruitment | None,
    data: RecruitmentData,
    actor: Actor,
) -> Recruitment:
    """Create a recruitment (``recruitment`` None) or change it; audited old → new."""
    old = None
    if recruitment is None:
        number = (
            dbsession.scalar(
                select(func.max(Recruitment.number)).where(Recruitment.study_id == study.id)
            )
            or 0
        ) + 1
        recruitment = Recruitment(
            tenant_id=study.tenant_id,
            study_id=study.id,
            number=number,
            token=secrets.token_urlsafe(24),
            created_by_id=actor.user_id,
        )
        dbsession.add(recruitment)
    else:
        old = _snapshot(recruitment, site_ids_of(dbsession, recruitment))
    recruitment.title, recruitment.target = data.title, data.target
    recruitment.opens_on, recruitment.closes_on = data.opens_on, data.closes_on
    recruitment.form, recruitment.criteria = data.form, data.criteria
    recruitment.state = RecruitmentState.OPEN if data.open else RecruitmentState.CLOSED
    dbsession.flush()
    current = set(site_ids_of(dbsession, recruitment))
    for site_id in current - set(data.site_ids):
        row = dbsession.get(RecruitmentSite, (recruitment.id, site_id))
        dbsession.delete(row)
    dbsession.add_all(
        RecruitmentSite(recruitment_id=recruitment.id, site_id=site_id)
        for site_id in set(data.site_ids) - current
    )
    dbsession.flush()
    new = _snapshot(recruitment, data.site_ids)
    if new != old:
        audit.record(
            dbsession,
            actor,
            tenant_id=study.tenant_id,
            action="recruitment.created" if old is None else "recruitment.changed",
            entity_type="recruitment",
            entity_id=recruitment.id,
            study_id=study.id,
            old=old,
            new=new,
        )
    return recruitment


def is_open(recruitment: Recruitment, today: date) -> bool:
    return (
        recruitment.state is RecruitmentState.OPEN
        and recruitment.opens_on <= today <= recruitment.closes_on
    )
