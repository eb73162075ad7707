"""Review: SDV marks per value, review stamp, freeze/lock and signature state per form, and the
electronic signatures with the forms they cover.

Revision ID: 8ea7605cc719
Revises: 096d0a314b1b
Create Date: 2026-11-22 05:30:37.916672
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '8ea7605cc719'
down_revision: str | None = 'e2ade41e0364'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('signature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Enum('form', 'visit', 'casebook', name='signature_scope', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('visit_instance_id', sa.Integer(), nullable=True),
    sa.Column('form_instance_id', sa.Integer(), nullable=True),
    sa.Column('signer_id', sa.Integer(), nullable=False),
    sa.Column('signer_name', sa.String(length=200), nullable=False),
    sa.Column('meaning', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('audit_event_id', sa.BigInteger(), nullable=False),
    sa.Column('broken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('broken_event_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['form_instance_id'], ['form_instance.id'], name=op.f('fk_signature_form_instance_id_form_instance')),
    sa.ForeignKeyConstraint(['signer_id'], ['user_account.id'], name=op.f('fk_signature_signer_id_user_account')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_signature_subject_id_subject')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_signature_tenant_id_study_id_study')),
    sa.ForeignKeyConstraint(['visit_instance_id'], ['visit_instance.id'], name=op.f('fk_signature_visit_instance_id_visit_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signature'))
    )
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.create_index('ix_signature_subject_id', ['subject_id'], unique=False)

    op.create_table('signed_form',
    sa.Column('signature_id', sa.Integer(), nullable=False),
    sa.Column('form_instance_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['form_instance_id'], ['form_instance.id'], name=op.f('fk_signed_form_form_instance_id_form_instance')),
    sa.ForeignKeyConstraint(['signature_id'], ['signature.id'], name=op.f('fk_signed_form_signature_id_signature')),
    sa.PrimaryKeyConstraint('signature_id', 'form_instance_id', name=op.f('pk_signed_form'))
    )
    with op.batch_alter_table('signed_form', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signed_form_form_instance_id'), ['form_instance_id'], unique=False)

    with op.batch_alter_table('form_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sdv_status', sa.Enum('not_required', 'awaiting', 'verified', 'changed', name='sdv_status', native_enum=False, create_constraint=True, length=20), server_default='not_required', nullable=False))
        batch_op.add_column(sa.Column('review_status', sa.Enum('awaiting', 'reviewed', 'changed', name='review_status', native_enum=False, create_constraint=True, length=20), server_default='awaiting', nullable=False))
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('lock_state', sa.Enum('open', 'frozen', 'locked', name='lock_state', native_enum=False, create_constraint=True, length=20), server_default='open', nullable=False))
        batch_op.add_column(sa.Column('signature_state', sa.Enum('unsigned', 'signed', 'broken', name='signature_state', native_enum=False, create_constraint=True, length=20), server_default='unsigned', nullable=False))
        batch_op.create_index('ix_form_instance_site_id_sdv_status', ['site_id', 'sdv_status'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_form_instance_reviewed_by_id_user_account'), 'user_account', ['reviewed_by_id'], ['id'])

    with op.batch_alter_table('item_value', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sdv_required', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('verified_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sdv_changed', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_item_value_verified_by_id_user_account'), 'user_account', ['verified_by_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('item_value', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_item_value_verified_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('sdv_changed')
        batch_op.drop_column('verified_by_id')
        batch_op.drop_column('verified_at')
        batch_op.drop_column('sdv_required')

    with op.batch_alter_table('form_instance', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_form_instance_reviewed_by_id_user_account'), type_='foreignkey')
        batch_op.drop_index('ix_form_instance_site_id_sdv_status')
        for name in ('signature_state', 'lock_state', 'review_status', 'sdv_status'):
            batch_op.drop_constraint(name, type_='check')
        batch_op.drop_column('signature_state')
        batch_op.drop_column('lock_state')
        batch_op.drop_column('reviewed_by_id')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('review_status')
        batch_op.drop_column('sdv_status')

    with op.batch_alter_table('signed_form', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signed_form_form_instance_id'))

    op.drop_table('signed_form')
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_index('ix_signature_subject_id')

    op.drop_table('signature')
