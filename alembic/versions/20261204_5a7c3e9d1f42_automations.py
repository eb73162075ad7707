"""Automations: rules, their runs (outbox and log), the tasks they create, and the triggers
a study's rules wait for.

Revision ID: 5a7c3e9d1f42
Revises: 50f3a5cbf24e
Create Date: 2026-12-04 11:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a7c3e9d1f42"
down_revision: str | None = "50f3a5cbf24e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "automation_triggers", sa.String(length=400), server_default="", nullable=False
            )
        )
    op.create_table(
        "automation_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("trigger", sa.String(length=40), nullable=False),
        sa.Column("item", sa.String(length=100), nullable=True),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("delay_minutes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "study_id"],
            ["study.tenant_id", "study.id"],
            name=op.f("fk_automation_rule_tenant_id_study_id_study"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rule")),
    )
    with op.batch_alter_table("automation_rule", schema=None) as batch_op:
        batch_op.create_index(
            "ix_automation_rule_study_id_trigger", ["study_id", "trigger"], unique=False
        )

    op.create_table(
        "automation_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("trigger", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "done",
                "skipped",
                "failed",
                name="automation_run_state",
                native_enum=False,
                create_constraint=True,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=300), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["automation_rule.id"],
            name=op.f("fk_automation_run_rule_id_automation_rule"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_automation_run_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_run")),
        sa.UniqueConstraint(
            "rule_id", "event_key", name=op.f("uq_automation_run_rule_id_event_key")
        ),
    )
    with op.batch_alter_table("automation_run", schema=None) as batch_op:
        batch_op.create_index("ix_automation_run_state_due_at", ["state", "due_at"], unique=False)
        batch_op.create_index(
            "ix_automation_run_study_id_created_at", ["study_id", "created_at"], unique=False
        )

    op.create_table(
        "automation_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=40), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["automation_run.id"], name=op.f("fk_automation_task_run_id_automation_run")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_automation_task_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_task")),
        sa.UniqueConstraint("run_id", name=op.f("uq_automation_task_run_id")),
    )
    with op.batch_alter_table("automation_task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_automation_task_study_id_audience", ["study_id", "audience"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("automation_task", schema=None) as batch_op:
        batch_op.drop_index("ix_automation_task_study_id_audience")
    op.drop_table("automation_task")
    with op.batch_alter_table("automation_run", schema=None) as batch_op:
        batch_op.drop_index("ix_automation_run_study_id_created_at")
        batch_op.drop_index("ix_automation_run_state_due_at")
    op.drop_table("automation_run")
    with op.batch_alter_table("automation_rule", schema=None) as batch_op:
        batch_op.drop_index("ix_automation_rule_study_id_trigger")
    op.drop_table("automation_rule")
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.drop_column("automation_triggers")
