"""The subject's consent hold (``subject.consent_hold``): why data entry waits, kept from the
consent records by every path that changes what it depends on (re-consent required or given,
withdrawal), so that the entry guard reads a column of the subject the save already has instead
of a statement on every save.

The hold is recomputed from the records, not toggled, and under the subject's audit chain lock:
each path records its audit event (which takes that lock) before keeping the hold, so two paths
changing one subject's records at once keep it in turn, the second reading what the first
committed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from datacapt.consent.events import FURTHER_DATA
from datacapt.models import ConsentRecord, Subject
from datacapt.plain_rows import plain_rows

#: The values of ``subject.consent_hold``.
WITHDRAWN, RECONSENT = "withdrawn", "reconsent"


def hold_of(records: Iterable[tuple[bool | None, list[str] | None]]) -> str | None:
    """The hold of a subject whose records pending re-consent or withdrawn are ``records``
    (``requires_reconsent``, ``withdrawal_scope``): a withdrawal from further data first, then a
    re-consent pending on a record not withdrawn."""
    pending = False
    for requires_reconsent, scope in records:
        if scope and FURTHER_DATA in scope:
            return WITHDRAWN
        pending = pending or bool(requires_reconsent and not scope)
    return RECONSENT if pending else None


#: The hold of one subject, read afresh: built once (a save runs it on every first lock).
_HOLD = select(Subject.__table__.c.consent_hold).where(
    Subject.__table__.c.id == bindparam("subject")
)


def read_again(dbsession: Session, subject: Subject) -> bool:
    """Set ``subject``'s hold as committed now (call it holding the subject's chain lock, which
    every path keeping the hold takes first), so that a withdrawal committed since ``subject``
    was loaded is seen; whether it changed. One statement on the connection: no flush, no ORM
    refresh."""
    held = plain_rows(dbsession, _HOLD, {"subject": subject.id}, flush=False)[0][0]
    if held == subject.consent_hold:
        return False
    set_committed_value(subject, "consent_hold", held)
    return True


def keep(dbsession: Session, subject_ids: Collection[int]) -> None:
    """Set the hold of ``subject_ids`` from their records as they stand (call it holding the
    subjects' chain locks, after writing the records): two statements, whatever their number."""
    if not subject_ids:
        return
    records: dict[int, list[tuple[bool | None, list[str] | None]]] = {i: [] for i in subject_ids}
    for subject_id, pending, scope in dbsession.execute(
        select(
            ConsentRecord.subject_id,
            ConsentRecord.requires_reconsent,
            ConsentRecord.withdrawal_scope,
        ).where(
            ConsentRecord.subject_id.in_(records),
            ConsentRecord.requires_reconsent.is_(True) | ConsentRecord.withdrawn_on.is_not(None),
        )
    ):
        records[subject_id].append((pending, scope))
    rows: list[dict[str, Any]] = [
        {"subject": subject_id, "hold": hold_of(held)} for subject_id, held in records.items()
    ]
    dbsession.connection().execute(
        update(Subject.__table__)
        .where(Subject.__table__.c.id == bindparam("subject"))
        .values(consent_hold=bindparam("hold")),
        rows,
    )
    for row in rows:
        loaded = dbsession.identity_map.get(dbsession.identity_key(Subject, row["subject"]))
        if loaded is not None:
            set_committed_value(loaded, "consent_hold", row["hold"])
