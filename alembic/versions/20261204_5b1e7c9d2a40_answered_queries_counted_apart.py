"""Form status rows count, among the queries not closed, those answered (shown apart from the
open ones).

Revision ID: 5b1e7c9d2a40
Revises: 5b7e3c1d9a20
Create Date: 2026-12-04 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e7c9d2a40"
down_revision: str | None = "5b7e3c1d9a20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("form_instance", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("answered_queries", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE form_instance SET answered_queries = (SELECT count(*) FROM data_query"
        " WHERE data_query.form_instance_id = form_instance.id"
        " AND data_query.state = 'answered') WHERE open_queries > 0"
    )


def downgrade() -> None:
    with op.batch_alter_table("form_instance", schema=None) as batch_op:
        batch_op.drop_column("answered_queries")
