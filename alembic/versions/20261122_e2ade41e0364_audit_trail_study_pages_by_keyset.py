"""Audit trail: a study's events by (study_id, seq), so the viewer's keyset pages of a study
never walk the tenant's whole chain (it replaces the index on study_id alone, which it covers).

Revision ID: e2ade41e0364
Revises: 9291efc3467c
Create Date: 2026-11-22 05:58:42.792146
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'e2ade41e0364'
down_revision: str | None = 'f315412d447d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain index operations, not batch mode: recreating audit_event would drop its triggers.
    op.create_index('ix_audit_event_study_id_seq', 'audit_event', ['study_id', 'seq'], unique=False)
    op.drop_index('ix_audit_event_study_id', table_name='audit_event')


def downgrade() -> None:
    op.create_index('ix_audit_event_study_id', 'audit_event', ['study_id'], unique=False)
    op.drop_index('ix_audit_event_study_id_seq', table_name='audit_event')
