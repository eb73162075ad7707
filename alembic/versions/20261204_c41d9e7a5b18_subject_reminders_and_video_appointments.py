"""Subjects' appointment reminders and opt-out links; eConsult (video) appointments.

Revision ID: c41d9e7a5b18
Revises: b7ca23b70c82
Create Date: 2026-12-04 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c41d9e7a5b18'
down_revision: str | None = 'b7ca23b70c82'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('site_video',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('link_template', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['study_id', 'site_id'], ['site.study_id', 'site.id'], name=op.f('fk_site_video_study_id_site_id_site')),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_site_video'))
    )
    with op.batch_alter_table('site_video', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_video_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('subject_mail_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_subject_mail_link_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_mail_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_subject_mail_link_token_hash'))
    )
    with op.batch_alter_table('subject_mail_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subject_mail_link_subject_id'), ['subject_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subject_mail_link_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_reminded_for', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('video', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('video')
        batch_op.drop_column('subject_reminded_for')

    with op.batch_alter_table('subject_mail_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subject_mail_link_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_subject_mail_link_subject_id'))

    op.drop_table('subject_mail_link')
    with op.batch_alter_table('site_video', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_video_tenant_id'))

    op.drop_table('site_video')
