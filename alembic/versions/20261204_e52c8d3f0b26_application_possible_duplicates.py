"""Persons get a blind index of their full name with their birth date, and an application
names the person of the repository it may duplicate (found by e-mail address or by that
index). Persons registered before have no such index until their details change.

Revision ID: e52c8d3f0b26
Revises: d41b7c2e9a15
Create Date: 2026-12-04 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "e52c8d3f0b26"
down_revision: str | None = "d41b7c2e9a15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_birth_index", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_person_tenant_id_name_birth_index", ["tenant_id", "name_birth_index"], unique=False
        )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_application_duplicate_of_id_person"),
            "person",
            ["duplicate_of_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_application_duplicate_of_id_person"), type_="foreignkey"
        )
        batch_op.drop_column("duplicate_of_id")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_tenant_id_name_birth_index")
        batch_op.drop_column("name_birth_index")
