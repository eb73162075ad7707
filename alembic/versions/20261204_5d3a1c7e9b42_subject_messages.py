"""Messages between a site and a subject: the study's setting, a thread bound to one subject
(with the subject's own read mark), and a message written by the subject (exactly one author).

Revision ID: 5d3a1c7e9b42
Revises: 141620161e4a
Create Date: 2026-12-04 12:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "5d3a1c7e9b42"
down_revision: str | None = "141620161e4a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEPT = "messages are never changed nor deleted"
#: SQLite's batch mode copies a table into a new one, which drops its triggers: they are
#: dropped first and written again after (PostgreSQL keeps them through ALTER TABLE).
SQLITE_TRIGGERS = {
    "message_thread_no_delete": "BEFORE DELETE ON message_thread",
    "message_no_update": "BEFORE UPDATE ON message",
    "message_no_delete": "BEFORE DELETE ON message",
}


def _drop_sqlite_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def _create_sqlite_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, when in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN SELECT RAISE(ABORT, '{KEPT}'); END")


def upgrade() -> None:
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("subject_messages", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    _drop_sqlite_triggers()
    with op.batch_alter_table("message_thread", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("subject_read_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_message_thread_subject_id"), ["subject_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_message_thread_subject_id_subject"), "subject", ["subject_id"], ["id"]
        )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_subject_id", sa.Integer(), nullable=True))
        batch_op.alter_column("author_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_message_author_subject_id_subject"),
            "subject",
            ["author_subject_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            "message_one_author", "(author_id IS NULL) <> (author_subject_id IS NULL)"
        )
    _create_sqlite_triggers()


def downgrade() -> None:
    _drop_sqlite_triggers()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE message DISABLE TRIGGER message_append_only")
    # A subject's messages (author_id NULL) make author_id NOT NULL fail: a downgrade refuses
    # a database where subjects have written, rather than deleting what must be kept.
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint("message_one_author", type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_message_author_subject_id_subject"), type_="foreignkey"
        )
        batch_op.drop_column("author_subject_id")
        batch_op.alter_column("author_id", existing_type=sa.Integer(), nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE message ENABLE TRIGGER message_append_only")
    with op.batch_alter_table("message_thread", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_message_thread_subject_id_subject"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_message_thread_subject_id"))
        batch_op.drop_column("subject_read_id")
        batch_op.drop_column("subject_id")
    _create_sqlite_triggers()
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.drop_column("subject_messages")
