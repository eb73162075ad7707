"""Queries: a question on an item or a form, its state, and its thread of messages.

Revision ID: f315412d447d
Revises: 9291efc3467c
Create Date: 2026-11-22 05:30:39.955950
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f315412d447d'
down_revision: str | None = 'eee7503a3bc3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Queries are never deleted and their messages never rewritten (states move by new messages).
KEPT = "queries are never deleted and their messages never change"
POSTGRESQL_UP = [
    f"""
    CREATE FUNCTION query_kept() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{KEPT}';
    END $$
    """,
    """
    CREATE TRIGGER data_query_no_delete BEFORE DELETE ON data_query
    FOR EACH ROW EXECUTE FUNCTION query_kept()
    """,
    """
    CREATE TRIGGER query_message_append_only BEFORE UPDATE OR DELETE ON query_message
    FOR EACH ROW EXECUTE FUNCTION query_kept()
    """,
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER query_message_append_only ON query_message",
    "DROP TRIGGER data_query_no_delete ON data_query",
    "DROP FUNCTION query_kept()",
]
SQLITE_UP = [
    f"""
    CREATE TRIGGER data_query_no_delete BEFORE DELETE ON data_query
    BEGIN SELECT RAISE(ABORT, '{KEPT}'); END
    """,
    f"""
    CREATE TRIGGER query_message_no_update BEFORE UPDATE ON query_message
    BEGIN SELECT RAISE(ABORT, '{KEPT}'); END
    """,
    f"""
    CREATE TRIGGER query_message_no_delete BEFORE DELETE ON query_message
    BEGIN SELECT RAISE(ABORT, '{KEPT}'); END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER query_message_no_delete",
    "DROP TRIGGER query_message_no_update",
    "DROP TRIGGER data_query_no_delete",
]


def _run(postgresql: list[str], sqlite: list[str]) -> None:
    dialect = op.get_bind().dialect.name
    statements = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if statements is None:
        raise NotImplementedError(f"no triggers written for {dialect}")
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    op.create_table('data_query',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('form_instance_id', sa.Integer(), nullable=False),
    sa.Column('item_oid', sa.String(length=120), nullable=True),
    sa.Column('origin', sa.Enum('manual', 'system', name='query_origin', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('warning_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('open', 'answered', 'closed', name='query_state', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['form_instance_id'], ['form_instance.id'], name=op.f('fk_data_query_form_instance_id_form_instance')),
    sa.ForeignKeyConstraint(['raised_by_id'], ['user_account.id'], name=op.f('fk_data_query_raised_by_id_user_account')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_data_query_site_id_site')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_data_query_subject_id_subject')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_data_query_tenant_id_study_id_study')),
    sa.ForeignKeyConstraint(['warning_id'], ['entry_warning.id'], name=op.f('fk_data_query_warning_id_entry_warning')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_query')),
    sa.UniqueConstraint('study_id', 'number', name=op.f('uq_data_query_study_id_number')),
    sa.UniqueConstraint('warning_id', name=op.f('uq_data_query_warning_id'))
    )
    with op.batch_alter_table('data_query', schema=None) as batch_op:
        batch_op.create_index('ix_data_query_form_instance_id_item_oid', ['form_instance_id', 'item_oid'], unique=False)
        batch_op.create_index('ix_data_query_study_id_site_id_state', ['study_id', 'site_id', 'state'], unique=False)

    op.create_table('query_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('query_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Enum('raised', 'answered', 'closed', 'reopened', name='query_step', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('state', sa.Enum('open', 'answered', 'closed', name='query_message_state', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('corrected', sa.Boolean(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_query_message_author_id_user_account')),
    sa.ForeignKeyConstraint(['query_id'], ['data_query.id'], name=op.f('fk_query_message_query_id_data_query')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_query_message'))
    )
    with op.batch_alter_table('query_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_message_query_id'), ['query_id'], unique=False)

    _run(POSTGRESQL_UP, SQLITE_UP)


def downgrade() -> None:
    _run(POSTGRESQL_DOWN, SQLITE_DOWN)
    with op.batch_alter_table('query_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_query_message_query_id'))

    op.drop_table('query_message')
    with op.batch_alter_table('data_query', schema=None) as batch_op:
        batch_op.drop_index('ix_data_query_study_id_site_id_state')
        batch_op.drop_index('ix_data_query_form_instance_id_item_oid')

    op.drop_table('data_query')
