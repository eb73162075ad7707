"""Messages between a study's staff: threads at a site, messages never changed nor deleted
(triggers refuse it, as for queries), and how far each person has read each thread.

Revision ID: 38b05f1a37f5
Revises: 248f8a22f543
Create Date: 2026-12-04 07:57:30.545146
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "38b05f1a37f5"
down_revision: str | None = "248f8a22f543"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Threads are never deleted, and their messages never changed nor deleted.
KEPT = "messages are never changed nor deleted"
POSTGRESQL_UP = [
    f"""
    CREATE FUNCTION message_kept() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{KEPT}';
    END $$
    """,
    """
    CREATE TRIGGER message_thread_no_delete BEFORE DELETE ON message_thread
    FOR EACH ROW EXECUTE FUNCTION message_kept()
    """,
    """
    CREATE TRIGGER message_append_only BEFORE UPDATE OR DELETE ON message
    FOR EACH ROW EXECUTE FUNCTION message_kept()
    """,
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER message_append_only ON message",
    "DROP TRIGGER message_thread_no_delete ON message_thread",
    "DROP FUNCTION message_kept()",
]
SQLITE_UP = [
    f"""
    CREATE TRIGGER message_thread_no_delete BEFORE DELETE ON message_thread
    BEGIN SELECT RAISE(ABORT, '{KEPT}'); END
    """,
    f"""
    CREATE TRIGGER message_no_update BEFORE UPDATE ON message
    BEGIN SELECT RAISE(ABORT, '{KEPT}'); END
    """,
    f"""
    CREATE TRIGGER message_no_delete BEFORE DELETE ON message
    BEGIN SELECT RAISE(ABORT, '{KEPT}'); END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER message_no_delete",
    "DROP TRIGGER message_no_update",
    "DROP TRIGGER message_thread_no_delete",
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
        "message_thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_message_thread_site_id_site")
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["user_account.id"],
            name=op.f("fk_message_thread_started_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "study_id"],
            ["study.tenant_id", "study.id"],
            name=op.f("fk_message_thread_tenant_id_study_id_study"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_thread")),
    )
    with op.batch_alter_table("message_thread", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_thread_study_id_site_id", ["study_id", "site_id"], unique=False
        )

    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user_account.id"], name=op.f("fk_message_author_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["message_thread.id"], name=op.f("fk_message_thread_id_message_thread")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_thread_id"), ["thread_id"], unique=False)

    op.create_table(
        "message_read",
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_message_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["message_thread.id"],
            name=op.f("fk_message_read_thread_id_message_thread"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_message_read_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("thread_id", "user_id", name=op.f("pk_message_read")),
    )
    _run(POSTGRESQL_UP, SQLITE_UP)


def downgrade() -> None:
    _run(POSTGRESQL_DOWN, SQLITE_DOWN)
    op.drop_table("message_read")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_thread_id"))

    op.drop_table("message")
    with op.batch_alter_table("message_thread", schema=None) as batch_op:
        batch_op.drop_index("ix_message_thread_study_id_site_id")

    op.drop_table("message_thread")
