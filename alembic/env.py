"""Alembic environment: the database comes from the app's settings (INI + environment), or from
a connection handed over by the caller (tests, ``datacapt db upgrade``)."""

from __future__ import annotations

import os

from pyramid.paster import get_appsettings

import datacapt.models  # noqa: F401  (registers every table on the metadata)
from alembic import context
from datacapt.config import apply_environment
from datacapt.db import Base, make_engine
from datacapt.models.types import UTCDateTime

config = context.config


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Migrations spell plain SQLAlchemy types, so they never depend on the app's code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    settings = apply_environment(get_appsettings(config.config_file_name), os.environ)
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run()
