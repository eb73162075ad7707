"""Subject repository: persons (sealed under per-person data keys wrapped by the tenant's KEK),
their links to study subjects, the log of personal-data reads, erasure requests, access bundles,
retention policies and runs; the data protection officer's tenant role.

Revision ID: 876a870f7e7b
Revises: ab9506919a7e
Create Date: 2026-12-04 11:27:24.614713
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '876a870f7e7b'
down_revision: str | None = 'ab9506919a7e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('repository_kek',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('master_key_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_repository_kek_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('tenant_id', 'generation', name=op.f('pk_repository_kek'))
    )
    op.create_table('retention_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_retention_policy_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_policy')),
    sa.UniqueConstraint('tenant_id', 'category', name=op.f('uq_retention_policy_tenant_id_category'))
    )
    op.create_table('retention_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('ran_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_retention_run_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_run'))
    )
    with op.batch_alter_table('retention_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_run_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('nonce', sa.LargeBinary(length=16), nullable=True),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('name_index', sa.String(length=64), nullable=True),
    sa.Column('last_name_index', sa.String(length=64), nullable=True),
    sa.Column('email_index', sa.String(length=64), nullable=True),
    sa.Column('legal_hold', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('legal_hold_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('shredded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_person_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['study_id', 'site_id'], ['site.study_id', 'site.id'], name=op.f('fk_person_study_id_site_id_site')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_person_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('tenant_id', 'reference', name=op.f('uq_person_tenant_id_reference'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_person_tenant_id_email_index', ['tenant_id', 'email_index'], unique=False)
        batch_op.create_index('ix_person_tenant_id_last_name_index', ['tenant_id', 'last_name_index'], unique=False)
        batch_op.create_index('ix_person_tenant_id_name_index', ['tenant_id', 'name_index'], unique=False)

    op.create_table('access_bundle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('queued', 'ready', 'released', 'failed', name='bundle_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('json_nonce', sa.LargeBinary(length=16), nullable=True),
    sa.Column('json_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('pdf_nonce', sa.LargeBinary(length=16), nullable=True),
    sa.Column('pdf_sealed', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_access_bundle_person_id_person')),
    sa.ForeignKeyConstraint(['released_by_id'], ['user_account.id'], name=op.f('fk_access_bundle_released_by_id_user_account')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_access_bundle_requested_by_id_user_account')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_access_bundle_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_bundle'))
    )
    with op.batch_alter_table('access_bundle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_bundle_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_bundle_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('erasure_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'erased', 'refused', name='erasure_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('enrolled', sa.Boolean(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_erasure_request_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_erasure_request_person_id_person')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_erasure_request_requested_by_id_user_account')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_erasure_request_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_request'))
    )
    with op.batch_alter_table('erasure_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasure_request_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erasure_request_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('person_key',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('kek_generation', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.LargeBinary(length=16), nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_person_key_person_id_person')),
    sa.ForeignKeyConstraint(['tenant_id', 'kek_generation'], ['repository_kek.tenant_id', 'repository_kek.generation'], name=op.f('fk_person_key_tenant_id_kek_generation_repository_kek')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_person_key'))
    )
    with op.batch_alter_table('person_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_key_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('person_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_person_link_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_person_link_person_id_person')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_person_link_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_link')),
    sa.UniqueConstraint('subject_id', name=op.f('uq_person_link_subject_id'))
    )
    with op.batch_alter_table('person_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_link_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_link_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('pii_access',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('fields', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_pii_access_person_id_person')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_pii_access_subject_id_subject')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_pii_access_tenant_id_tenant')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_pii_access_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pii_access'))
    )
    with op.batch_alter_table('pii_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pii_access_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pii_access_subject_id'), ['subject_id'], unique=False)
        batch_op.create_index('ix_pii_access_tenant_id_at', ['tenant_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pii_access_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('tenant_role', schema=None) as batch_op:
        batch_op.drop_constraint('tenant_role_name', type_='check')
        batch_op.create_check_constraint('tenant_role_name', "role IN ('tenant_admin', 'dpo')")


def downgrade() -> None:
    op.execute("DELETE FROM tenant_role WHERE role = 'dpo'")
    with op.batch_alter_table('tenant_role', schema=None) as batch_op:
        batch_op.drop_constraint('tenant_role_name', type_='check')
        batch_op.create_check_constraint('tenant_role_name', "role IN ('tenant_admin')")
    with op.batch_alter_table('pii_access', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pii_access_user_id'))
        batch_op.drop_index('ix_pii_access_tenant_id_at')
        batch_op.drop_index(batch_op.f('ix_pii_access_subject_id'))
        batch_op.drop_index(batch_op.f('ix_pii_access_person_id'))

    op.drop_table('pii_access')
    with op.batch_alter_table('person_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_link_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_person_link_person_id'))

    op.drop_table('person_link')
    with op.batch_alter_table('person_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_key_tenant_id'))

    op.drop_table('person_key')
    with op.batch_alter_table('erasure_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasure_request_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_erasure_request_person_id'))

    op.drop_table('erasure_request')
    with op.batch_alter_table('access_bundle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_bundle_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_access_bundle_person_id'))

    op.drop_table('access_bundle')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_tenant_id_name_index')
        batch_op.drop_index('ix_person_tenant_id_last_name_index')
        batch_op.drop_index('ix_person_tenant_id_email_index')
        batch_op.drop_index(batch_op.f('ix_person_tenant_id'))

    op.drop_table('person')
    with op.batch_alter_table('retention_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_run_tenant_id'))

    op.drop_table('retention_run')
    op.drop_table('retention_policy')
    op.drop_table('repository_kek')
