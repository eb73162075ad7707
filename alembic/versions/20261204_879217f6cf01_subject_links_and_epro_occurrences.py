"""Subjects reach their questionnaires by link: ePRO occurrences, one-time links and subject
sessions (tokens stored hashed); audit events name a subject who acted themself.

Revision ID: 879217f6cf01
Revises: 38b05f1a37f5
Create Date: 2026-12-04 07:41:59.623062
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "879217f6cf01"
down_revision: str | None = "38b05f1a37f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "epro_occurrence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("visit", sa.String(length=100), nullable=False),
        sa.Column("visit_repeat", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=100), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "sent",
                "started",
                "completed",
                "missed",
                name="epro_occurrence_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("application_url", sa.String(length=300), nullable=True),
        sa.Column("mails_sent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_epro_occurrence_subject_id_subject")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "study_id"],
            ["study.tenant_id", "study.id"],
            name=op.f("fk_epro_occurrence_tenant_id_study_id_study"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epro_occurrence")),
    )
    with op.batch_alter_table("epro_occurrence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_epro_occurrence_study_id"), ["study_id"], unique=False)
        batch_op.create_index(
            "ix_epro_occurrence_subject_id_opens_at", ["subject_id", "opens_at"], unique=False
        )

    op.create_table(
        "subject_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_subject_link_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["epro_occurrence.id"],
            name=op.f("fk_subject_link_occurrence_id_epro_occurrence"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_subject_link_subject_id_subject")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "study_id"],
            ["study.tenant_id", "study.id"],
            name=op.f("fk_subject_link_tenant_id_study_id_study"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_subject_link_token_hash")),
    )
    with op.batch_alter_table("subject_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subject_link_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "subject_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["subject_link.id"], name=op.f("fk_subject_session_link_id_subject_link")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_subject_session_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_subject_session_token_hash")),
    )
    with op.batch_alter_table("subject_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subject_session_subject_id"), ["subject_id"], unique=False
        )

    # In place (no batch copy): the table's append-only triggers must stay.
    op.add_column("audit_event", sa.Column("by_subject_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_event", "by_subject_id")  # SQLite 3.35+ drops it in place

    with op.batch_alter_table("subject_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_session_subject_id"))

    op.drop_table("subject_session")
    with op.batch_alter_table("subject_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_link_subject_id"))

    op.drop_table("subject_link")
    with op.batch_alter_table("epro_occurrence", schema=None) as batch_op:
        batch_op.drop_index("ix_epro_occurrence_subject_id_opens_at")
        batch_op.drop_index(batch_op.f("ix_epro_occurrence_study_id"))

    op.drop_table("epro_occurrence")
