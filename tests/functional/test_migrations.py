"""The schema is the migrations' work, and the models agree with it."""

from __future__ import annotations

import json

from alembic.config import Config as AlembicConfig
from sqlalchemy import inspect

from alembic import command
from datacapt.db import Base, make_engine
from tests.conftest import TESTING_INI, create_database, migrate


def alembic_config(connection) -> AlembicConfig:
    config = AlembicConfig(str(TESTING_INI), ini_section="alembic")
    config.attributes["connection"] = connection
    return config


def test_models_and_migrations_agree(engine):
    """Fails when a model changes without a migration (``alembic check``)."""
    with engine.begin() as connection:
        command.check(alembic_config(connection))


def test_migrations_go_down_and_up_again(tmp_path):
    url = create_database("roundtrip", tmp_path)
    migrate(url)
    engine = make_engine({"sqlalchemy.url": url})
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_studies_that_exist_receive_the_default_missing_codes(tmp_path):
    """The data-entry migration runs on a database with studies in it."""
    from sqlalchemy import text

    url = create_database("existing", tmp_path)
    engine = make_engine({"sqlalchemy.url": url})
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "e840f7f59109")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO tenant (slug, name) VALUES ('t', 'T')"))
            connection.execute(
                text(
                    "INSERT INTO study (tenant_id, code, title) "
                    "SELECT id, 's', 'S' FROM tenant WHERE slug = 't'"
                )
            )
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT subject_id_pattern, missing_codes FROM study")
            ).one()
        assert row.subject_id_pattern == "{site}-{seq:04}"
        codes = row.missing_codes
        if isinstance(codes, str):  # SQLite hands JSON back as text to a plain query
            codes = json.loads(codes)
        assert [code for code, _label in codes] == ["NA", "NK", "ND", "NASK"]
    finally:
        engine.dispose()
