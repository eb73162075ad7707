"""Several randomisations per study (named by a key) and split-body designs (zones, products).

Revision ID: ab9506919a7e
Revises: 5a7c3e9d1f42
Create Date: 2026-12-04 11:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'ab9506919a7e'
down_revision: str | None = '5a7c3e9d1f42'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_METHODS = ('simple', 'blocks', 'stratified', 'efron', 'minimisation')
NEW_METHODS = (*OLD_METHODS, 'latin_square', 'permutations')


def _method(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values, name='randomisation_method', native_enum=False, create_constraint=True, length=20
    )


def upgrade() -> None:
    with op.batch_alter_table('randomisation_design', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=40), server_default='main', nullable=False))
        batch_op.add_column(sa.Column('name', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('zones', sa.JSON(), nullable=True))
        batch_op.drop_constraint(op.f('uq_randomisation_design_study_id'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_randomisation_design_study_id_key'), ['study_id', 'key']
        )
        batch_op.drop_constraint(op.f('ck_randomisation_design_randomisation_method'), type_='check')
        batch_op.alter_column(
            'method', existing_type=sa.String(length=20), type_=_method(NEW_METHODS),
            existing_nullable=False,
        )
    with op.batch_alter_table('randomisation_slot', schema=None) as batch_op:
        batch_op.alter_column(
            'arm', existing_type=sa.String(length=40), type_=sa.String(length=400),
            existing_nullable=False,
        )
    with op.batch_alter_table('randomisation', schema=None) as batch_op:
        batch_op.alter_column(
            'arm', existing_type=sa.String(length=40), type_=sa.String(length=400),
            existing_nullable=False,
        )
        batch_op.drop_constraint(op.f('uq_randomisation_subject_id_environment'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_randomisation_design_id_subject_id_environment'),
            ['design_id', 'subject_id', 'environment'],
        )


def downgrade() -> None:
    with op.batch_alter_table('randomisation', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('uq_randomisation_design_id_subject_id_environment'), type_='unique'
        )
        batch_op.create_unique_constraint(
            'uq_randomisation_subject_id_environment', ['subject_id', 'environment']
        )
        batch_op.alter_column(
            'arm', existing_type=sa.String(length=400), type_=sa.String(length=40),
            existing_nullable=False,
        )
    with op.batch_alter_table('randomisation_slot', schema=None) as batch_op:
        batch_op.alter_column(
            'arm', existing_type=sa.String(length=400), type_=sa.String(length=40),
            existing_nullable=False,
        )
    with op.batch_alter_table('randomisation_design', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_randomisation_design_randomisation_method'), type_='check')
        batch_op.alter_column(
            'method', existing_type=sa.String(length=20), type_=_method(OLD_METHODS),
            existing_nullable=False,
        )
        batch_op.drop_constraint(batch_op.f('uq_randomisation_design_study_id_key'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_randomisation_design_study_id'), ['study_id'])
        batch_op.drop_column('zones')
        batch_op.drop_column('name')
        batch_op.drop_column('key')
