"""Subjects and data entry: visit and form instances, values, warnings, encrypted contacts,
subject ID patterns and missing-data codes.

Revision ID: 9291efc3467c
Revises: e840f7f59109
Create Date: 2026-11-22 04:41:48.263172
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9291efc3467c'
down_revision: str | None = 'e840f7f59109'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Given to the studies that exist when this runs (the model's default, frozen here).
DEFAULT_MISSING_CODES = [
    ["NA", "Not applicable"], ["NK", "Not known"], ["ND", "Not done"], ["NASK", "Not asked"],
]


def upgrade() -> None:
    op.create_table('subject_contact',
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('nonce', sa.LargeBinary(length=16), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_subject_contact_subject_id_subject')),
    sa.PrimaryKeyConstraint('subject_id', name=op.f('pk_subject_contact'))
    )
    with op.batch_alter_table('subject_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subject_contact_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('visit_instance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('visit', sa.String(length=100), nullable=False),
    sa.Column('repeat', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_visit_instance_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_visit_instance_subject_id_subject')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_visit_instance_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_instance')),
    sa.UniqueConstraint('subject_id', 'visit', 'repeat', name=op.f('uq_visit_instance_subject_id_visit_repeat'))
    )
    with op.batch_alter_table('visit_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_instance_study_id'), ['study_id'], unique=False)

    op.create_table('form_instance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('visit_instance_id', sa.Integer(), nullable=False),
    sa.Column('visit', sa.String(length=100), nullable=False),
    sa.Column('visit_repeat', sa.Integer(), nullable=False),
    sa.Column('form', sa.String(length=100), nullable=False),
    sa.Column('repeat', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('in_progress', 'complete', 'removed', name='form_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('open_queries', sa.Integer(), server_default='0', nullable=False),
    sa.Column('open_warnings', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_form_instance_subject_id_subject')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_form_instance_tenant_id_study_id_study')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_form_instance_updated_by_id_user_account')),
    sa.ForeignKeyConstraint(['visit_instance_id'], ['visit_instance.id'], name=op.f('fk_form_instance_visit_instance_id_visit_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_instance')),
    sa.UniqueConstraint('visit_instance_id', 'form', 'repeat', name=op.f('uq_form_instance_visit_instance_id_form_repeat'))
    )
    with op.batch_alter_table('form_instance', schema=None) as batch_op:
        batch_op.create_index('ix_form_instance_study_id_site_id_status', ['study_id', 'site_id', 'status'], unique=False)
        batch_op.create_index('ix_form_instance_study_id_subject_id', ['study_id', 'subject_id'], unique=False)

    op.create_table('entry_warning',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('form_instance_id', sa.Integer(), nullable=False),
    sa.Column('item_oid', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.Enum('soft_range', 'edit_check', name='warning_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('check_oid', sa.String(length=120), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['form_instance_id'], ['form_instance.id'], name=op.f('fk_entry_warning_form_instance_id_form_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_warning'))
    )
    with op.batch_alter_table('entry_warning', schema=None) as batch_op:
        batch_op.create_index('ix_entry_warning_form_instance_id_open', ['form_instance_id', 'resolved_at'], unique=False)

    op.create_table('item_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('form_instance_id', sa.Integer(), nullable=False),
    sa.Column('item_oid', sa.String(length=120), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('value_number', sa.Numeric(precision=38, scale=10), nullable=True),
    sa.Column('value_date', sa.Date(), nullable=True),
    sa.Column('missing_code', sa.String(length=10), nullable=True),
    sa.Column('audit_event_id', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['form_instance_id'], ['form_instance.id'], name=op.f('fk_item_value_form_instance_id_form_instance')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_item_value_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_value')),
    sa.UniqueConstraint('form_instance_id', 'item_oid', name=op.f('uq_item_value_form_instance_id_item_oid'))
    )
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_subject_number', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_id_pattern', sa.String(length=60), server_default='{site}-{seq:04}', nullable=False))
        batch_op.add_column(sa.Column('missing_codes', sa.JSON(), nullable=True))
    study = sa.table('study', sa.column('missing_codes', sa.JSON()))
    op.execute(study.update().values(missing_codes=DEFAULT_MISSING_CODES))
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.alter_column('missing_codes', existing_type=sa.JSON(), nullable=False)

    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('status_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_subject_created_by_id_user_account'), 'user_account', ['created_by_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_subject_created_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('status_date')
        batch_op.drop_column('status_reason')

    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('missing_codes')
        batch_op.drop_column('subject_id_pattern')

    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('next_subject_number')

    op.drop_table('item_value')
    with op.batch_alter_table('entry_warning', schema=None) as batch_op:
        batch_op.drop_index('ix_entry_warning_form_instance_id_open')

    op.drop_table('entry_warning')
    with op.batch_alter_table('form_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_form_instance_study_id_subject_id')
        batch_op.drop_index('ix_form_instance_study_id_site_id_status')

    op.drop_table('form_instance')
    with op.batch_alter_table('visit_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_instance_study_id'))

    op.drop_table('visit_instance')
    with op.batch_alter_table('subject_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subject_contact_tenant_id'))

    op.drop_table('subject_contact')
