"""Plain rows of a built SELECT (or an INSERT or UPDATE's RETURNING), read through the driver's
own cursor on the session's connection; a write without RETURNING sent the same way.

SQLAlchemy's Core execution of a built statement costs ~0.1 ms of CPU over the driver's (its
cache key lookup, execution context and result metadata): the identity, the form's values and
its query counts are three such statements on every form page, the claim of the form, its audit
events and its values three writes of every save. Here a statement is compiled
once per dialect, and each request sends that SQL through ``Connection._cursor_execute``,
SQLAlchemy's path for statements it does not compile itself: the engine's ``before_cursor_execute``
listeners hear it (the query-count tests count it), echo logs it, and a driver's error is
wrapped as any statement's is, a lost connection invalidating the pool and marking the request
retryable (``datacapt.db``). A column whose type converts the driver's value (an enumeration,
a decorated type) is converted by that type's own result processor, chosen from the driver's
type codes on the first rows, as SQLAlchemy chooses it.

Values written in the statement (a state, a limit) are sent with the caller's, converted once by
their types; the caller's values whose type converts them (an enumeration, a time kept in UTC)
are converted at each execution by that type's bind processor, as Core converts them. A
statement whose SQL is not a fixed string with named parameters (SQLite's question marks,
expanding ``IN`` lists, values rendered at execution) is executed through Core as before:
:func:`plain_rows` gives the same rows either way (attributes by column key, positions, tuples),
:func:`plain_write` the same count of rows written.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase

from datacapt.db import rows_connection


@dataclass
class _Compiled:
    """A statement's SQL for one dialect, its row class and (once rows came) its converters."""

    sql: str | None  # None: executed through Core
    fixed: dict[str, Any]  # the values written in the statement, as the driver takes them
    converted: tuple[tuple[str, Callable[[Any], Any]], ...]  # the caller's, by their types
    make: Callable[[Sequence[Any]], Any]
    types: tuple[Any, ...]
    convert: Callable[[Sequence[Any]], Any] | None = field(default=None)

    def parameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """What the driver is sent: the statement's own values and the caller's, converted."""
        sent = {**self.fixed, **given}
        for name, processor in self.converted:
            if name in sent:
                sent[name] = processor(sent[name])
        return sent


#: A statement :func:`plain_rows` reads: a SELECT, or a write with RETURNING.
Readable = Select[Any] | UpdateBase

#: Statement → dialect's name → its compiled form, forgotten with the statement (the statements
#: read here are built once, but one built per call must not fill the process's memory).
_COMPILED: WeakKeyDictionary[Readable, dict[str, _Compiled]] = WeakKeyDictionary()


def plain_rows(
    dbsession: Session,
    statement: Readable,
    parameters: Mapping[str, Any],
    *,
    flush: bool = True,
) -> list[Any]:
    """The rows ``statement`` selects (or a write returns) with ``parameters`` (its named bound
    values), as named tuples of its columns' keys (a column without a key by its position:
    ``column0``, ...); after a flush, as the ORM's queries would, unless ``flush`` is false (a
    statement that must run before the session's pending changes are written, or a write whose
    caller flushed already)."""
    connection = rows_connection(dbsession) if flush else dbsession.connection()
    compiled = _compiled(statement, connection.dialect)
    if compiled.sql is None:
        return list(map(compiled.make, connection.execute(statement, parameters).all()))
    return _driver_rows(connection, compiled, compiled.parameters(parameters))


def plain_write(dbsession: Session, statement: UpdateBase, parameters: Mapping[str, Any]) -> int:
    """Run the write ``statement`` (no RETURNING) with ``parameters`` on the session's
    connection, as it stands (the caller flushed what must be written first); how many rows it
    wrote."""
    connection = dbsession.connection()
    compiled = _compiled(statement, connection.dialect)
    if compiled.sql is None:
        return int(connection.execute(statement, parameters).rowcount)
    return _driver(connection, compiled, compiled.parameters(parameters), _rowcount)


