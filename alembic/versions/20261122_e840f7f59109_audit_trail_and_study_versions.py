"""The audit trail (append-only, refused UPDATE/DELETE) and study versions (frozen once
published or discarded).

Revision ID: e840f7f59109
Revises: 4b330a048a09
Create Date: 2026-11-22 03:51:30.335380
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e840f7f59109'
down_revision: str | None = '4b330a048a09'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "audit_event is append-only: its rows can be neither changed nor deleted"
FROZEN = "a published or discarded study version is frozen: make a new version instead"

POSTGRESQL_UP = [
    f"""
    CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{APPEND_ONLY}';
    END $$
    """,
    """
    CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
    """,
    """
    CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()
    """,
    f"""
    CREATE FUNCTION study_version_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.state IN ('published', 'discarded') THEN
            RAISE EXCEPTION '{FROZEN}';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER study_version_frozen BEFORE UPDATE OR DELETE ON study_version
    FOR EACH ROW EXECUTE FUNCTION study_version_frozen()
    """,
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER study_version_frozen ON study_version",
    "DROP FUNCTION study_version_frozen()",
    "DROP TRIGGER audit_event_no_truncate ON audit_event",
    "DROP TRIGGER audit_event_append_only ON audit_event",
    "DROP FUNCTION audit_event_append_only()",
]
SQLITE_UP = [
    f"""
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END
    """,
    f"""
    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END
    """,
    f"""
    CREATE TRIGGER study_version_frozen_update BEFORE UPDATE ON study_version
    WHEN OLD.state IN ('published', 'discarded')
    BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END
    """,
    f"""
    CREATE TRIGGER study_version_frozen_delete BEFORE DELETE ON study_version
    WHEN OLD.state IN ('published', 'discarded')
    BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER study_version_frozen_delete",
    "DROP TRIGGER study_version_frozen_update",
    "DROP TRIGGER audit_event_no_delete",
    "DROP TRIGGER audit_event_no_update",
]


def run(postgresql: list[str], sqlite: list[str]) -> None:
    dialect = op.get_bind().dialect.name
    statements = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if statements is None:
        raise NotImplementedError(f"no triggers written for {dialect}")
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chain', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('study_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('field', sa.String(length=120), nullable=True),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('request_id', sa.String(length=36), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    sa.UniqueConstraint('chain', 'seq', name=op.f('uq_audit_event_chain_seq'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_entity', ['entity_type', 'entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_study_id'), ['study_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_subject_id'), ['subject_id'], unique=False)
        batch_op.create_index('ix_audit_event_tenant_id_occurred_at', ['tenant_id', 'occurred_at'], unique=False)

    op.create_table('study_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'published', 'discarded', name='version_state', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('publish_reason', sa.Text(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_study_version_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], name=op.f('fk_study_version_published_by_id_user_account')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_study_version_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_version')),
    sa.UniqueConstraint('study_id', 'number', name=op.f('uq_study_version_study_id_number'))
    )
    with op.batch_alter_table('study_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_version_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('uq_study_version_one_draft', ['study_id'], unique=True, postgresql_where=sa.text("state = 'draft'"), sqlite_where=sa.text("state = 'draft'"))

    run(POSTGRESQL_UP, SQLITE_UP)



def downgrade() -> None:
    run(POSTGRESQL_DOWN, SQLITE_DOWN)
    with op.batch_alter_table('study_version', schema=None) as batch_op:
        batch_op.drop_index('uq_study_version_one_draft', postgresql_where=sa.text("state = 'draft'"), sqlite_where=sa.text("state = 'draft'"))
        batch_op.drop_index(batch_op.f('ix_study_version_tenant_id'))

    op.drop_table('study_version')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_tenant_id_occurred_at')
        batch_op.drop_index(batch_op.f('ix_audit_event_subject_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_study_id'))
        batch_op.drop_index('ix_audit_event_entity')

    op.drop_table('audit_event')
