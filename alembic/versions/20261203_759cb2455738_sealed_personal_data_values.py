"""Personal-data item values sealed at rest: the sealed value, its key and nonce, and a keyed
fingerprint (indexed where present) beside ``item_value.value``.

The values already stored in plain text are sealed by ``datacapt db upgrade`` right after this
revision (``datacapt keys seal-items``): sealing needs the encryption keys, which belong to the
app's settings and environment, not to a migration script.

Revision ID: 759cb2455738
Revises: 5c1f0a9d2e7b
Create Date: 2026-12-03 21:03:35.447541
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "759cb2455738"
down_revision: str | None = "5c1f0a9d2e7b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = sa.text("value_fingerprint IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("item_value", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_key_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("sealed_nonce", sa.LargeBinary(length=16), nullable=True))
        batch_op.add_column(sa.Column("sealed_value", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("value_fingerprint", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_item_value_value_fingerprint",
            ["value_fingerprint"],
            unique=False,
            postgresql_where=WHERE,
            sqlite_where=WHERE,
        )


def downgrade() -> None:
    sealed = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM item_value WHERE sealed_value IS NOT NULL")
    )
    if sealed:
        raise RuntimeError(
            f"{sealed} personal-data value(s) are sealed: going back would lose them"
        )
    with op.batch_alter_table("item_value", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_item_value_value_fingerprint", postgresql_where=WHERE, sqlite_where=WHERE
        )
        batch_op.drop_column("value_fingerprint")
        batch_op.drop_column("sealed_value")
        batch_op.drop_column("sealed_nonce")
        batch_op.drop_column("sealed_key_id")
