"""Recruitment: recruitments of a study (target, sites, period, pre-screening form, criteria,
public token), their applications (a person of the repository, answers, eligibility, override,
pipeline state) with the history of their moves; mailings to persons of the repository who
opted in to future contact (the person's flag).

Revision ID: be2f21d3d388
Revises: a7c3e5f19d20
Create Date: 2026-12-04 14:39:48.374372
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "be2f21d3d388"
down_revision: str | None = "a7c3e5f19d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recruitment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "closed",
                name="recruitment_state",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_recruitment_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "study_id"],
            ["study.tenant_id", "study.id"],
            name=op.f("fk_recruitment_tenant_id_study_id_study"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recruitment")),
        sa.UniqueConstraint("study_id", "number", name=op.f("uq_recruitment_study_id_number")),
        sa.UniqueConstraint("token", name=op.f("uq_recruitment_token")),
    )
    with op.batch_alter_table("recruitment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recruitment_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "recruitment_site",
        sa.Column("recruitment_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recruitment_id"],
            ["recruitment.id"],
            name=op.f("fk_recruitment_site_recruitment_id_recruitment"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_recruitment_site_site_id_site")
        ),
        sa.PrimaryKeyConstraint("recruitment_id", "site_id", name=op.f("pk_recruitment_site")),
    )
    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("recruitment_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=True),
        sa.Column("eligibility_reason", sa.Text(), nullable=False),
        sa.Column("override", sa.Boolean(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("override_by_id", sa.Integer(), nullable=True),
        sa.Column("override_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "applied",
                "prescreened",
                "contacted",
                "screening_booked",
                "enrolled",
                "screen_failed",
                "withdrawn",
                name="application_state",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "submitted_at",
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
            ["override_by_id"],
            ["user_account.id"],
            name=op.f("fk_application_override_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_application_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["recruitment_id"],
            ["recruitment.id"],
            name=op.f("fk_application_recruitment_id_recruitment"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_application_site_id_site")),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_application_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_application_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application")),
    )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_application_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            "ix_application_recruitment_id_state_id",
            ["recruitment_id", "state", "id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_application_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "application_move",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_application_move_application_id_application"),
        ),
        sa.ForeignKeyConstraint(
            ["by_id"], ["user_account.id"], name=op.f("fk_application_move_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_move")),
    )
    with op.batch_alter_table("application_move", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_move_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "recruitment_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("recruitment_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "sent",
                name="campaign_state",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recruitment_id"],
            ["recruitment.id"],
            name=op.f("fk_recruitment_campaign_recruitment_id_recruitment"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["user_account.id"],
            name=op.f("fk_recruitment_campaign_requested_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recruitment_campaign")),
    )
    with op.batch_alter_table("recruitment_campaign", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recruitment_campaign_recruitment_id"), ["recruitment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recruitment_campaign_tenant_id"), ["tenant_id"], unique=False
        )

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("contact_opt_in", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("contact_opt_in")

    with op.batch_alter_table("recruitment_campaign", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recruitment_campaign_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_recruitment_campaign_recruitment_id"))

    op.drop_table("recruitment_campaign")

    with op.batch_alter_table("application_move", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_move_application_id"))

    op.drop_table("application_move")
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_tenant_id"))
        batch_op.drop_index("ix_application_recruitment_id_state_id")
        batch_op.drop_index(batch_op.f("ix_application_person_id"))

    op.drop_table("application")
    op.drop_table("recruitment_site")
    with op.batch_alter_table("recruitment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recruitment_tenant_id"))

    op.drop_table("recruitment")
