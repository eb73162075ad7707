"""Job outbox: when a pending job is sent again (a retry backing off over seconds).

Revision ID: 5c1e7a9d2b40
Revises: 8ea7605cc719
Create Date: 2026-12-03 21:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "5c1e7a9d2b40"
down_revision: str | None = "8ea7605cc719"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "retry_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
            )
        )
        batch_op.drop_index("ix_job_outbox_state_created_at")
        batch_op.create_index("ix_job_outbox_state_retry_at", ["state", "retry_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_job_outbox_state_retry_at")
        batch_op.create_index(
            "ix_job_outbox_state_created_at", ["state", "created_at"], unique=False
        )
        batch_op.drop_column("retry_at")
