"""Throttled attempts carry their purpose (sign-in, subject link, application, evaluation):
each purpose slows an address down on its own count. Attempts already recorded (kept a day at
most) count as sign-ins.

Revision ID: d41b7c2e9a15
Revises: b4e81d2c6f37
Create Date: 2026-12-04 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "d41b7c2e9a15"
down_revision: str | None = "b4e81d2c6f37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bucket", sa.String(length=20), server_default="sign-in", nullable=False)
        )
        batch_op.drop_index("ix_login_attempt_ip_at")
        batch_op.create_index("ix_login_attempt_bucket_ip_at", ["bucket", "ip", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_bucket_ip_at")
        batch_op.create_index("ix_login_attempt_ip_at", ["ip", "at"], unique=False)
        batch_op.drop_column("bucket")
