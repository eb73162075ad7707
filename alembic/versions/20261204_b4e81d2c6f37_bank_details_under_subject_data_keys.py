"""Subjects' bank details under their own data key (``subject_key``), as their contact details
are: ``subject_bank_account.key_id`` becomes NULL for a row sealed under it.

The rows sealed under a tenant-wide key are re-sealed by ``datacapt db upgrade`` right after
this revision (``datacapt keys rekey``), not here: re-sealing needs the encryption keys and the
repository's master keys, which belong to the app's settings and environment, never to a
migration script; until it runs those rows still open (their ``key_id`` says how).

Revision ID: b4e81d2c6f37
Revises: c3b8e5a0d614
Create Date: 2026-12-04 15:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4e81d2c6f37"
down_revision: str | None = "c3b8e5a0d614"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subject_bank_account", schema=None) as batch_op:
        batch_op.alter_column("key_id", existing_type=sa.String(length=40), nullable=True)


def downgrade() -> None:
    moved = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM subject_bank_account WHERE key_id IS NULL")
    )
    if moved:
        raise RuntimeError(
            f"{moved} subject bank detail record(s) are sealed under subject data keys: going "
            "back would lose them"
        )
    with op.batch_alter_table("subject_bank_account", schema=None) as batch_op:
        batch_op.alter_column("key_id", existing_type=sa.String(length=40), nullable=False)
