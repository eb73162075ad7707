"""Numbers given within a study (query 1, 2, 3 …; version 1, 2 …), safe under concurrency.

``max(number) + 1`` read without a lock gives two concurrent transactions the same number, and
the second fails on the unique constraint. Here the number comes from one atomic upsert of the
study's counter row, which keeps that row locked until commit: a concurrent transaction waits,
then gets the next number. A transaction that rolls back gives its number back. The first use
seeds the counter from the highest number already stored, so existing studies need no
back-fill.
"""

from __future__ import annotations

from sqlalchemy import ScalarSelect, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from datacapt.models import StudyCounter


def next_number(
    dbsession: Session, tenant_id: int, study_id: int, name: str, highest: ScalarSelect[int]
) -> int:
    """The next ``name`` number of the study; ``highest`` selects the largest one stored."""
    dialect = postgresql if dbsession.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(StudyCounter)
        .values(
            study_id=study_id,
            name=name,
            tenant_id=tenant_id,
            value=func.coalesce(highest, 0) + 1,
        )
        .on_conflict_do_update(
            index_elements=[StudyCounter.study_id, StudyCounter.name],
            set_={"value": StudyCounter.value + 1},
        )
        .returning(StudyCounter.value)
    )
    return int(dbsession.execute(statement).scalar_one())
