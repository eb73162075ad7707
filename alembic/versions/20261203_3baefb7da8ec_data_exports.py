"""Data exports: who asked for which export, its job's state and progress, its file's digest.

Revision ID: 3baefb7da8ec
Revises: 5c1e7a9d2b40
Create Date: 2026-12-03 21:27:52.353095
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3baefb7da8ec'
down_revision: str | None = '5c1e7a9d2b40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'data_export',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='export_state', native_enum=False, create_constraint=True, length=10), nullable=False),
        sa.Column('progress', sa.Integer(), server_default='0', nullable=False),
        sa.Column('values', sa.BigInteger(), nullable=True),
        sa.Column('size', sa.BigInteger(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_data_export_requested_by_id_user_account')),
        sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_data_export_tenant_id_study_id_study')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_export')),
    )
    with op.batch_alter_table('data_export', schema=None) as batch_op:
        batch_op.create_index('ix_data_export_study_id_created_at', ['study_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('data_export', schema=None) as batch_op:
        batch_op.drop_index('ix_data_export_study_id_created_at')
    op.drop_table('data_export')
