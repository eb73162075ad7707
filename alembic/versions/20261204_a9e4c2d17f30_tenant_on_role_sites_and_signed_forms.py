"""Every row that belongs to a tenant carries it: ``study_role_site`` takes its study role's
tenant and ``signed_form`` its signature's, backfilled from those parents, then required.

Revision ID: a9e4c2d17f30
Revises: be2f21d3d388
Create Date: 2026-12-04 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "a9e4c2d17f30"
down_revision: str | None = "be2f21d3d388"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("study_role_site", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE study_role_site SET tenant_id = (SELECT study_role.tenant_id FROM study_role"
        " WHERE study_role.id = study_role_site.study_role_id)"
    )
    with op.batch_alter_table("study_role_site", schema=None) as batch_op:
        batch_op.alter_column("tenant_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_study_role_site_tenant_id_study_id_study"),
            "study",
            ["tenant_id", "study_id"],
            ["tenant_id", "id"],
        )

    with op.batch_alter_table("signed_form", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE signed_form SET tenant_id = (SELECT signature.tenant_id FROM signature"
        " WHERE signature.id = signed_form.signature_id)"
    )
    with op.batch_alter_table("signed_form", schema=None) as batch_op:
        batch_op.alter_column("tenant_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_signed_form_tenant_id_tenant"), "tenant", ["tenant_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("signed_form", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_signed_form_tenant_id_tenant"), type_="foreignkey")
        batch_op.drop_column("tenant_id")
    with op.batch_alter_table("study_role_site", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_study_role_site_tenant_id_study_id_study"), type_="foreignkey"
        )
        batch_op.drop_column("tenant_id")
