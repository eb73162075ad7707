"""Uploaded files: a file item's files (name, type read from the bytes, size, SHA-256, random
storage name), kept whole so replaced files stay in the value history.

Revision ID: 23530e5c6c38
Revises: 025d8f5ae17b
Create Date: 2026-12-04 03:15:14.491049
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '23530e5c6c38'
down_revision: str | None = '025d8f5ae17b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('uploaded_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('form_instance_id', sa.Integer(), nullable=True),
    sa.Column('item_oid', sa.String(length=100), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_name', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['form_instance_id'], ['form_instance.id'], name=op.f('fk_uploaded_file_form_instance_id_form_instance')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_uploaded_file_subject_id_subject')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_uploaded_file_tenant_id_study_id_study')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_uploaded_file_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uploaded_file')),
    sa.UniqueConstraint('storage_name', name=op.f('uq_uploaded_file_storage_name'))
    )
    with op.batch_alter_table('uploaded_file', schema=None) as batch_op:
        batch_op.create_index('ix_uploaded_file_form_instance_id_item_oid', ['form_instance_id', 'item_oid'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploaded_file_subject_id'), ['subject_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('uploaded_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_uploaded_file_subject_id'))
        batch_op.drop_index('ix_uploaded_file_form_instance_id_item_oid')

    op.drop_table('uploaded_file')
