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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyramid.config import Configurator
from sqlalchemy import Connection, Row, and_, insert, or_, select, text
from sqlalchemy.orm import Session

from datacapt.actor import Actor
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
_LINKS = "datacapt.audit.links"  # key in the connection's info, see _links_written


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


def lock_chain(dbsession: Session, chain: int) -> None:
    """Serialise writers of ``chain`` until the transaction ends (PostgreSQL)."""
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


def chained_event(
    chain: int, seq: int, previous: str, occurred_at: datetime, **fields: Any
) -> AuditEvent:
    """Event number ``seq`` of ``chain``, linked to and hashed over ``previous``: what
    :func:`record` appends, and what a bulk loader (``bench/generate.py``) must write the same."""
    event = AuditEvent(
        chain=chain,
        seq=seq,
        occurred_at=occurred_at,
        tenant_id=fields.get("tenant_id"),
        actor_id=fields.get("actor_id"),
        study_id=fields.get("study_id"),
        site_id=fields.get("site_id"),
        subject_id=fields.get("subject_id"),
        action=fields["action"],
        entity_type=fields["entity_type"],
        entity_id=_text(str(fields["entity_id"])),
        field=_text(fields.get("field")),
        old_value=_text(fields.get("old")),
        new_value=_text(fields.get("new")),
        reason=_text(fields.get("reason")),
        request_id=fields.get("request_id"),
        ip=fields.get("ip"),
        prev_hash=previous,
    )
    event.hash = chain_hash(previous, event)
    return event


def record(
    dbsession: Session,
    actor: Actor,
    *,
    tenant_id: int | None,
    action: str,
    entity_type: str,
    entity_id: object,
    study_id: int | None = None,
    site_id: int | None = None,
    subject_id: int | None = None,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append one event, by ``actor``, to its tenant's chain, in the caller's transaction."""
    fields = dict(locals())
    del fields["dbsession"], fields["actor"]
    return record_many(dbsession, actor, [fields])[0]


def record_many(
    dbsession: Session, actor: Actor, events: Sequence[Mapping[str, Any]]
) -> list[AuditEvent]:
    """Append the events of one action by ``actor`` (a save changing fifty values) to their
    tenants' chains, in the caller's transaction: one reading of the database clock, which they
    share, and a fixed number of statements whatever their number (one INSERT, one read back
    of the new rows: SQLite cannot return the ids of a batch in order). Each event takes
    :func:`record`'s keyword arguments."""
    who = actor.audited()
    links = _links_written(dbsession.connection())
    heads = {}
    for chain in sorted({event["tenant_id"] or 0 for event in events} - links.keys()):
        lock_chain(dbsession, chain)  # in a fixed order, so two writers never deadlock
        dbsession.flush()  # earlier events of this transaction must be visible to the query
        heads[chain] = last_link(dbsession, chain)
    heads = {**links, **heads}
    occurred_at = database_now(dbsession)
    made = []
    for fields in events:
        chain = fields["tenant_id"] or 0
        seq, previous = heads[chain]
        event = chained_event(chain, seq + 1, previous, occurred_at, **who, **fields)
        heads[chain] = (event.seq, event.hash)
        made.append(event)
    links.update(heads)
    if not made:
        return []
    columns = [*HASHED_FIELDS, "prev_hash", "hash"]
    dbsession.execute(
        insert(AuditEvent), [{name: getattr(e, name) for name in columns} for e in made]
    )
    stored = dbsession.scalars(
        select(AuditEvent).where(
            or_(
                *(
                    and_(AuditEvent.chain == chain, AuditEvent.seq.between(first, last))
                    for chain, (first, last) in _seq_ranges(made).items()
                )
            )
        )
    ).all()
    by_link = {(e.chain, e.seq): e for e in stored}
    return [by_link[(e.chain, e.seq)] for e in made]


def _seq_ranges(events: list[AuditEvent]) -> dict[int, tuple[int, int]]:
    """Per chain, the first and last sequence numbers among ``events``."""
    ranges: dict[int, tuple[int, int]] = {}
    for event in events:
        first, _last = ranges.get(event.chain, (event.seq, event.seq))
        ranges[event.chain] = (first, event.seq)
    return ranges


def _links_written(connection: Connection) -> dict[int, tuple[int, str]]:
    """The last link this transaction appended to each chain, so that a save writing fifty
    events locks and reads its chain once instead of fifty times.

    The chain's lock (PostgreSQL) or the database write lock (SQLite) is held until the
    transaction ends, so nobody else can append meanwhile. What is remembered is valid only at
    the savepoint level where it was written: a new transaction or a savepoint begun, released
    or rolled back since makes :func:`record_many` lock and read the chain again. Code
    appending events otherwise must do so in a transaction of its own.
    """
    level = (connection.get_transaction(), connection.get_nested_transaction())
    remembered = connection.info.get(_LINKS)
    if remembered is None or remembered[0] is not level[0] or remembered[1] is not level[1]:
        remembered = connection.info[_LINKS] = (*level, {})
    return remembered[2]


def last_link(dbsession: Session, chain: int) -> tuple[int, str]:
    """The sequence number and hash of the chain's last event (0 and the genesis hash if none).
    Call it holding the chain's lock (:func:`lock_chain`)."""
    last = dbsession.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.chain == chain)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return (last.seq, last.hash) if last else (0, GENESIS)


def record_subject(dbsession: Session, actor: Actor, subject: Any, **event: Any) -> AuditEvent:
    """:func:`record` for an event about one subject, scoped to its study and site."""
    return record(
        dbsession,
        actor,
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        site_id=subject.site_id,
        subject_id=subject.id,
        **event,
    )


def record_changes(
    dbsession: Session,
    actor: Actor,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    **event: Any,
) -> list[AuditEvent]:
    """One event per field whose value changed (``field``, its old → new), in one batch."""
    changed = [
        {"field": name, "old": old.get(name), "new": value, **event}
        for name, value in new.items()
        if old.get(name) != value
    ]
    return record_many(dbsession, actor, changed) if changed else []


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
