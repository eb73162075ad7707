"""Audit trail: a hash chain per subject casebook (else study, tenant, platform) instead of one
per tenant, so saves of different subjects never wait for each other; checkpoints over every
chain's head; the viewer pages by id.

``chain`` becomes text (``subject:42``). The existing per-tenant chains are kept untouched as
closed legacy chains, named by the tenant's id alone as before (``7``, ``0`` for the platform):
re-chaining them would rewrite every hash and destroy the evidence; verification checks them as
they are. Append-only triggers guard the two checkpoint tables as they guard the events.

Revision ID: 5c1f0a9d2e7b
Revises: 3baefb7da8ec
Create Date: 2026-12-03 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5c1f0a9d2e7b'
down_revision: str | None = '3baefb7da8ec'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "audit_event is append-only: its rows can be neither changed nor deleted"
CHECKPOINTS = "audit checkpoints are append-only: they can be neither changed nor deleted"
CHECKPOINT_TABLES = ("audit_checkpoint", "audit_checkpoint_head")

POSTGRESQL_UP = [
    f"""
    CREATE FUNCTION audit_checkpoint_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{CHECKPOINTS}';
    END $$
    """,
    *(
        statement
        for table in CHECKPOINT_TABLES
        for statement in (
            f"""
            CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_append_only()
            """,
            f"""
            CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoint_append_only()
            """,
        )
    ),
]
POSTGRESQL_DOWN = [
    *(
        f"DROP TRIGGER {table}_{name} ON {table}"
        for table in CHECKPOINT_TABLES
        for name in ("append_only", "no_truncate")
    ),
    "DROP FUNCTION audit_checkpoint_append_only()",
]


def sqlite_triggers(table: str, message: str) -> list[str]:
    return [
        f"""
        CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
        BEGIN SELECT RAISE(ABORT, '{message}'); END
        """
        for verb in ("UPDATE", "DELETE")
    ]


def drop_sqlite_triggers(table: str) -> None:
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER {table}_no_{verb}")


def chain_type(new: sa.types.TypeEngine, old: sa.types.TypeEngine, cast: str) -> None:
    """PostgreSQL converts in place (no row trigger fires); SQLite rebuilds the table, which
    drops its triggers, so they are dropped first and made again after."""
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("audit_event", "chain", type_=new, existing_type=old,
                        postgresql_using=f"chain::{cast}")
        return
    drop_sqlite_triggers("audit_event")
    with op.batch_alter_table("audit_event", recreate="always") as batch:
        batch.alter_column("chain", type_=new, existing_type=old, existing_nullable=False)
    for statement in sqlite_triggers("audit_event", APPEND_ONLY):
        op.execute(statement)


def upgrade() -> None:
    chain_type(sa.String(length=40), sa.Integer(), "text")
    op.create_index('ix_audit_event_study_id_id', 'audit_event', ['study_id', 'id'], unique=False)
    op.create_index('ix_audit_event_tenant_id_id', 'audit_event', ['tenant_id', 'id'], unique=False)
    op.drop_index('ix_audit_event_study_id_seq', table_name='audit_event')
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('chains', sa.Integer(), nullable=False),
    sa.Column('events', sa.BigInteger(), nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_checkpoint_seq'))
    )
    op.create_table('audit_checkpoint_head',
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('chain', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['audit_checkpoint.id'], name=op.f('fk_audit_checkpoint_head_checkpoint_id_audit_checkpoint')),
    sa.PrimaryKeyConstraint('checkpoint_id', 'chain', name=op.f('pk_audit_checkpoint_head'))
    )
    op.create_index(op.f('ix_audit_checkpoint_head_chain'), 'audit_checkpoint_head', ['chain'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        statements = POSTGRESQL_UP
    else:
        statements = [s for table in CHECKPOINT_TABLES for s in sqlite_triggers(table, CHECKPOINTS)]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    named = "chain !~ '^[0-9]+$'" if bind.dialect.name == "postgresql" else "chain GLOB '*[^0-9]*'"
    newer = bind.scalar(sa.text(f"SELECT count(*) FROM audit_event WHERE {named}"))
    if newer:
        raise RuntimeError(
            f"{newer} audit events are in per-subject chains, which the previous revision cannot hold"
        )
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_DOWN:
            op.execute(statement)
    else:
        for table in CHECKPOINT_TABLES:
            drop_sqlite_triggers(table)
    op.drop_index(op.f('ix_audit_checkpoint_head_chain'), table_name='audit_checkpoint_head')
    op.drop_table('audit_checkpoint_head')
    op.drop_table('audit_checkpoint')
    op.create_index('ix_audit_event_study_id_seq', 'audit_event', ['study_id', 'seq'], unique=False)
    op.drop_index('ix_audit_event_tenant_id_id', table_name='audit_event')
    op.drop_index('ix_audit_event_study_id_id', table_name='audit_event')
    chain_type(sa.Integer(), sa.String(length=40), "integer")
