"""Staff notifications (a kind and its parameters, worded when read) and each person's choice
of in-app and daily-mail notification per kind.

Revision ID: 248f8a22f543
Revises: 265fc9add26e
Create Date: 2026-12-04 07:39:16.673170
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "248f8a22f543"
down_revision: str | None = "265fc9add26e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_choice",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "query_raised",
                "query_answered",
                "form_to_verify",
                "form_to_lock",
                "form_to_sign",
                "export_ready",
                "message_posted",
                name="notification_choice_kind",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("by_mail", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_notification_choice_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_notification_choice")),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "query_raised",
                "query_answered",
                "form_to_verify",
                "form_to_lock",
                "form_to_sign",
                "export_ready",
                "message_posted",
                name="notification_kind",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("form_instance_id", sa.Integer(), nullable=True),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("by_mail", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["form_instance_id"],
            ["form_instance.id"],
            name=op.f("fk_notification_form_instance_id_form_instance"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_notification_site_id_site")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "study_id"],
            ["study.tenant_id", "study.id"],
            name=op.f("fk_notification_tenant_id_study_id_study"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_notification_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_user_id_created_at", ["user_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_notification_user_id_read_at", ["user_id", "read_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_user_id_read_at")
        batch_op.drop_index("ix_notification_user_id_created_at")

    op.drop_table("notification")
    op.drop_table("notification_choice")
