"""Pagination for listing pages: one COUNT and one page of rows, found by offset or, when the
previous page's last key is known (a "next" link), by keyset: the rows after that key, which
costs the same on the last page as on the first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
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


def paginate(
    dbsession: Session,
    statement: Select[Any],
    number: int,
    size: int,
    *,
    key: ColumnElement[Any] | None = None,
    after: str | None = None,
) -> Page[Any]:
    """Page ``number`` of ``statement``; with ``key`` (the unique column it is ordered by) and
    ``after`` (the last key of the page before), the page is the rows after that key."""
    total = dbsession.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    if key is not None and after is not None and number > 1:
        page = statement.where(key > after)
    else:
        page = statement.offset((number - 1) * size)
    rows = dbsession.execute(page.limit(size)).all()
    return Page(items=list(rows), number=number, size=size, total=total or 0)
