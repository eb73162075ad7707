"""Foundation: tenants, studies, sites, subjects, users and roles, sign-in attempts, job outbox.

Revision ID: 4b330a048a09
Revises: 
Create Date: 2026-11-22 03:31:00.703037
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '4b330a048a09'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('arguments', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'done', 'failed', name='job_state', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_outbox'))
    )
    with op.batch_alter_table('job_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_job_outbox_state_created_at', ['state', 'created_at'], unique=False)

    op.create_table('login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_key', sa.String(length=64), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempt'))
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempt_account_key_at', ['account_key', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempt_at'), ['at'], unique=False)
        batch_op.create_index('ix_login_attempt_ip_at', ['ip', 'at'], unique=False)

    op.create_table('tenant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenant_slug'))
    )
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('is_system_admin', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email'))
    )
    op.create_table('study',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_study_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_study_tenant_id_code')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_study_tenant_id_id'))
    )
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('tenant_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('tenant_admin', name='tenant_role_name', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_tenant_role_tenant_id_tenant')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_tenant_role_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_role')),
    sa.UniqueConstraint('tenant_id', 'user_id', 'role', name=op.f('uq_tenant_role_tenant_id_user_id_role'))
    )
    with op.batch_alter_table('tenant_role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tenant_role_user_id'), ['user_id'], unique=False)

    op.create_table('site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_site_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site')),
    sa.UniqueConstraint('study_id', 'code', name=op.f('uq_site_study_id_code')),
    sa.UniqueConstraint('study_id', 'id', name=op.f('uq_site_study_id_id'))
    )
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_study_id'), ['study_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('study_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('study_admin', 'investigator', 'sub_investigator', 'coordinator', 'monitor', 'data_manager', 'sponsor_viewer', 'auditor', name='study_role_name', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_study_role_tenant_id_study_id_study')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_study_role_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_role')),
    sa.UniqueConstraint('study_id', 'id', name=op.f('uq_study_role_study_id_id')),
    sa.UniqueConstraint('study_id', 'user_id', 'role', name=op.f('uq_study_role_study_id_user_id_role'))
    )
    with op.batch_alter_table('study_role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_role_user_id'), ['user_id'], unique=False)

    op.create_table('study_role_site',
    sa.Column('study_role_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['study_id', 'site_id'], ['site.study_id', 'site.id'], name=op.f('fk_study_role_site_study_id_site_id_site')),
    sa.ForeignKeyConstraint(['study_id', 'study_role_id'], ['study_role.study_id', 'study_role.id'], name=op.f('fk_study_role_site_study_id_study_role_id_study_role'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('study_role_id', 'site_id', name=op.f('pk_study_role_site'))
    )
    op.create_table('subject',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('screening', 'included', 'screen_failure', 'completed', 'withdrawn', name='subject_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['study_id', 'site_id'], ['site.study_id', 'site.id'], name=op.f('fk_subject_study_id_site_id_site')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_subject_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject')),
    sa.UniqueConstraint('study_id', 'label', name=op.f('uq_subject_study_id_label'))
    )
    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.create_index('ix_subject_study_id_site_id', ['study_id', 'site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subject_tenant_id'), ['tenant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subject_tenant_id'))
        batch_op.drop_index('ix_subject_study_id_site_id')

    op.drop_table('subject')
    op.drop_table('study_role_site')
    with op.batch_alter_table('study_role', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_role_user_id'))

    op.drop_table('study_role')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_site_study_id'))

    op.drop_table('site')
    with op.batch_alter_table('tenant_role', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tenant_role_user_id'))

    op.drop_table('tenant_role')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_tenant_id'))

    op.drop_table('study')
    op.drop_table('user_account')
    op.drop_table('tenant')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempt_ip_at')
        batch_op.drop_index(batch_op.f('ix_login_attempt_at'))
        batch_op.drop_index('ix_login_attempt_account_key_at')

    op.drop_table('login_attempt')
    with op.batch_alter_table('job_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_job_outbox_state_created_at')

    op.drop_table('job_outbox')
