"""Offset pagination for listing pages: one COUNT and one page of rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


def page_number(raw: Any) -> int:
    """The ``page`` query parameter as a sane positive number (bad input is page 1)."""
    try:
        number = int(raw)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


def paginate(dbsession: Session, statement: Select[Any], number: int, size: int) -> Page[Any]:
    total = dbsession.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = dbsession.execute(statement.limit(size).offset((number - 1) * size)).all()
    return Page(items=list(rows), number=number, size=size, total=total or 0)
