"""Export runs and saved definitions: an export's snapshot time (a retry writes the same
bytes), its last progress (a stuck one may be retried), the definition it runs; and saved
export definitions with their schedule.

Revision ID: 4ca5939eef4b
Revises: d70fc2da90b9
Create Date: 2026-12-04 00:21:40.124793
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '4ca5939eef4b'
down_revision: str | None = "d70fc2da90b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('export_definition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('every', sa.Enum('day', 'week', name='export_every', native_enum=False, create_constraint=True, length=8), nullable=True),
    sa.Column('weekday', sa.SmallInteger(), nullable=True),
    sa.Column('hour', sa.SmallInteger(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('application_url', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_export_definition_owner_id_user_account')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_export_definition_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_definition')),
    sa.UniqueConstraint('study_id', 'name', name=op.f('uq_export_definition_study_id_name'))
    )
    with op.batch_alter_table('export_definition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_definition_next_run_at'), ['next_run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_definition_study_id'), ['study_id'], unique=False)

    with op.batch_alter_table('data_export', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snapshot_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('progressed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('definition_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_data_export_definition_id'), ['definition_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_data_export_definition_id_export_definition'), 'export_definition', ['definition_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('data_export', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_data_export_definition_id_export_definition'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_data_export_definition_id'))
        batch_op.drop_column('definition_id')
        batch_op.drop_column('progressed_at')
        batch_op.drop_column('snapshot_at')

    with op.batch_alter_table('export_definition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_definition_study_id'))
        batch_op.drop_index(batch_op.f('ix_export_definition_next_run_at'))

    op.drop_table('export_definition')
