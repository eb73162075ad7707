"""The engine's pool for a database server, and which database errors mean "unreachable"."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from datacapt.db import database_unavailable, make_engine

SERVER = "postgresql+psycopg://app@db.example/datacapt"


def test_a_server_pool_pre_pings_and_recycles_unless_the_ini_says_otherwise():
    pool = make_engine({"sqlalchemy.url": SERVER}).pool
    assert (pool._pre_ping, pool._recycle) == (True, 1800)
    settings = {"sqlalchemy.url": SERVER, "sqlalchemy.pool_pre_ping": "false"}
    assert make_engine({**settings, "sqlalchemy.pool_recycle": "300"}).pool._recycle == 300
    assert make_engine(settings).pool._pre_ping is False


def test_an_embedded_database_is_not_pinged():
    assert make_engine({"sqlalchemy.url": "sqlite://"}).pool._pre_ping is False


def server_error(sqlstate: str | None) -> psycopg.OperationalError:
    error = psycopg.OperationalError("from the server")
    error.sqlstate = sqlstate  # type: ignore[misc]
    return error


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (OperationalError("SELECT 1", {}, server_error(None)), True),  # could not connect
        (OperationalError("SELECT 1", {}, server_error("57P01")), True),  # shutting down
        (OperationalError("SELECT 1", {}, server_error("08006")), True),  # connection failure
        (OperationalError("SELECT 1", {}, server_error("57014")), False),  # statement timeout
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table")), False),
        (IntegrityError("INSERT", {}, psycopg.IntegrityError("duplicate")), False),
        (IntegrityError("INSERT", {}, Exception(), connection_invalidated=True), True),
        (ValueError("not the database"), False),
    ],
)
def test_only_an_unreachable_database_counts_as_unavailable(error, unavailable):
    assert database_unavailable(error) is unavailable
