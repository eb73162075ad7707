"""Visit dates, inclusion dates and the study's out-of-window rule: a visit's actual date, the
subject's day 0 (filled from the status date of those included already), and whether a visit
date outside its window is refused.

Revision ID: 83d17a6f16ef
Revises: ac400c0388de
Create Date: 2026-12-04 03:22:50.409642
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '83d17a6f16ef'
down_revision: str | None = 'ac400c0388de'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'visit_window_blocking', sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.add_column(sa.Column('included_on', sa.Date(), nullable=True))
    with op.batch_alter_table('visit_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit_date', sa.Date(), nullable=True))
    op.execute(
        "UPDATE subject SET included_on = status_date WHERE status = 'included'"
    )


def downgrade() -> None:
    with op.batch_alter_table('visit_instance', schema=None) as batch_op:
        batch_op.drop_column('visit_date')
    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.drop_column('included_on')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('visit_window_blocking')
