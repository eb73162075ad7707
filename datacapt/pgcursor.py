"""A psycopg cursor whose ``description`` is built when read, not when asked for.

psycopg builds one ``Column`` object per column each time ``cursor.description`` is read (five
calls or so each); SQLAlchemy reads it after every statement but, once a statement's result
metadata is cached, only to see whether rows came back. The form page's four statements return
about 90 columns: some 450 Python calls a request went into descriptions nobody read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any, overload

import psycopg
from psycopg.pq import ExecStatus

#: The statuses of a result that returned rows, as psycopg's own ``description`` reads them.
_ROWS = frozenset({ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK})


class Description(Sequence[psycopg.Column]):
    """``cursor.description`` of one result, its columns built on first use from that result
    (not from whatever the cursor ran since)."""

    __slots__ = ("_columns", "_source")

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._source: Any = SimpleNamespace(
            pgresult=cursor.pgresult, _encoding=cursor._encoding, adapters=cursor.adapters
        )
        self._columns: list[psycopg.Column] | None = None

    def _built(self) -> list[psycopg.Column]:
        if self._columns is None:
            source = self._source
            self._columns = [psycopg.Column(source, i) for i in range(source.pgresult.nfields)]
        return self._columns

    def __len__(self) -> int:
        return int(self._source.pgresult.nfields)

    @overload
    def __getitem__(self, index: int) -> psycopg.Column: ...
    @overload
    def __getitem__(self, index: slice) -> list[psycopg.Column]: ...
    def __getitem__(self, index: int | slice) -> psycopg.Column | list[psycopg.Column]:
        return self._built()[index]

    def __iter__(self) -> Iterator[psycopg.Column]:
        return iter(self._built())

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None  # type: ignore[assignment]


class Cursor(psycopg.Cursor[Any]):
    """psycopg's cursor, with a :class:`Description` (None, as psycopg says, without rows)."""

    @property
    def description(self) -> Description | None:  # type: ignore[override]
        result = self.pgresult
        if result and (result.nfields or result.status in _ROWS):
            return Description(self)
        return None
