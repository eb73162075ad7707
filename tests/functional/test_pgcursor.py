"""psycopg cursors' descriptions built on demand: same columns, results unchanged."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Engine, literal, select

from datacapt.pgcursor import Cursor, Description


@pytest.fixture
def raw(engine: Engine):  # type: ignore[no-untyped-def]
    """A raw connection of the suite's engine (PostgreSQL only: tests/conftest.py)."""
    connection = engine.raw_connection()
    try:
        yield connection
    finally:
        connection.close()


def test_the_description_is_psycopgs_own_for_its_own_result(raw) -> None:  # type: ignore[no-untyped-def]
    cursor = raw.cursor()
    assert isinstance(cursor, Cursor)
    cursor.execute("SELECT 1 AS one, 'x'::text AS two, now() AS three")
    described = cursor.description
    own = [(c.name, c.type_code, c.internal_size) for c in psycopg.Cursor.description.fget(cursor)]
    cursor.execute("SELECT 2 AS other")
    assert isinstance(described, Description) and len(described) == 3
    assert [(c.name, c.type_code, c.internal_size) for c in described] == own
    assert described[-1].name == "three" and [c.name for c in described[:2]] == ["one", "two"]
    assert cursor.description[0].name == "other"


def test_no_rows_no_description(raw) -> None:  # type: ignore[no-untyped-def]
    cursor = raw.cursor()
    cursor.execute("SET LOCAL statement_timeout = 0")
    assert cursor.description is None
    cursor.execute("SELECT")
    assert cursor.description is not None and len(cursor.description) == 0


def test_sqlalchemy_reads_rows_by_name_first_and_cached(engine: Engine) -> None:
    statement = select(literal(2).label("a"), literal("y").label("b"))
    with engine.connect() as connection:
        for _ in range(2):  # compiled, then from the cache with its result metadata
            row = connection.execute(statement).one()
            assert (row.b, row.a, row._mapping["a"]) == ("y", 2, 2)
        assert connection.exec_driver_sql("SELECT 3 AS c").mappings().one() == {"c": 3}
