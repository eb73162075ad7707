"""Pagination for listing pages: one COUNT and one page of rows, found by offset or, for a
statement ordered by a unique key, as the rows after the key ending the page before, which
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
    descending: bool = False,
) -> Page[Any]:
    """Page ``number`` of ``statement``.

    With ``key`` (the unique column it is ordered by, from the highest with ``descending``)
    every page but the first is the rows after the key that ends the page before, looked up in
    the key's index. Rows the page skips are then never built (an offset computes every selected
    column of every skipped row), and the count reads the key alone, not the page's columns."""
    counted = statement if key is None else statement.with_only_columns(key)
    total = dbsession.scalar(select(func.count()).select_from(counted.order_by(None).subquery()))
    if key is None or number == 1:
        page = statement.offset((number - 1) * size)
    else:
        boundary = (
            statement.with_only_columns(key)
            .offset((number - 1) * size - 1)
            .limit(1)
            .scalar_subquery()
        )
        page = statement.where(key < boundary if descending else key > boundary)
    rows = dbsession.execute(page.limit(size)).all()
    return Page(items=list(rows), number=number, size=size, total=total or 0)
