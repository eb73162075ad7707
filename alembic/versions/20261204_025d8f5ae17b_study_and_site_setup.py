"""Studies' languages and time zone; sites' country and time zone.

Existing studies are run in English in UTC until their administrators say otherwise; existing
sites have no country and keep the study's zone.

Revision ID: 025d8f5ae17b
Revises: ac400c0388de
Create Date: 2026-12-04 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '025d8f5ae17b'
down_revision: str | None = 'ac400c0388de'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('languages', sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False)
        )
    study = sa.table('study', sa.column('languages', sa.JSON()))
    op.execute(study.update().values(languages=['en']))
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.alter_column('languages', existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('timezone')
        batch_op.drop_column('country')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('timezone')
        batch_op.drop_column('languages')
