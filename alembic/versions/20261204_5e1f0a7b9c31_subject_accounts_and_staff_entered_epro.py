"""Subject accounts (password, optional authenticator) for long studies; ePRO answers entered
by staff on a subject's behalf; how a subject session was opened.

Revision ID: 5e1f0a7b9c31
Revises: c41d9e7a5b18
Create Date: 2026-12-04 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5e1f0a7b9c31'
down_revision: str | None = 'c41d9e7a5b18'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('subject_account',
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('totp_key_id', sa.String(length=40), nullable=True),
    sa.Column('totp_nonce', sa.LargeBinary(length=12), nullable=True),
    sa.Column('totp_ciphertext', sa.LargeBinary(length=100), nullable=True),
    sa.Column('totp_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_subject_account_subject_id_subject')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_subject_account_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('subject_id', name=op.f('pk_subject_account')),
    sa.UniqueConstraint('login', name=op.f('uq_subject_account_login'))
    )
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('epro_accounts', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('subject_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('method', sa.String(length=20), server_default='link', nullable=False))
        batch_op.alter_column('link_id', existing_type=sa.Integer(), nullable=True)

    with op.batch_alter_table('epro_occurrence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('entry_reason', sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_epro_occurrence_entered_by_id_user_account'), 'user_account', ['entered_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('epro_occurrence', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_epro_occurrence_entered_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('entry_reason')
        batch_op.drop_column('entered_by_id')

    op.execute("DELETE FROM subject_session WHERE link_id IS NULL")
    with op.batch_alter_table('subject_session', schema=None) as batch_op:
        batch_op.alter_column('link_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('method')

    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('epro_accounts')

    op.drop_table('subject_account')
