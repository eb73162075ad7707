"""Randomisation: a design per study, its test and production lists, the subjects' randomisations.

Revision ID: a88c4f21757d
Revises: 879217f6cf01
Create Date: 2026-12-04 07:42:45.236109
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a88c4f21757d'
down_revision: str | None = "879217f6cf01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('randomisation_design',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('method', sa.Enum('simple', 'blocks', 'stratified', 'efron', 'minimisation', name='randomisation_method', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('arms', sa.JSON(), nullable=False),
    sa.Column('block_sizes', sa.JSON(), nullable=False),
    sa.Column('by_site', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('measure', sa.String(length=10), nullable=False),
    sa.Column('p', sa.Float(), nullable=False),
    sa.Column('list_length', sa.Integer(), nullable=False),
    sa.Column('blinded', sa.Boolean(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('live_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_randomisation_design_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_randomisation_design')),
    sa.UniqueConstraint('study_id', name=op.f('uq_randomisation_design_study_id'))
    )
    op.create_table('randomisation_slot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('design_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('environment', sa.Enum('test', 'production', name='randomisation_environment', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('stratum', sa.String(length=400), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('arm', sa.String(length=40), nullable=False),
    sa.Column('block', sa.Integer(), nullable=True),
    sa.Column('block_size', sa.Integer(), nullable=True),
    sa.Column('imported', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['design_id'], ['randomisation_design.id'], name=op.f('fk_randomisation_slot_design_id_randomisation_design')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_randomisation_slot')),
    sa.UniqueConstraint('design_id', 'revision', 'environment', 'number', name=op.f('uq_randomisation_slot_design_id_revision_environment_number')),
    sa.UniqueConstraint('design_id', 'revision', 'environment', 'stratum', 'position', name=op.f('uq_randomisation_slot_design_id_revision_environment_stratum_position'))
    )
    op.create_table('randomisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('design_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('environment', sa.Enum('test', 'production', name='randomisation_environment', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('arm', sa.String(length=40), nullable=False),
    sa.Column('stratum', sa.String(length=400), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('randomised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('randomised_by_id', sa.Integer(), nullable=True),
    sa.Column('in_error', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('error_reason', sa.Text(), nullable=True),
    sa.Column('error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error_by_id', sa.Integer(), nullable=True),
    sa.Column('unblinded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unblinded_by_id', sa.Integer(), nullable=True),
    sa.Column('unblind_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['design_id'], ['randomisation_design.id'], name=op.f('fk_randomisation_design_id_randomisation_design')),
    sa.ForeignKeyConstraint(['error_by_id'], ['user_account.id'], name=op.f('fk_randomisation_error_by_id_user_account')),
    sa.ForeignKeyConstraint(['randomised_by_id'], ['user_account.id'], name=op.f('fk_randomisation_randomised_by_id_user_account')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_randomisation_site_id_site')),
    sa.ForeignKeyConstraint(['slot_id'], ['randomisation_slot.id'], name=op.f('fk_randomisation_slot_id_randomisation_slot')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_randomisation_subject_id_subject')),
    sa.ForeignKeyConstraint(['unblinded_by_id'], ['user_account.id'], name=op.f('fk_randomisation_unblinded_by_id_user_account')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_randomisation_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_randomisation')),
    sa.UniqueConstraint('design_id', 'revision', 'environment', 'number', name=op.f('uq_randomisation_design_id_revision_environment_number')),
    sa.UniqueConstraint('slot_id', name=op.f('uq_randomisation_slot_id')),
    sa.UniqueConstraint('subject_id', 'environment', name=op.f('uq_randomisation_subject_id_environment'))
    )
    with op.batch_alter_table('randomisation', schema=None) as batch_op:
        batch_op.create_index('ix_randomisation_study_id_environment', ['study_id', 'environment'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('randomisation', schema=None) as batch_op:
        batch_op.drop_index('ix_randomisation_study_id_environment')

    op.drop_table('randomisation')
    op.drop_table('randomisation_slot')
    op.drop_table('randomisation_design')
