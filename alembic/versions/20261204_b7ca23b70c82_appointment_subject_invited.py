"""Appointments remember whether the subject was sent the invitation.

Revision ID: b7ca23b70c82
Revises: 78ef1ad298ee
Create Date: 2026-12-04 08:34:41.543685
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'b7ca23b70c82'
down_revision: str | None = '78ef1ad298ee'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_invited', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('subject_invited')

