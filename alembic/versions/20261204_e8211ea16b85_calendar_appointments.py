"""Appointments, rooms, site opening hours and closures; on PostgreSQL, exclusion constraints
that refuse a double booking of a subject, a staff member or a room (cancelled ones aside).

Revision ID: e8211ea16b85
Revises: a88c4f21757d
Create Date: 2026-12-04 07:39:17.513783
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

#: Frozen here as they were created (the model's EXCLUSIONS may change later).
EXCLUSIONS = {
    'ex_appointment_subject': 'subject_id',
    'ex_appointment_staff': 'staff_id',
    'ex_appointment_room': 'room_id',
}


revision: str = 'e8211ea16b85'
down_revision: str | None = "a88c4f21757d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('room',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['study_id', 'site_id'], ['site.study_id', 'site.id'], name=op.f('fk_room_study_id_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_room')),
    sa.UniqueConstraint('site_id', 'code', name=op.f('uq_room_site_id_code')),
    sa.UniqueConstraint('site_id', 'id', name=op.f('uq_room_site_id_id'))
    )
    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_room_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_room_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('site_closure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.CheckConstraint('starts_on <= ends_on', name=op.f('ck_site_closure_ordered')),
    sa.ForeignKeyConstraint(['study_id', 'site_id'], ['site.study_id', 'site.id'], name=op.f('fk_site_closure_study_id_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_closure'))
    )
    with op.batch_alter_table('site_closure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_closure_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_closure_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('site_hours',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('hours', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['study_id', 'site_id'], ['site.study_id', 'site.id'], name=op.f('fk_site_hours_study_id_site_id_site')),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_site_hours'))
    )
    with op.batch_alter_table('site_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_hours_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('appointment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('visit', sa.String(length=60), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('proposed', 'booked', 'confirmed', 'cancelled', 'no_show', 'done', name='appointment_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('uid', sa.String(length=80), nullable=False),
    sa.Column('sequence', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_appointment_ordered')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_appointment_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['site_id', 'room_id'], ['room.site_id', 'room.id'], name=op.f('fk_appointment_site_id_room_id_room')),
    sa.ForeignKeyConstraint(['staff_id'], ['user_account.id'], name=op.f('fk_appointment_staff_id_user_account')),
    sa.ForeignKeyConstraint(['study_id', 'site_id'], ['site.study_id', 'site.id'], name=op.f('fk_appointment_study_id_site_id_site')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_appointment_subject_id_subject')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_appointment_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment')),
    sa.UniqueConstraint('uid', name=op.f('uq_appointment_uid'))
    )
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index('ix_appointment_site_id_starts_at', ['site_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_appointment_staff_id_starts_at', ['staff_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_appointment_subject_id_starts_at', ['subject_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_tenant_id'), ['tenant_id'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS btree_gist')
        for name, column in EXCLUSIONS.items():
            op.execute(
                f'ALTER TABLE appointment ADD CONSTRAINT {name} EXCLUDE USING gist '
                f'({column} WITH =, tstzrange(starts_at, ends_at) WITH &&) '
                "WHERE (status <> 'cancelled')"
            )


def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_tenant_id'))
        batch_op.drop_index('ix_appointment_subject_id_starts_at')
        batch_op.drop_index('ix_appointment_staff_id_starts_at')
        batch_op.drop_index('ix_appointment_site_id_starts_at')

    op.drop_table('appointment')
    with op.batch_alter_table('site_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_hours_tenant_id'))

    op.drop_table('site_hours')
    with op.batch_alter_table('site_closure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_closure_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_site_closure_site_id'))

    op.drop_table('site_closure')
    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_room_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_room_site_id'))

    op.drop_table('room')
