"""Payments: compensation plans, subjects' sealed bank details, payment orders and lines,
and the append-only payment ledger (triggers refuse UPDATE and DELETE on both databases).

Revision ID: 50f3a5cbf24e
Revises: 5e1f0a7b9c31
Create Date: 2026-12-04 11:24:52.837309
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '50f3a5cbf24e'
down_revision: str | None = '5e1f0a7b9c31'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "the payment ledger is append-only"
POSTGRESQL_UP = [
    f"""
    CREATE FUNCTION payment_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{APPEND_ONLY}';
    END $$
    """,
    """
    CREATE TRIGGER payment_ledger_append_only BEFORE UPDATE OR DELETE ON payment_ledger
    FOR EACH ROW EXECUTE FUNCTION payment_ledger_append_only()
    """,
    """
    CREATE TRIGGER payment_ledger_no_truncate BEFORE TRUNCATE ON payment_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION payment_ledger_append_only()
    """,
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER payment_ledger_no_truncate ON payment_ledger",
    "DROP TRIGGER payment_ledger_append_only ON payment_ledger",
    "DROP FUNCTION payment_ledger_append_only()",
]
SQLITE_UP = [
    f"""
    CREATE TRIGGER payment_ledger_no_update BEFORE UPDATE ON payment_ledger
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END
    """,
    f"""
    CREATE TRIGGER payment_ledger_no_delete BEFORE DELETE ON payment_ledger
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER payment_ledger_no_delete",
    "DROP TRIGGER payment_ledger_no_update",
]


def _run(postgresql: list[str], sqlite: list[str]) -> None:
    dialect = op.get_bind().dialect.name
    statements = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if statements is None:
        raise NotImplementedError(f"no triggers written for {dialect}")
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    op.create_table('payment_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'validated', 'exported', 'paid', name='payment_order_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('validated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_payment_order_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_payment_order_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_order')),
    sa.UniqueConstraint('study_id', 'number', name=op.f('uq_payment_order_study_id_number'))
    )
    op.create_table('payment_plan',
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('completion_cents', sa.BigInteger(), nullable=True),
    sa.Column('debtor_name', sa.String(length=70), server_default='', nullable=False),
    sa.Column('debtor_iban', sa.String(length=34), server_default='', nullable=False),
    sa.Column('debtor_bic', sa.String(length=11), server_default='', nullable=False),
    sa.Column('reference', sa.String(length=100), server_default='', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'study_id'], ['study.tenant_id', 'study.id'], name=op.f('fk_payment_plan_tenant_id_study_id_study')),
    sa.PrimaryKeyConstraint('study_id', name=op.f('pk_payment_plan'))
    )
    op.create_table('payment_plan_visit',
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('visit', sa.String(length=100), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['payment_plan.study_id'], name=op.f('fk_payment_plan_visit_study_id_payment_plan')),
    sa.PrimaryKeyConstraint('study_id', 'visit', name=op.f('pk_payment_plan_visit'))
    )
    op.create_table('payment_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('earning', sa.String(length=120), nullable=False),
    sa.Column('planned_cents', sa.BigInteger(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_payment_line_order_id_payment_order')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_payment_line_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_line')),
    sa.UniqueConstraint('study_id', 'subject_id', 'earning', name=op.f('uq_payment_line_study_id_subject_id_earning'))
    )
    with op.batch_alter_table('payment_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_line_order_id'), ['order_id'], unique=False)

    op.create_table('subject_bank_account',
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('nonce', sa.LargeBinary(length=16), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('masked', sa.String(length=40), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_subject_bank_account_subject_id_subject')),
    sa.PrimaryKeyConstraint('subject_id', name=op.f('pk_subject_bank_account'))
    )
    with op.batch_alter_table('subject_bank_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subject_bank_account_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('payment_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('credited', 'paid', name='payment_ledger_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['line_id'], ['payment_line.id'], name=op.f('fk_payment_ledger_line_id_payment_line')),
    sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_payment_ledger_order_id_payment_order')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_payment_ledger_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_payment_ledger_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_ledger'))
    )
    with op.batch_alter_table('payment_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_ledger_study_id'), ['study_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_ledger_subject_id'), ['subject_id'], unique=False)

    _run(POSTGRESQL_UP, SQLITE_UP)


def downgrade() -> None:
    _run(POSTGRESQL_DOWN, SQLITE_DOWN)
    with op.batch_alter_table('payment_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_ledger_subject_id'))
        batch_op.drop_index(batch_op.f('ix_payment_ledger_study_id'))

    op.drop_table('payment_ledger')
    with op.batch_alter_table('subject_bank_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subject_bank_account_tenant_id'))

    op.drop_table('subject_bank_account')
    with op.batch_alter_table('payment_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_line_order_id'))

    op.drop_table('payment_line')
    op.drop_table('payment_plan_visit')
    op.drop_table('payment_plan')
    op.drop_table('payment_order')
