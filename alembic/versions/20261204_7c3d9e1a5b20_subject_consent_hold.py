"""A subject says why eConsent holds its data entry (``consent_hold``), so that a save of a
subject held by nothing asks no statement about consent. Backfilled from the consent records:
``withdrawn`` where a withdrawal covers further data, else ``reconsent`` where a re-consent is
pending on a record not withdrawn.

Revision ID: 7c3d9e1a5b20
Revises: 5a7e0c1d9b42
Create Date: 2026-12-04 21:10:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "7c3d9e1a5b20"
down_revision: str | None = "5a7e0c1d9b42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN (a batch would copy the table, which rows of others refer to)
    op.add_column("subject", sa.Column("consent_hold", sa.String(20), nullable=True))
    connection = op.get_bind()
    holds: dict[int, str] = {}
    for subject_id, pending, scope in connection.execute(
        sa.text(
            "SELECT subject_id, requires_reconsent, withdrawal_scope FROM consent_record"
            " WHERE requires_reconsent OR withdrawn_on IS NOT NULL"
        )
    ):
        scope = json.loads(scope) if isinstance(scope, str) else scope
        if scope and "further_data" in scope:
            holds[subject_id] = "withdrawn"
        elif pending and not scope:
            holds.setdefault(subject_id, "reconsent")
    if holds:
        connection.execute(
            sa.text("UPDATE subject SET consent_hold = :hold WHERE id = :id"),
            [{"id": subject_id, "hold": hold} for subject_id, hold in holds.items()],
        )


def downgrade() -> None:
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.drop_column("consent_hold")
