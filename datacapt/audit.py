"""The audit trail API: every capability records its events here, in the transaction of the change.

Each tenant has its own chain: ``hash = sha256(previous hash || canonical event)``, the time comes
from the database clock, and writers to one chain are serialised (an advisory lock on
PostgreSQL; SQLite takes the database write lock at BEGIN). Database triggers refuse UPDATE and
DELETE, so rewriting history takes a superuser disabling them — and :func:`verify` then names the
first event whose hash no longer matches.

No personal data goes into an event's text: callers pass ids, codes and values, never names,
e-mail addresses or phone numbers.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import Row, and_, insert, or_, select, text
from sqlalchemy.orm import Session

from datacapt.models import AuditEvent

GENESIS = "0" * 64
#: The fields that enter the hash, in this order (names are also the canonical JSON keys).
HASHED_FIELDS = (
    "chain",
    "seq",
    "occurred_at",
    "tenant_id",
    "actor_id",
    "study_id",
    "site_id",
    "subject_id",
    "action",
    "entity_type",
    "entity_id",
    "field",
    "old_value",
    "new_value",
    "reason",
    "request_id",
    "ip",
)
#: Serialises writers of all chains on PostgreSQL: key = this constant + the chain number.
LOCK_NAMESPACE = 0x0A0D17


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(event: AuditEvent | Row[Any]) -> str:
    """The event as the chain hashes it: JSON, fixed key order, times in UTC to the microsecond."""
    values: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        value = getattr(event, name)
        values[name] = _timestamp(value) if isinstance(value, datetime) else value
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def chain_hash(previous: str, event: AuditEvent | Row[Any]) -> str:
    return hashlib.sha256((previous + canonical(event)).encode("utf-8")).hexdigest()


def database_now(dbsession: Session) -> datetime:
    """The database server's clock (not the application server's), in UTC."""
    if dbsession.get_bind().dialect.name == "postgresql":
        value = dbsession.scalar(text("SELECT clock_timestamp()"))
    else:
        raw = dbsession.scalar(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))
        value = datetime.fromisoformat(raw).replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _lock_chain(dbsession: Session, chain: int) -> None:
    if dbsession.get_bind().dialect.name == "postgresql":
        dbsession.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, :chain)"),
            {"namespace": LOCK_NAMESPACE, "chain": chain},
        )


def _text(value: Any) -> str | None:
    """Values as text. NUL, which no database text column takes, is written as an escape
    (inputs carrying it are refused at the door; this keeps the trail writable regardless)."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return value.replace("\x00", "\\u0000")


