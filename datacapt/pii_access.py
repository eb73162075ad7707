"""The log of every read of personal data (GDPR accountability): who, whose data (a person of
the subject repository or a study subject's sealed contact details), which fields, why and how
(a view, a search, an export, a decryption by the system). The DPO reads it
(:mod:`datacapt.repository`); it never holds the data itself."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from datacapt.actor import Actor
from datacapt.models import PiiAccess


def log_reads(
    dbsession: Session,
    actor: Actor,
    tenant_id: int,
    person_ids: Iterable[int | None] = (),
    *,
    subject_id: int | None = None,
    action: str,
    fields: Sequence[str],
    purpose: str,
    others: Sequence[tuple[int, Sequence[str]]] = (),
) -> None:
    """One row per person read (``None``: a search that found nobody), or one for the subject
    ``subject_id`` when no person is named; ``others``, persons read at the same time with
    other fields, in the same statement (a page logs in a fixed number of queries)."""
    owners = [(person_id, subject_id, fields) for person_id in person_ids] or [
        (None, subject_id, fields)
    ]
    owners += [(person_id, None, read) for person_id, read in others]
    who = actor.name or ("user" if actor.user_id else "system")
    now = datetime.now(UTC)
    dbsession.execute(
        insert(PiiAccess),
        [
            {
                "tenant_id": tenant_id,
                "user_id": actor.user_id,
                "actor": who[:200],
                "person_id": person_id,
                "subject_id": subject,
                "action": action,
                "fields": ",".join(read),
                "purpose": purpose,
                "at": now,
            }
            for person_id, subject, read in owners
        ],
    )
