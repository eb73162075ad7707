"""System query messages keep how to word them (a message id and its values, or a design text
in every language), so each reader sees them in their own language; earlier rows keep their
English body. A plain ADD COLUMN on both backends, so the append-only triggers of query_message
stay as they are.

Revision ID: 5b7e3c1d9a20
Revises: 23530e5c6c38
Create Date: 2026-12-04 03:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7e3c1d9a20"
down_revision: str | None = "23530e5c6c38"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("query_message", sa.Column("wording", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("query_message", "wording")  # SQLite 3.35+ drops it in place