def record(
    dbsession: Session,
    *,
    tenant_id: int | None,
    action: str,
    entity_type: str,
    entity_id: object,
    actor_id: int | None = None,
    study_id: int | None = None,
    site_id: int | None = None,
    subject_id: int | None = None,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
    request_id: str | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one event to its tenant's chain, in the caller's transaction."""
    chain = tenant_id or 0
    _lock_chain(dbsession, chain)
    dbsession.flush()  # earlier events of this transaction must be visible to the query below
    last = dbsession.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.chain == chain)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    seq, previous = (last.seq + 1, last.hash) if last else (1, GENESIS)
    event = AuditEvent(
        chain=chain,
        seq=seq,
        occurred_at=database_now(dbsession),
        tenant_id=tenant_id,
        actor_id=actor_id,
        study_id=study_id,
        site_id=site_id,
        subject_id=subject_id,
        action=action,
        entity_type=entity_type,
        entity_id=_text(str(entity_id)),
        field=_text(field),
        old_value=_text(old),
        new_value=_text(new),
        reason=_text(reason),
        request_id=request_id,
        ip=ip,
        prev_hash=previous,
    )
    event.hash = chain_hash(previous, event)
    dbsession.add(event)
    dbsession.flush()
    return event


def record_many(dbsession: Session, events: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append several events (each as :func:`record` takes them) to their chains at a fixed
    cost in queries, for bulk operations: one lock, one read of the chain head and one clock
    read per chain, one multi-row INSERT, and one read back of the stored events (SQLite cannot
    return the new ids of a batch in order)."""
    written: list[AuditEvent] = []
    now = database_now(dbsession) if events else None
    heads: dict[int, tuple[int, str]] = {}
    for details in events:
        chain = details.get("tenant_id") or 0
        if chain not in heads:
            _lock_chain(dbsession, chain)
            dbsession.flush()
            last = dbsession.execute(
                select(AuditEvent.seq, AuditEvent.hash)
                .where(AuditEvent.chain == chain)
                .order_by(AuditEvent.seq.desc())
                .limit(1)
            ).first()
            heads[chain] = (last.seq, last.hash) if last else (0, GENESIS)
        seq, previous = heads[chain]
        event = AuditEvent(
            chain=chain,
            seq=seq + 1,
            occurred_at=now,
            tenant_id=details.get("tenant_id"),
            actor_id=details.get("actor_id"),
            study_id=details.get("study_id"),
            site_id=details.get("site_id"),
            subject_id=details.get("subject_id"),
            action=details["action"],
            entity_type=details["entity_type"],
            entity_id=_text(str(details["entity_id"])),
            field=_text(details.get("field")),
            old_value=_text(details.get("old")),
            new_value=_text(details.get("new")),
            reason=_text(details.get("reason")),
            request_id=details.get("request_id"),
            ip=details.get("ip"),
            prev_hash=previous,
        )
        event.hash = chain_hash(previous, event)
        heads[chain] = (seq + 1, event.hash)
        written.append(event)
    if not written:
        return []
    columns = [*HASHED_FIELDS, "prev_hash", "hash"]
    dbsession.execute(
        insert(AuditEvent), [{name: getattr(e, name) for name in columns} for e in written]
    )
    stored = dbsession.scalars(
        select(AuditEvent)
        .where(
            or_(
                *(
                    and_(AuditEvent.chain == chain, AuditEvent.seq > first, AuditEvent.seq <= last)
                    for chain, (first, last) in _ranges(written).items()
                )
            )
        )
        .order_by(AuditEvent.chain, AuditEvent.seq)
    ).all()
    by_key = {(e.chain, e.seq): e for e in stored}
    return [by_key[(e.chain, e.seq)] for e in written]


def _ranges(events: list[AuditEvent]) -> dict[int, tuple[int, int]]:
    """Per chain: the sequence number before the first event written, and the last one."""
    ranges: dict[int, tuple[int, int]] = {}
    for event in events:
        first, _last = ranges.get(event.chain, (event.seq - 1, event.seq))
        ranges[event.chain] = (first, event.seq)
    return ranges


def record_request(request: Request, **event: Any) -> AuditEvent:
    """:func:`record` with the request's actor, request id and client address."""
    identity = request.identity
    return record(
        request.dbsession,
        actor_id=identity.user.id if identity is not None else None,
        request_id=request.request_id,
        ip=request.client_addr,
        **event,
    )


def record_subject(request: Request, subject: Any, **event: Any) -> AuditEvent:
    """:func:`record_request` for an event about one subject, scoped to its study and site."""
    return record_request(
        request,
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        site_id=subject.site_id,
        subject_id=subject.id,
        **event,
    )


def record_changes(
    write: Callable[..., AuditEvent],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    **event: Any,
) -> list[AuditEvent]:
    """One event per field whose value changed (``field``, its old → new), through ``write``
    (:func:`record` or :func:`record_request` with the session or request bound)."""
    return [
        write(field=name, old=old.get(name), new=value, **event)
        for name, value in new.items()
        if old.get(name) != value
    ]


@dataclass(frozen=True)
class ChainReport:
    chain: int
    count: int
    broken: AuditEvent | None  # the first event whose link or hash does not match
    problem: str | None = None
    head: str = GENESIS  # the hash of the last event verified: worth keeping outside the database

    @property
    def intact(self) -> bool:
        return self.broken is None


def chains(dbsession: Session) -> list[int]:
    return list(dbsession.scalars(select(AuditEvent.chain).distinct().order_by(AuditEvent.chain)))


#: What verification reads: plain rows, lighter than ORM objects over millions of events.
_VERIFIED_COLUMNS = [
    getattr(AuditEvent, name) for name in ("id", *HASHED_FIELDS, "prev_hash", "hash")
]


def _events(dbsession: Session, chain: int) -> Iterator[Row[Any]]:
    """The chain in order, streamed (a server-side cursor on PostgreSQL), 1,000 rows a fetch."""
    statement = (
        select(*_VERIFIED_COLUMNS)
        .where(AuditEvent.chain == chain)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=1000)
    )
    yield from dbsession.execute(statement)


def verify(dbsession: Session, chain: int) -> ChainReport:
    """Walk one chain in order, recomputing every hash; stop at the first broken link."""
    previous, count = GENESIS, 0

    def broken(row: Row[Any], problem: str) -> ChainReport:
        return ChainReport(chain, count, dbsession.get(AuditEvent, row.id), problem)

    for event in _events(dbsession, chain):
        count += 1
        if event.seq != count:
            return broken(event, f"sequence {event.seq} where {count} was due")
        if event.prev_hash != previous:
            return broken(event, "does not follow the previous event")
        if chain_hash(previous, event) != event.hash:
            return broken(event, "its content does not match its hash")
        previous = event.hash
    return ChainReport(chain, count, None, head=previous)


def includeme(config: Configurator) -> None:
    config.add_request_method(lambda request: uuid.uuid4().hex, "request_id", reify=True)
