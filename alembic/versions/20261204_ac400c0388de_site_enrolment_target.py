"""Sites' enrolment targets: how many subjects each means to enrol (none until set).

Revision ID: ac400c0388de
Revises: 6d2a9c41e8b7
Create Date: 2026-12-04 01:23:06.295826
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'ac400c0388de'
down_revision: str | None = '6d2a9c41e8b7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_enrolment', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('target_enrolment')
