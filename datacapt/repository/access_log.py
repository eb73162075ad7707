"""The log of personal-data reads, filtered for the DPO (page and CSV)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from datacapt.models import Person, PiiAccess, Subject, User
from datacapt.pagination import Page, paginate

PER_PAGE = 100


@dataclass(frozen=True)
class Filters:
    user: str = ""
    reference: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None

    def query(self) -> dict[str, str]:
        found = {
            "user": self.user,
            "person": self.reference,
            "action": self.action,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in found.items() if value}


def _statement(tenant_id: int, filters: Filters) -> Select[Any]:
    statement = (
        select(PiiAccess, User.email, Person.reference, Subject.label)
        .outerjoin(User, User.id == PiiAccess.user_id)
        .outerjoin(Person, Person.id == PiiAccess.person_id)
        .outerjoin(Subject, Subject.id == PiiAccess.subject_id)
        .where(PiiAccess.tenant_id == tenant_id)
        .order_by(PiiAccess.id.desc())
    )
    if filters.user:
        statement = statement.where(User.email == filters.user.lower())
    if filters.reference:
        statement = statement.where(Person.reference == filters.reference)
    if filters.action:
        statement = statement.where(PiiAccess.action == filters.action)
    if filters.since:
        statement = statement.where(PiiAccess.at >= datetime.combine(filters.since, time.min, UTC))
    if filters.until:
        end = datetime.combine(filters.until, time.min, UTC) + timedelta(days=1)
        statement = statement.where(PiiAccess.at < end)
    return statement


def page(dbsession: Session, tenant_id: int, filters: Filters, number: int) -> Page[Any]:
    return paginate(
        dbsession,
        _statement(tenant_id, filters),
        number,
        PER_PAGE,
        key=PiiAccess.id,
        descending=True,
    )


def rows(dbsession: Session, tenant_id: int, filters: Filters) -> Iterator[Any]:
    yield from dbsession.execute(_statement(tenant_id, filters).execution_options(yield_per=500))
