"""A subject says whether it holds a valid signature, so that a save of a subject never signed
asks for no signature to break. Backfilled from the signatures not broken.

Revision ID: 5a7e0c1d9b42
Revises: e52c8d3f0b26
Create Date: 2026-12-04 18:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "5a7e0c1d9b42"
down_revision: str | None = "e52c8d3f0b26"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN (a batch would copy the table, which rows of others refer to)
    op.add_column(
        "subject", sa.Column("signed", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.execute(
        "UPDATE subject SET signed = TRUE WHERE EXISTS (SELECT 1 FROM signature"
        " WHERE signature.subject_id = subject.id AND signature.broken_at IS NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.drop_column("signed")
