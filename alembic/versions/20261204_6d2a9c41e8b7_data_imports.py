"""Data imports: the file a data manager uploaded, its dry run's report, its confirmation.

Revision ID: 6d2a9c41e8b7
Revises: 4ca5939eef4b
Create Date: 2026-12-04 00:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '6d2a9c41e8b7'
down_revision: str | None = '4ca5939eef4b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'data_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('format', sa.Enum('csv', 'redcap', 'odm', name='import_format', native_enum=False, create_constraint=True, length=10), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('state', sa.Enum('queued', 'checking', 'ready', 'refused', 'writing', 'done', 'failed', name='import_state', native_enum=False, create_constraint=True, length=10), nullable=False),
        sa.Column('progress', sa.Integer(), server_default='0', nullable=False),
        sa.Column('report', sa.JSON(), nullable=True),
        sa.Column('rows', sa.BigInteger(), nullable=True),
        sa.Column('values_changed', sa.BigInteger(), nullable=True),
        sa.Column('refused', sa.BigInteger(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['confirmed_by_id'], ['user_account.id'], name=op.f('fk_data_import_confirmed_by_id_user_account')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_data_import_requested_by_id_user_account')),
        sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_data_import_tenant_id_study_id_study')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_import')),
    )
    with op.batch_alter_table('data_import', schema=None) as batch_op:
        batch_op.create_index('ix_data_import_study_id_created_at', ['study_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('data_import', schema=None) as batch_op:
        batch_op.drop_index('ix_data_import_study_id_created_at')
    op.drop_table('data_import')
