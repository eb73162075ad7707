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


def upgrade_over(engine, revision: str, rows: list[str]) -> None:
    """Migrate to ``revision``, write ``rows`` (SQL of that schema), then migrate to the head:
    what a database holding such rows goes through."""
    from sqlalchemy import text

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
    with engine.begin() as connection:
        for row in rows:
            connection.execute(text(row))
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


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


def test_a_trail_chained_per_tenant_stays_verifiable_and_closed(tmp_path):
    """The per-subject chains migration keeps the per-tenant chains as they were written: their
    hashes still verify, the triggers still guard the table, new events start chains of their
    own, and downgrading is refused once they exist."""
    import hashlib
    from datetime import UTC, datetime

    import pytest
    from alembic.script import ScriptDirectory
    from sqlalchemy import Integer, column, insert, table, text
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm import Session

    from datacapt import audit
    from datacapt.actor import Actor
    from datacapt.models.types import UTCDateTime

    url = create_database("legacy", tmp_path)
    engine = make_engine({"sqlalchemy.url": url})
    config = AlembicConfig(str(TESTING_INI), ini_section="alembic")
    before = ScriptDirectory.from_config(config).get_revision("5c1f0a9d2e7b").down_revision
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), before)
        previous, rows = audit.GENESIS, []
        for seq in (1, 2):  # hashed as the per-tenant chain did: the chain a number
            values = dict.fromkeys(audit.HASHED_FIELDS)
            values |= {
                "chain": 7,
                "seq": seq,
                "occurred_at": f"2026-11-0{seq}T10:00:00.000000Z",
                "tenant_id": 7,
                "action": "test.changed",
                "entity_type": "thing",
                "entity_id": str(seq),
            }
            canonical = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
            digest = hashlib.sha256((previous + canonical).encode()).hexdigest()
            stamp = datetime(2026, 11, seq, 10, tzinfo=UTC)
            rows.append(values | {"occurred_at": stamp, "prev_hash": previous, "hash": digest})
            previous = digest
        then = table(  # the columns of then: the chain a number, the time as the model writes it
            "audit_event",
            *(column(name) for name in rows[0] if name not in ("chain", "occurred_at")),
            column("chain", Integer),
            column("occurred_at", UTCDateTime),
        )
        with engine.begin() as connection:
            connection.execute(insert(then), rows)
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        with Session(engine) as dbsession, dbsession.begin():
            [legacy] = audit.verify_all(dbsession)
            assert (legacy.chain, legacy.count, legacy.head) == ("7", 2, previous)
            assert legacy.intact
            made = audit.record(
                dbsession,
                Actor.system("tests"),
                tenant_id=7,
                study_id=1,
                action="a",
                entity_type="t",
                entity_id=1,
            )
            assert (made.chain, made.seq) == ("study:1", 1)
        with engine.begin() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text("DELETE FROM audit_event"))
        with engine.begin() as connection, pytest.raises(RuntimeError, match="per-subject"):
            command.downgrade(alembic_config(connection), before)
    finally:
        engine.dispose()


