"""Appointment reminders: the start each appointment's staff member was reminded of.

Revision ID: 78ef1ad298ee
Revises: 3dc3d3a5ed1d
Create Date: 2026-12-04 08:11:49.512022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '78ef1ad298ee'
down_revision: str | None = '3dc3d3a5ed1d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_for', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('reminded_for')

