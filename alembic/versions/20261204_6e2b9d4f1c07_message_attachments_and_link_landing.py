"""Files sent with messages (checked and stored by the upload rules, never changed nor deleted,
as their messages), and the page of the subject's area a one-time link leads to.

Revision ID: 6e2b9d4f1c07
Revises: 5d3a1c7e9b42
Create Date: 2026-12-04 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "6e2b9d4f1c07"
down_revision: str | None = "5d3a1c7e9b42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRESQL_UP = [
    """
    CREATE TRIGGER message_attachment_append_only BEFORE UPDATE OR DELETE ON message_attachment
    FOR EACH ROW EXECUTE FUNCTION message_kept()
    """,
]
POSTGRESQL_DOWN = ["DROP TRIGGER message_attachment_append_only ON message_attachment"]
SQLITE_UP = [
    """
    CREATE TRIGGER message_attachment_no_update BEFORE UPDATE ON message_attachment
    BEGIN SELECT RAISE(ABORT, 'messages are never changed nor deleted'); END
    """,
    """
    CREATE TRIGGER message_attachment_no_delete BEFORE DELETE ON message_attachment
    BEGIN SELECT RAISE(ABORT, 'messages are never changed nor deleted'); END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER message_attachment_no_delete",
    "DROP TRIGGER message_attachment_no_update",
]


def _run(postgresql: list[str], sqlite: list[str]) -> None:
    dialect = op.get_bind().dialect.name
    statements = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if statements is None:
        raise NotImplementedError(f"no triggers written for {dialect}")
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "message_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.id"], name=op.f("fk_message_attachment_message_id_message")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_attachment")),
        sa.UniqueConstraint("storage_name", name=op.f("uq_message_attachment_storage_name")),
    )
    with op.batch_alter_table("message_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_attachment_message_id"), ["message_id"], unique=False
        )
    with op.batch_alter_table("subject_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("landing", sa.String(length=100), nullable=True))
    _run(POSTGRESQL_UP, SQLITE_UP)


def downgrade() -> None:
    _run(POSTGRESQL_DOWN, SQLITE_DOWN)
    with op.batch_alter_table("subject_link", schema=None) as batch_op:
        batch_op.drop_column("landing")
    with op.batch_alter_table("message_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_attachment_message_id"))
    op.drop_table("message_attachment")
