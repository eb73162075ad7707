"""A lock or freeze of a whole visit or casebook (so it covers what is added later), and
per-study counters numbering queries and versions under concurrency.

Counters are seeded on first use from the highest number stored; visits and subjects start
open: a casebook locked before this revision is locked as a whole once locked again.

Revision ID: 1f4e538bd8cc
Revises: 759cb2455738
Create Date: 2026-12-03 21:03:32.823974
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '1f4e538bd8cc'
down_revision: str | None = '759cb2455738'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('study_counter',
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_study_counter_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('study_id', 'name', name=op.f('pk_study_counter'))
    )
    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lock_state', sa.Enum('open', 'frozen', 'locked', name='subject_lock_state', native_enum=False, create_constraint=True, length=20), server_default='open', nullable=False))

    with op.batch_alter_table('visit_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lock_state', sa.Enum('open', 'frozen', 'locked', name='visit_lock_state', native_enum=False, create_constraint=True, length=20), server_default='open', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('visit_instance', schema=None) as batch_op:
        batch_op.drop_constraint('visit_lock_state', type_='check')
        batch_op.drop_column('lock_state')

    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.drop_constraint('subject_lock_state', type_='check')
        batch_op.drop_column('lock_state')

    op.drop_table('study_counter')
