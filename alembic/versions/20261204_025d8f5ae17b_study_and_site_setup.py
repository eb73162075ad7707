"""Studies' languages and time zone; sites' country and time zone; queries on a visit or a
subject (no form instance; a visit instance for a visit).

Existing studies are run in English in UTC until their administrators say otherwise; existing
sites have no country and keep the study's zone.

Revision ID: 025d8f5ae17b
Revises: 83d17a6f16ef
Create Date: 2026-12-04 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '025d8f5ae17b'
down_revision: str | None = '83d17a6f16ef'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: SQLite changes a column by rebuilding the table, which drops its triggers: queries are
#: never deleted, so the rebuilt data_query gets its trigger back (PostgreSQL alters in place).
SQLITE_QUERY_KEPT = """
    CREATE TRIGGER data_query_no_delete BEFORE DELETE ON data_query
    BEGIN SELECT RAISE(ABORT, 'queries are never deleted and their messages never change'); END
"""


def _keep_queries() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TRIGGER IF EXISTS data_query_no_delete')
        op.execute(SQLITE_QUERY_KEPT)


def upgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('languages', sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False)
        )
    study = sa.table('study', sa.column('languages', sa.JSON()))
    op.execute(study.update().values(languages=['en']))
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.alter_column('languages', existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
    with op.batch_alter_table('data_query', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit_instance_id', sa.Integer(), nullable=True))
        batch_op.alter_column('form_instance_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(
            batch_op.f('ix_data_query_visit_instance_id'), ['visit_instance_id'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_data_query_visit_instance_id_visit_instance'),
            'visit_instance',
            ['visit_instance_id'],
            ['id'],
        )
    _keep_queries()


def downgrade() -> None:
    with op.batch_alter_table('data_query', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_data_query_visit_instance_id_visit_instance'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_data_query_visit_instance_id'))
        # Refused (NOT NULL) while queries on visits or subjects exist: they are never deleted.
        batch_op.alter_column('form_instance_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('visit_instance_id')
    _keep_queries()
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('timezone')
        batch_op.drop_column('country')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('timezone')
        batch_op.drop_column('languages')
