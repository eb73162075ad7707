"""Password reset: single-use links (stored as SHA-256 hashes) and the requests for them.

Revision ID: eee7503a3bc3
Revises: 9291efc3467c
Create Date: 2026-11-22 05:38:08.410368
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'eee7503a3bc3'
down_revision: str | None = '35e86424f399'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('password_reset_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_key', sa.String(length=64), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset_request'))
    )
    with op.batch_alter_table('password_reset_request', schema=None) as batch_op:
        batch_op.create_index('ix_password_reset_request_account_key_at', ['account_key', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_password_reset_request_at'), ['at'], unique=False)
        batch_op.create_index('ix_password_reset_request_ip_at', ['ip', 'at'], unique=False)

    op.create_table('password_reset_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_password_reset_token_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_reset_token_token_hash'))
    )
    with op.batch_alter_table('password_reset_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_token_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('password_reset_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_token_user_id'))

    op.drop_table('password_reset_token')
    with op.batch_alter_table('password_reset_request', schema=None) as batch_op:
        batch_op.drop_index('ix_password_reset_request_ip_at')
        batch_op.drop_index(batch_op.f('ix_password_reset_request_at'))
        batch_op.drop_index('ix_password_reset_request_account_key_at')

    op.drop_table('password_reset_request')
