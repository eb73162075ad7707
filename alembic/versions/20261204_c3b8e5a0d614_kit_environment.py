"""Kits belong to a test or a production list, as randomisation's lists do: test kits are
never allocated once the randomisation is live. Kits already imported were all treated as
production ones and stay so.

Revision ID: c3b8e5a0d614
Revises: a9e4c2d17f30
Create Date: 2026-12-04 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "c3b8e5a0d614"
down_revision: str | None = "a9e4c2d17f30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "environment",
                sa.Enum(
                    "test",
                    "production",
                    name="kit_environment",
                    native_enum=False,
                    create_constraint=True,
                    length=12,
                ),
                server_default="production",
                nullable=False,
            )
        )
    with op.batch_alter_table("kit", schema=None) as batch_op:
        batch_op.alter_column("environment", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("kit", schema=None) as batch_op:
        batch_op.drop_constraint("kit_environment", type_="check")
        batch_op.drop_column("environment")