def test_role_sites_and_signed_forms_receive_their_parents_tenant(tmp_path):
    """Rows written before the tenant column existed take their parent's tenant, which is then
    required."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    url = create_database("tenanted", tmp_path)
    engine = make_engine({"sqlalchemy.url": url})
    rows = [
        "INSERT INTO tenant (id, slug, name) VALUES (1, 'a', 'A'), (2, 'b', 'B')",
        "INSERT INTO study (id, tenant_id, code, title, languages, missing_codes)"
        " VALUES (5, 2, 's', 'S', '[]', '[]')",
        "INSERT INTO site (id, tenant_id, study_id, code, name) VALUES (6, 2, 5, 'p', 'P')",
        "INSERT INTO user_account (id, email, name, is_system_admin, is_active)"
        " VALUES (7, 'u@example.org', 'U', false, true)",
        "INSERT INTO study_role (id, tenant_id, study_id, user_id, role)"
        " VALUES (8, 2, 5, 7, 'monitor')",
        "INSERT INTO study_role_site (study_role_id, site_id, study_id) VALUES (8, 6, 5)",
        "INSERT INTO subject (id, tenant_id, study_id, site_id, label, status)"
        " VALUES (9, 2, 5, 6, 'p-1', 'included')",
        "INSERT INTO visit_instance (id, tenant_id, study_id, subject_id, visit, repeat)"
        " VALUES (10, 2, 5, 9, 'v', 1)",
        "INSERT INTO form_instance (id, tenant_id, study_id, site_id, subject_id,"
        " visit_instance_id, visit, visit_repeat, form, repeat, status, version_number,"
        " lock_version) VALUES (11, 2, 5, 6, 9, 10, 'v', 1, 'f', 1, 'complete', 1, 1)",
        "INSERT INTO signature (id, tenant_id, study_id, site_id, subject_id, scope, signer_id,"
        " signer_name, meaning, content_hash, signed_at, audit_event_id)"
        " VALUES (12, 2, 5, 6, 9, 'form', 7, 'U', 'm', 'h', '2026-12-01 10:00:00+00', 1)",
        "INSERT INTO signed_form (signature_id, form_instance_id) VALUES (12, 11)",
    ]
    try:
        upgrade_over(engine, "5d3a1c7e9b42", rows)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT tenant_id FROM study_role_site")) == 2
            assert connection.scalar(text("SELECT tenant_id FROM signed_form")) == 2
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM study_role_site"))
            connection.execute(text("DELETE FROM signed_form"))
        for written in (rows[5], rows[-1]):  # without a tenant: refused
            with engine.begin() as connection, pytest.raises(IntegrityError):
                connection.execute(text(written))
    finally:
        engine.dispose()


def test_subjects_holding_a_valid_signature_are_marked_signed(tmp_path):
    """The mark is backfilled from the signatures: a subject with one not broken is signed, one
    whose signatures all broke or who has none is not."""
    from sqlalchemy import text

    url = create_database("signed", tmp_path)
    engine = make_engine({"sqlalchemy.url": url})
    signature = (
        "INSERT INTO signature (tenant_id, study_id, site_id, subject_id, scope, signer_id,"
        " signer_name, meaning, content_hash, signed_at, audit_event_id, broken_at)"
        " VALUES (2, 5, 6, {subject}, 'casebook', 7, 'U', 'm', 'h', '2026-12-01 10:00:00+00',"
        " 1, {broken})"
    )
    rows = [
        "INSERT INTO tenant (id, slug, name) VALUES (2, 'b', 'B')",
        "INSERT INTO study (id, tenant_id, code, title, languages, missing_codes)"
        " VALUES (5, 2, 's', 'S', '[]', '[]')",
        "INSERT INTO site (id, tenant_id, study_id, code, name) VALUES (6, 2, 5, 'p', 'P')",
        "INSERT INTO user_account (id, email, name, is_system_admin, is_active)"
        " VALUES (7, 'u@example.org', 'U', false, true)",
        "INSERT INTO subject (id, tenant_id, study_id, site_id, label, status) VALUES"
        " (9, 2, 5, 6, 'p-1', 'included'), (10, 2, 5, 6, 'p-2', 'included'),"
        " (11, 2, 5, 6, 'p-3', 'included')",
        signature.format(subject=9, broken="NULL"),
        signature.format(subject=9, broken="'2026-12-02 10:00:00+00'"),
        signature.format(subject=10, broken="'2026-12-02 10:00:00+00'"),
    ]
    try:
        upgrade_over(engine, "e52c8d3f0b26", rows)
        with engine.connect() as connection:
            marks = connection.execute(text("SELECT id, signed FROM subject ORDER BY id")).all()
        assert [(id_, bool(signed)) for id_, signed in marks] == [
            (9, True),
            (10, False),
            (11, False),
        ]
    finally:
        engine.dispose()


def test_subjects_held_by_their_consent_are_marked(tmp_path):
    """The hold is backfilled from the consent records: a withdrawal from further data holds
    entry (over a re-consent pending), a re-consent pending on a record not withdrawn asks for
    one, a withdrawal from other data or a record neither pending nor withdrawn holds nothing."""
    from sqlalchemy import text

    url = create_database("consent_hold", tmp_path)
    engine = make_engine({"sqlalchemy.url": url})
    record = (
        "INSERT INTO consent_record (tenant_id, study_id, site_id, subject_id, version_id,"
        " language, status, identity_method, progress, requires_reconsent, withdrawn_on,"
        " withdrawal_scope) VALUES (2, 5, 6, {subject}, 8, 'en', 'signed', 'in_person', '{{}}',"
        " {pending}, {on}, {scope})"
    )
    withdrawn = "'2026-12-01'"
    rows = [
        "INSERT INTO tenant (id, slug, name) VALUES (2, 'b', 'B')",
        "INSERT INTO study (id, tenant_id, code, title, languages, missing_codes)"
        " VALUES (5, 2, 's', 'S', '[]', '[]')",
        "INSERT INTO site (id, tenant_id, study_id, code, name) VALUES (6, 2, 5, 'p', 'P')",
        "INSERT INTO consent_document (id, tenant_id, study_id, title) VALUES (7, 2, 5, 'D')",
        "INSERT INTO consent_version (id, tenant_id, study_id, document_id, number, state,"
        " version_date, content) VALUES (8, 2, 5, 7, '1', 'live', '2026-11-01', '{}')",
        "INSERT INTO subject (id, tenant_id, study_id, site_id, label, status) VALUES"
        + ", ".join(f" ({n}, 2, 5, 6, 'p-{n}', 'included')" for n in range(9, 14)),
        record.format(subject=9, pending="true", on="NULL", scope="NULL"),
        record.format(subject=9, pending="false", on="NULL", scope="NULL"),
        record.format(subject=10, pending="true", on="NULL", scope="NULL"),
        record.format(subject=10, pending="false", on=withdrawn, scope="'[\"further_data\"]'"),
        record.format(subject=11, pending="true", on=withdrawn, scope="'[\"samples\"]'"),
        record.format(subject=12, pending="false", on="NULL", scope="NULL"),
    ]
    try:
        upgrade_over(engine, "5a7e0c1d9b42", rows)
        with engine.connect() as connection:
            marks = connection.execute(
                text("SELECT id, consent_hold FROM subject ORDER BY id")
            ).all()
        assert [tuple(mark) for mark in marks] == [
            (9, "reconsent"),
            (10, "withdrawn"),
            (11, None),
            (12, None),
            (13, None),
        ]
    finally:
        engine.dispose()
