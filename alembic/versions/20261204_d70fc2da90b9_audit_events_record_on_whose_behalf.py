"""audit events record on whose behalf the system (or a person) acted

A plain ADD COLUMN on both backends: the append-only triggers of audit_event stay as they are,
and the column is hashed only when set, so every event already written keeps its hash.

Revision ID: d70fc2da90b9
Revises: 1f4e538bd8cc
Create Date: 2026-12-04 00:45:45.213617
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d70fc2da90b9"
down_revision: str | None = "1f4e538bd8cc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("on_behalf_of_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_event", "on_behalf_of_id")  # SQLite 3.35+ drops it in place