def _rowcount(cursor: Any) -> int:
    return int(cursor.rowcount)


def _driver_rows(
    connection: Connection, compiled: _Compiled, parameters: Mapping[str, Any]
) -> list[Any]:
    def read(cursor: Any) -> list[Any]:
        fetched = cursor.fetchall()
        convert = compiled.convert or _converter(compiled, connection.dialect, cursor.description)
        return list(map(convert, fetched))

    return _driver(connection, compiled, parameters, read)


def _driver(
    connection: Connection,
    compiled: _Compiled,
    parameters: Mapping[str, Any],
    read: Callable[[Any], Any],
) -> Any:
    """``compiled`` sent on a cursor of the connection's driver; what ``read`` takes from it."""
    sql = compiled.sql
    cursor = None
    try:
        cursor = connection.connection.cursor()
        connection._cursor_execute(cursor, sql, parameters)  # type: ignore[arg-type]
        return read(cursor)
    except connection.dialect.loaded_dbapi.Error as error:
        connection._handle_dbapi_exception(error, sql, parameters, cursor, None)  # type: ignore[arg-type]
    finally:
        if cursor is not None:
            cursor.close()


def _converter(
    compiled: _Compiled, dialect: Dialect, description: Sequence[Any]
) -> Callable[[Sequence[Any]], Any]:
    """The function making a row from the driver's values: the row class alone, or the values
    of the columns whose type converts them through its result processor first."""
    processed = [
        (index, processor)
        for index, (kind, column) in enumerate(zip(compiled.types, description, strict=True))
        if (processor := kind.dialect_impl(dialect).result_processor(dialect, column.type_code))
    ]
    make = compiled.make
    if not processed:
        convert = make
    else:

        def convert(values: Sequence[Any]) -> Any:
            row = list(values)
            for index, processor in processed:
                row[index] = processor(row[index])
            return make(row)

    compiled.convert = convert
    return convert


def _compiled(statement: Readable, dialect: Dialect) -> _Compiled:
    by_dialect = _COMPILED.get(statement)
    if by_dialect is None:
        by_dialect = _COMPILED[statement] = {}
    found = by_dialect.get(dialect.name)
    if found is not None:
        return found
    columns = (
        statement.selected_columns if isinstance(statement, Select) else statement.exported_columns
    )
    names = [key or f"column{i}" for i, key in enumerate(columns.keys())]
    row = namedtuple("Row", names, rename=True)  # type: ignore[misc]
    # tuple.__new__ makes the named tuple without a Python frame (``_make`` is one)
    make = partial(tuple.__new__, row)
    sql, fixed, converted = _fixed_sql(statement, dialect)
    compiled = _Compiled(sql, fixed, converted, make, tuple(c.type for c in columns))
    by_dialect[dialect.name] = compiled
    return compiled


def _fixed_sql(
    statement: Readable, dialect: Dialect
) -> tuple[str | None, dict[str, Any], tuple[tuple[str, Callable[[Any], Any]], ...]]:
    """The statement's SQL if the driver can take it with the caller's parameters (named
    placeholders, each bound value a named one the caller gives), the values written in the
    statement itself (a state, a limit) converted once by their types, and the caller's values
    each execution converts by its type's processor."""
    compiled = statement.compile(dialect=dialect)
    # expanding lists and literal executions are rendered per execution: listed here
    if compiled.positional or compiled.literal_execute_params or compiled.post_compile_params:
        return None, {}, ()
    fixed: dict[str, Any] = {}
    converted: list[tuple[str, Callable[[Any], Any]]] = []
    for bind in compiled.binds.values():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        name = compiled.bind_names[bind]
        if bind.callable is not None:
            return None, {}, ()
        if bind.value is not None:
            fixed[name] = processor(bind.value) if processor else bind.value
        elif name != bind.key:
            return None, {}, ()
        elif processor is not None:
            converted.append((name, processor))
    return compiled.string, fixed, tuple(converted)
