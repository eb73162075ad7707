"""Subjects' contact details under a data key of their own: ``subject_key`` holds each subject's
data key wrapped by the tenant's key-encryption key (as ``person_key`` does for a person of the
repository); ``subject_contact.key_id`` becomes NULL for a row sealed under it.

The rows sealed under a tenant-wide key are re-sealed by ``datacapt db upgrade`` right after
this revision (``datacapt keys rekey``), not here: re-sealing needs the encryption keys and the
repository's master keys, which belong to the app's settings and environment, never to a
migration script; and until it runs those rows still open (their ``key_id`` says how), so an
upgrade interrupted between the two loses nothing.

Revision ID: a7c3e5f19d20
Revises: 6e2b9d4f1c07
Create Date: 2026-12-04 15:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c3e5f19d20"
down_revision: str | None = "6e2b9d4f1c07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subject_key",
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kek_generation", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=16), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_subject_key_subject_id_subject")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "kek_generation"],
            ["repository_kek.tenant_id", "repository_kek.generation"],
            name=op.f("fk_subject_key_tenant_id_repository_kek"),
        ),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_subject_key")),
    )
    op.create_index(op.f("ix_subject_key_tenant_id"), "subject_key", ["tenant_id"], unique=False)
    with op.batch_alter_table("subject_contact", schema=None) as batch_op:
        batch_op.alter_column("key_id", existing_type=sa.String(length=40), nullable=True)


def downgrade() -> None:
    moved = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM subject_contact WHERE key_id IS NULL")
    )
    if moved:
        raise RuntimeError(
            f"{moved} subject contact record(s) are sealed under subject data keys: going back "
            "would lose them"
        )
    with op.batch_alter_table("subject_contact", schema=None) as batch_op:
        batch_op.alter_column("key_id", existing_type=sa.String(length=40), nullable=False)
    op.drop_index(op.f("ix_subject_key_tenant_id"), table_name="subject_key")
    op.drop_table("subject_key")
