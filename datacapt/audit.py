"""The audit trail API: every capability records its events here, in the transaction of the change.

**Chains.** Each event belongs to the hash chain of its narrowest scope: ``subject:<id>`` (a
subject's casebook: every save, query and review of it), else ``study:<id>`` (design, sites,
exports), else ``tenant:<id>`` (members, roles), else ``platform`` (sign-ins, accounts). In a
chain, ``hash = sha256(previous hash || canonical event)`` and ``seq`` counts 1, 2, 3 ... Writers
of one chain are serialised by a transaction-long advisory lock on PostgreSQL (SQLite takes the
database write lock at BEGIN), so two coordinators saving different subjects of one tenant never
wait for each other; a save locks and reads its subject's chain once, whatever its number of
values. The time comes from the database clock.

**Legacy chains.** Before this design each tenant had one chain, named by its id alone (``7``;
``0`` for the platform). Those events are kept as they were written, as closed chains that
:func:`verify` checks like any other: re-chaining them would have meant rewriting every hash,
which destroys the very evidence the trail exists to keep. A chain named by digits alone hashes
its name as a JSON number, as it was then.

**Checkpoints.** A chain deleted whole, or cut short, leaves no broken link. :func:`checkpoint`
(``datacapt audit checkpoint``, and the worker every ten minutes) records the heads that moved
since the last checkpoint, a Merkle root over every chain's head and a hash chained to the
previous checkpoint. :func:`verify_all` checks every chain, every checkpoint's hash and link,
the last root, and that every head a checkpoint saw is still there, with the events since.

Database triggers refuse UPDATE and DELETE on the events and the checkpoints, so rewriting
history takes a superuser disabling them — and verification then names the first event altered,
deleted, swapped or missing. No personal data goes into an event's text: callers pass ids, codes
and values, never names, e-mail addresses or phone numbers.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from pyramid.config import Configurator
from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Executable,
    Integer,
    Row,
    Select,
    String,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from datacapt.actor import Actor
from datacapt.jobs import JobContext, job
from datacapt.json_text import canonical_json, json_text
from datacapt.models import AuditCheckpoint, AuditCheckpointHead, AuditEvent
from datacapt.plain_rows import plain_rows

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
#: Hashed after those, and only when set: events written before they existed keep their hashes.
HASHED_WHEN_SET = ("on_behalf_of_id", "by_subject_id")
PLATFORM = "platform"
#: ``pg_advisory_xact_lock(namespace, id)``: one namespace per kind of chain, so keys never
#: collide; ``checkpoint`` serialises the writers of checkpoints.
LOCK_NAMESPACES = {
    "platform": 0x0A0D18,
    "tenant": 0x0A0D19,
    "study": 0x0A0D1A,
    "subject": 0x0A0D1B,
    "checkpoint": 0x0A0D1C,
}
CHECKPOINT_EVERY = timedelta(minutes=10)
_LINKS = "datacapt.audit.links"  # key in the connection's info, see _links_written


def _recordset_insert() -> tuple[Executable, Executable]:
    """PostgreSQL's INSERT of a batch of events: every column but the shared time in one JSON
    array of objects, made rows of the table's own type by ``json_populate_recordset`` (each
    value read by its column's type, a too long text refused as the column refuses it). One
    parameter of fixed text: the driver encodes one string instead of an array element by
    element (~700 Python calls a save of 44 events), and prepares the statement once."""
    table = AuditEvent.__table__
    names = tuple(c.key for c in table.columns if c.key not in ("id", "occurred_at"))
    rows = func.json_populate_recordset(
        literal_column(f"NULL::{table.name}"), cast(bindparam("rows", type_=Text()), JSON)
    ).table_valued(*names)
    occurred_at = bindparam("occurred_at", type_=table.c.occurred_at.type)
    values = select(occurred_at, *(rows.c[name] for name in names))
    inserted = insert(table).from_select(["occurred_at", *names], values)
    return (
        select(AuditEvent).from_statement(inserted.returning(*table.c)),
        inserted.returning(table.c.chain, table.c.seq, table.c.id),
    )


def _recordset(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The parameters of :data:`_RECORDSET` for ``rows`` (which share their time): the rows as
    they are, their shared time null in each (the statement reads it from its own parameter)."""
    return {
        "rows": json_text([row | _UNTIMED for row in rows]),
        "occurred_at": rows[0]["occurred_at"],
    }


_UNTIMED = {"occurred_at": None}


_RECORDSET, _RECORDSET_IDS = _recordset_insert()
# the other databases' INSERT of a batch (one VALUES statement: "insertmanyvalues") returning
# the new ids with their links, which place them (not the order of the rows returned)
_INSERT_IDS = insert(AuditEvent.__table__).returning(
    AuditEvent.__table__.c.chain, AuditEvent.__table__.c.seq, AuditEvent.__table__.c.id
)


def chain_of(tenant_id: int | None, study_id: int | None, subject_id: int | None) -> str:
    """The chain of an event: its narrowest scope."""
    if subject_id is not None:
        return f"subject:{subject_id}"
    if study_id is not None:
        return f"study:{study_id}"
    if tenant_id is not None:
        return f"tenant:{tenant_id}"
    return PLATFORM


def _hashed_chain(chain: str) -> str | int:
    """A legacy chain (digits alone) was hashed with its name as a number."""
    return int(chain) if chain.isdigit() else chain


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(event: AuditEvent | Row[Any]) -> str:
    """The event as the chain hashes it: JSON, fixed key order, times in UTC to the microsecond."""
    values: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        value = getattr(event, name)
        values[name] = _timestamp(value) if isinstance(value, datetime) else value
    values["chain"] = _hashed_chain(values["chain"])
    for name in HASHED_WHEN_SET:
        value = getattr(event, name)
        if value is not None:
            values[name] = value
    return canonical_json(values).decode()


def _is_postgresql(dbsession: Session) -> bool:
    return dbsession.get_bind().dialect.name == "postgresql"


def _clock(dbsession: Session) -> ColumnElement[Any]:
    if _is_postgresql(dbsession):
        return func.clock_timestamp()
    return func.strftime("%Y-%m-%d %H:%M:%f", "now")


def _as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)


def database_now(dbsession: Session) -> datetime:
    """The database server's clock (not the application server's), in UTC."""
    return _as_utc(dbsession.scalar(select(_clock(dbsession))))


def lock_chains(dbsession: Session, chains: Iterable[str]) -> bool:
    """Serialise writers of ``chains`` until the transaction ends (PostgreSQL): one statement,
    the locks taken in a fixed order so that two writers never deadlock on them, none for a
    chain this transaction already holds (a save locks its chain before its checks, then
    appends to it). Whether a lock was taken now: what was read before it may have changed
    (never on SQLite, whose transactions hold the write lock from their BEGIN)."""
    connection = dbsession.connection()
    if connection.dialect.name != "postgresql":
        return False
    held = _held(connection)
    wanted = set(chains) - held
    keys = sorted({_lock_key(chain) for chain in wanted})
    if keys:
        plain_rows(dbsession, _lock_statement(len(keys)), _lock_parameters(keys), flush=False)
        held.update(wanted)
    return bool(keys)


def _lock_key(chain: str) -> tuple[int, int]:
    kind, _, number = chain.partition(":")
    return LOCK_NAMESPACES[kind], int(number or 0)


@functools.lru_cache(maxsize=8)
def _lock_statement(count: int) -> Select[Any]:
    """:func:`lock_chains`' statement for ``count`` locks (bound as ``kind_0``, ``key_0`` ...),
    built once per number of locks and run on the connection: a save takes one on every save."""
    return select(
        *(
            func.pg_advisory_xact_lock(
                bindparam(f"kind_{number}", type_=Integer()),
                bindparam(f"key_{number}", type_=Integer()),
            )
            for number in range(count)
        )
    )


def _lock_parameters(keys: Sequence[tuple[int, int]]) -> dict[str, int]:
    parameters = {}
    for number, (kind, key) in enumerate(keys):
        parameters[f"kind_{number}"], parameters[f"key_{number}"] = kind, key
    return parameters


#: A chain's last link is read with ``LIMIT 1`` written in the SQL: a bound limit makes
#: PostgreSQL plan a prepared statement again at each execution (a generic plan assumes it
#: returns a tenth of the rows), which cost every save ~0.25 ms of the server's CPU.
ONE = literal_column("1", Integer)


@functools.lru_cache(maxsize=8)
def _last_links_statement(count: int, postgresql: bool) -> Select[Any]:
    """:func:`last_links`'s statement for ``count`` chains (bound as ``chain_0`` ...), built
    once per number of chains and database: a save reads one chain on every save."""
    lasts = [
        select(AuditEvent.chain, AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.chain == bindparam(f"chain_{number}", type_=AuditEvent.chain.type))
        .order_by(AuditEvent.seq.desc())
        .limit(ONE)
        .subquery()
        .select()
        for number in range(count)
    ]
    heads = union_all(*lasts).subquery("heads")
    one = select(literal(1).label("one")).subquery("one")
    clock = func.clock_timestamp() if postgresql else func.strftime("%Y-%m-%d %H:%M:%f", "now")
    return select(clock.label("now"), heads.c.chain, heads.c.seq, heads.c.hash).select_from(
        one.outerjoin(heads, true())
    )


def last_links(
    dbsession: Session, chains: Sequence[str]
) -> tuple[datetime, dict[str, tuple[int, str]]]:
    """The database clock and each chain's last sequence number and hash (0 and the genesis
    hash if it has none), in one statement. Call it holding the chains' locks, the session
    flushed: the rows are read on its connection (no ORM execution to set up)."""
    connection = dbsession.connection()
    statement = _last_links_statement(len(chains), connection.dialect.name == "postgresql")
    names = {f"chain_{number}": chain for number, chain in enumerate(chains)}
    rows = connection.execute(statement, names).all()
    found = {row.chain: (row.seq, row.hash) for row in rows if row.chain is not None}
    return _as_utc(rows[0].now), {chain: found.get(chain, (0, GENESIS)) for chain in chains}


#: The database clock and chains' last links as read by :func:`last_links`, or by a caller's own
#: statement holding their locks (:func:`head_columns`), for :func:`record_ids`.
Heads = tuple[datetime, dict[str, tuple[int, str]]]


def head_columns(chain: ColumnElement[str], postgresql: bool) -> tuple[ColumnElement[Any], ...]:
    """The database clock and ``chain``'s last sequence number and hash, as columns a caller's
    statement reads when it runs holding the chain's lock, after it was taken (a save's claim
    of its form returns them): one statement less than :func:`last_links` after it. Give what
    they read to :func:`read_heads`."""
    last = (
        select(AuditEvent.seq)
        .where(AuditEvent.chain == chain)
        .order_by(AuditEvent.seq.desc())
        .limit(ONE)
    )
    clock = func.clock_timestamp() if postgresql else func.strftime("%Y-%m-%d %H:%M:%f", "now")
    return (
        clock,
        last.scalar_subquery(),
        last.with_only_columns(AuditEvent.hash).scalar_subquery(),
    )


def read_heads(chain: str, now: datetime | str, seq: int | None, hash_: str | None) -> Heads:
    """What :func:`head_columns` read, as :func:`last_links` gives it."""
    link = (0, GENESIS) if seq is None or hash_ is None else (seq, hash_)
    return _as_utc(now), {chain: link}


def last_link(dbsession: Session, chain: str) -> tuple[int, str]:
    """The sequence number and hash of the chain's last event (0 and the genesis hash if none).
    Call it holding the chain's lock (:func:`lock_chains`)."""
    return last_links(dbsession, [chain])[1][chain]


#: What names an event's entity: a row's id, or a key of text (a version number, a pseudonym).
EntityId = int | str


def entity_key(entity_id: EntityId) -> str:
    """``entity_id`` as the text column holds it: every writer and every reader comparing with
    the column goes through this, so an id is never compared as a number (PostgreSQL refuses
    ``varchar = integer``) nor stored as ``"None"``."""
    if isinstance(entity_id, bool) or not isinstance(entity_id, int | str):
        raise TypeError(f"an audit entity id is an int or a str, not {type(entity_id).__name__}")
    return _text(str(entity_id)) or ""


def _text(value: Any) -> str | None:
    """Values as text. NUL, which no database text column takes, is written as an escape
    (inputs carrying it are refused at the door; this keeps the trail writable regardless)."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return value.replace("\x00", "\\u0000")


def chained_row(
    chain: str,
    seq: int,
    previous: str,
    occurred_at: datetime,
    stamp: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """The columns of event number ``seq`` of ``chain``, linked to and hashed over
    ``previous`` (``stamp``: ``occurred_at`` as the hash writes it, when the caller has it for a
    batch sharing one time). ``chain`` is :func:`chain_of` the event's scope."""
    who = {name: fields.pop(name, None) for name in _WHO}
    return _linked_rows(
        [(chain, fields)],
        {chain: (seq - 1, previous)},
        occurred_at,
        stamp if stamp is not None else _timestamp(occurred_at),
        who,
    )[0]


#: The fields of an event that are None unless given.
_OPTIONAL = dict.fromkeys(
    ("tenant_id", "study_id", "site_id", "subject_id", "field", "old", "new", "reason")
)
#: Who acted (:meth:`Actor.audited`'s keys): the same for every event of a batch.
_WHO = ("actor_id", "on_behalf_of_id", "request_id", "ip", "by_subject_id")


#: The hashed fields written as given when plain text without NUL, else through ``_text``.
_CLEANED = ("field", "old_value", "new_value", "reason")


def _linked_rows(
    placed: Iterable[tuple[str, Mapping[str, Any]]],
    links: dict[str, tuple[int, str]],
    occurred_at: datetime,
    stamp: str,
    who: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """The rows of events placed on their chains, each one past the link ``links`` holds for
    its chain (which it then becomes), by ``who``, at ``occurred_at`` (``stamp`` in canonical
    text), each hashed over the text :func:`canonical` gives, computed with no function call
    per field (a save hashes fifty events; the values are text already, so ``_text`` and
    ``entity_key`` run only for those that are not)."""
    actor_id, on_behalf_of_id, request_id, ip, by_subject_id = (who[name] for name in _WHO)
    hashed_chains: dict[str, str | int] = {}
    entity_keys: dict[tuple[type, Any], str] = {}
    sha256, made = hashlib.sha256, []
    for chain, given in placed:
        fields = _OPTIONAL | given  # an operator, not a call per field read
        seq, previous = links[chain]
        seq += 1
        hashed_chain = hashed_chains.get(chain)
        if hashed_chain is None:
            hashed_chain = hashed_chains[chain] = _hashed_chain(chain)
        entity_id = fields["entity_id"]
        entity = entity_keys.get((entity_id.__class__, entity_id))
        if entity is None:
            entity = entity_keys[(entity_id.__class__, entity_id)] = entity_key(entity_id)
        hashed = {  # HASHED_FIELDS, in their order; then HASHED_WHEN_SET when set
            "chain": hashed_chain,
            "seq": seq,
            "occurred_at": stamp,
            "tenant_id": fields["tenant_id"],
            "actor_id": actor_id,
            "study_id": fields["study_id"],
            "site_id": fields["site_id"],
            "subject_id": fields["subject_id"],
            "action": fields["action"],
            "entity_type": fields["entity_type"],
            "entity_id": entity,
            "field": fields["field"],
            "old_value": fields["old"],
            "new_value": fields["new"],
            "reason": fields["reason"],
            "request_id": request_id,
            "ip": ip,
        }
        for key in _CLEANED:
            value = hashed[key]
            if value is not None and (value.__class__ is not str or "\x00" in value):
                hashed[key] = _text(value)
        if on_behalf_of_id is not None:
            hashed["on_behalf_of_id"] = on_behalf_of_id
        if by_subject_id is not None:
            hashed["by_subject_id"] = by_subject_id
        link = sha256(previous.encode() + canonical_json(hashed)).hexdigest()
        made.append(
            hashed
            | {
                "chain": chain,
                "occurred_at": occurred_at,
                "on_behalf_of_id": on_behalf_of_id,
                "by_subject_id": by_subject_id,
                "prev_hash": previous,
                "hash": link,
            }
        )
        links[chain] = (seq, link)
    return made


def chained_event(
    chain: str, seq: int, previous: str, occurred_at: datetime, **fields: Any
) -> AuditEvent:
    """Event number ``seq`` of ``chain``, linked to and hashed over ``previous``: what
    :func:`record` appends, and what a bulk loader (``bench/generate.py``) must write the same.
    ``chain`` is :func:`chain_of` the event's scope."""
    return AuditEvent(**chained_row(chain, seq, previous, occurred_at, **fields))


def record(
    dbsession: Session,
    actor: Actor,
    *,
    tenant_id: int | None,
    action: str,
    entity_type: str,
    entity_id: EntityId,
    study_id: int | None = None,
    site_id: int | None = None,
    subject_id: int | None = None,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append one event, by ``actor``, to its chain, in the caller's transaction."""
    fields = dict(locals())
    del fields["dbsession"], fields["actor"]
    return record_many(dbsession, actor, [fields])[0]


def record_many(
    dbsession: Session, actor: Actor, events: Sequence[Mapping[str, Any]]
) -> list[AuditEvent]:
    """Append the events of one action by ``actor`` (a save changing fifty values) to their
    chains, in the
    caller's transaction: one reading of the database clock, which they share, and a fixed
    number of statements whatever their number — for chains not yet written in this
    transaction, one to lock them (PostgreSQL) and one to read their last links with the clock;
    else one for the clock; then one INSERT returning the stored rows. Each event takes
    :func:`record`'s keyword arguments."""
    if not events:
        return []
    made = _chained_rows(dbsession, actor, events)
    by_link = {(e.chain, e.seq): e for e in _insert(dbsession, made)}
    return [by_link[(row["chain"], row["seq"])] for row in made]


def record_ids(
    dbsession: Session,
    actor: Actor,
    events: Sequence[Mapping[str, Any]],
    *,
    heads: Heads | None = None,
) -> list[int]:
    """:func:`record_many` for a caller that needs only the new events' ids (a save writing
    fifty values, each pointing at its event): the same rows, chained and hashed the same, in
    one INSERT of plain rows returning the ids, without building an ``AuditEvent`` object
    (nor the session's identity map entry) for each. ``heads``: the clock and last links of
    the events' chains the caller read holding their locks (:func:`head_columns`), which are
    then not read again."""
    if not events:
        return []
    made = _chained_rows(dbsession, actor, events, heads)  # which flushed the session
    if _is_postgresql(dbsession):  # plain rows: no ORM execution to set up
        returned = plain_rows(dbsession, _RECORDSET_IDS, _recordset(made), flush=False)
    else:
        returned = dbsession.connection().execute(_INSERT_IDS, made).all()
    by_link = {(chain, seq): id_ for chain, seq, id_ in returned}
    return [by_link[(row["chain"], row["seq"])] for row in made]


def _chained_rows(
    dbsession: Session,
    actor: Actor,
    events: Sequence[Mapping[str, Any]],
    heads: Heads | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``events`` by ``actor``, each linked to the last of its chain (locked and
    read once per transaction, or as ``heads`` read them) and hashed, sharing one reading of
    the database clock."""
    who = actor.audited()
    links = _links_written(dbsession.connection())
    given = [_OPTIONAL | event for event in events]
    chains: dict[tuple[Any, Any, Any], str] = {}  # chain_of once per scope, not per event
    for fields in given:
        scope = (fields["tenant_id"], fields["study_id"], fields["subject_id"])
        if scope not in chains:
            chains[scope] = chain_of(*scope)
    placed = [(chains[(f["tenant_id"], f["study_id"], f["subject_id"])], f) for f in given]
    unread = sorted({chain for chain, _fields in placed} - links.keys())
    if heads is not None and heads[1].keys() >= set(unread):
        occurred_at = heads[0]
        links.update((chain, heads[1][chain]) for chain in unread)
    elif unread:
        lock_chains(dbsession, unread)
        dbsession.flush()  # earlier events of this transaction must be visible to the read
        occurred_at, lasts = last_links(dbsession, unread)
        links.update(lasts)
    else:
        occurred_at = database_now(dbsession)
    return _linked_rows(placed, links, occurred_at, _timestamp(occurred_at), who)


def _insert(dbsession: Session, rows: list[dict[str, Any]]) -> Sequence[AuditEvent]:
    """One INSERT of ``rows`` returning the stored events.

    On PostgreSQL the rows travel as one JSON parameter, made rows by the server: a statement
    of fixed text, which the driver prepares and caches, where fifty rows of VALUES would be a
    new ~950-parameter statement for it to parse on every save. ``populate_existing``: SQLite may
    give a rolled-back event's id again; ``render_nulls``: one VALUES statement for the batch
    (the ORM would otherwise send one per pattern of NULLs)."""
    options = {"populate_existing": True}
    if not _is_postgresql(dbsession):
        statement = insert(AuditEvent).returning(AuditEvent)
        statement = statement.execution_options(render_nulls=True, **options)
        return dbsession.scalars(statement, rows).all()
    return dbsession.scalars(_RECORDSET.execution_options(**options), _recordset(rows)).all()


def _links_written(connection: Connection) -> dict[str, tuple[int, str]]:
    """The last link this transaction appended to each chain, so that a save writing fifty
    events locks and reads its chain once instead of fifty times.

    The chain's lock (PostgreSQL) or the database write lock (SQLite) is held until the
    transaction ends, so nobody else can append meanwhile. What is remembered is valid only at
    the savepoint level where it was written: a new transaction or a savepoint begun, released
    or rolled back since makes :func:`record_many` lock and read the chain again. Code
    appending events otherwise must do so in a transaction of its own.
    """
    return _remembered(connection)[2]


def _held(connection: Connection) -> set[str]:
    """The chains whose lock this transaction took, at the level :func:`_links_written` keeps
    its links (a savepoint rolled back may have released them)."""
    return _remembered(connection)[3]


def _remembered(
    connection: Connection,
) -> tuple[Any, Any, dict[str, tuple[int, str]], set[str]]:
    level = (connection.get_transaction(), connection.get_nested_transaction())
    remembered = connection.info.get(_LINKS)
    if remembered is None or remembered[0] is not level[0] or remembered[1] is not level[1]:
        remembered = connection.info[_LINKS] = (*level, {}, set())
    return remembered


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


# --- checkpoints -------------------------------------------------------------------------------

Heads = dict[str, tuple[int | None, int, str]]  # chain -> (tenant id, seq, hash)


def merkle_root(heads: Mapping[str, tuple[int | None, int, str]]) -> str:
    """The Merkle root over the chains' heads in chain order (RFC 6962's leaf and node
    prefixes, an odd node carried up as is); the genesis hash for none."""
    level = [
        hashlib.sha256(f"\x00{chain}\n{seq}\n{head}".encode()).digest()
        for chain, (_tenant, seq, head) in sorted(heads.items())
    ]
    if not level:
        return GENESIS
    while len(level) > 1:
        pairs = itertools.zip_longest(level[::2], level[1::2])
        level = [hashlib.sha256(b"\x01" + a + b).digest() if b else a for a, b in pairs]
    return level[0].hex()


def checkpoint_hash(checkpoint: AuditCheckpoint, moved: Heads) -> str:
    """The checkpoint and the heads it recorded, hashed over the previous checkpoint's hash."""
    body = {
        "seq": checkpoint.seq,
        "created_at": _timestamp(checkpoint.created_at),
        "chains": checkpoint.chains,
        "events": checkpoint.events,
        "root": checkpoint.root,
        "heads": [[chain, *head] for chain, head in sorted(moved.items())],
    }
    return hashlib.sha256(checkpoint.prev_hash.encode() + canonical_json(body)).hexdigest()


def current_heads(dbsession: Session) -> Heads:
    """Every chain's last event, one index probe per chain (a loose index scan)."""
    rows = dbsession.execute(
        text(
            "WITH RECURSIVE chains(chain) AS ("
            " SELECT min(chain) FROM audit_event"
            " UNION ALL SELECT (SELECT min(chain) FROM audit_event WHERE chain > chains.chain)"
            " FROM chains WHERE chains.chain IS NOT NULL)"
            " SELECT e.chain, e.tenant_id, e.seq, e.hash FROM chains JOIN audit_event e"
            " ON e.chain = chains.chain"
            " AND e.seq = (SELECT max(m.seq) FROM audit_event m WHERE m.chain = chains.chain)"
        )
    )
    return {chain: (tenant_id, seq, head) for chain, tenant_id, seq, head in rows}


def recorded_heads(dbsession: Session) -> Heads:
    """Every chain's head as the last checkpoint mentioning it saw it."""
    rows = dbsession.execute(
        text(
            "SELECT h.chain, h.tenant_id, h.seq, h.hash FROM audit_checkpoint_head h"
            " WHERE h.checkpoint_id = (SELECT max(l.checkpoint_id) FROM audit_checkpoint_head l"
            " WHERE l.chain = h.chain)"
        )
    )
    return {chain: (tenant_id, seq, head) for chain, tenant_id, seq, head in rows}


def checkpoint(dbsession: Session) -> AuditCheckpoint | None:
    """Record the chains' heads that moved since the last checkpoint, with a Merkle root over
    every head ever recorded and a hash chained to the previous checkpoint; None when no head
    moved. Reads the committed heads: saves never wait for it."""
    lock_chains(dbsession, ["checkpoint"])
    last = dbsession.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    ).first()
    recorded = recorded_heads(dbsession)
    moved = {
        chain: head
        for chain, head in current_heads(dbsession).items()
        if recorded.get(chain) != head
    }
    if last is not None and not moved:
        return None
    heads = {**recorded, **moved}
    made = AuditCheckpoint(
        seq=last.seq + 1 if last else 1,
        created_at=database_now(dbsession),
        chains=len(heads),
        events=sum(seq for _tenant, seq, _hash in heads.values()),
        root=merkle_root(heads),
        prev_hash=last.hash if last else GENESIS,
    )
    made.hash = checkpoint_hash(made, moved)
    dbsession.add(made)
    dbsession.flush()
    if moved:
        dbsession.execute(
            insert(AuditCheckpointHead),
            [
                {"checkpoint_id": made.id, "chain": c, "tenant_id": t, "seq": s, "hash": h}
                for c, (t, s, h) in moved.items()
            ],
        )
    return made


@job("datacapt.audit.checkpoint", every=CHECKPOINT_EVERY)
def checkpoint_job(ctx: JobContext) -> None:
    """The worker's periodic checkpoint."""
    checkpoint(ctx.dbsession)


# --- verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    chain: str
    count: int
    broken: AuditEvent | None = None  # the first event whose link or hash does not match
    problem: str | None = None  # what is wrong (with no event to name: events missing at the end)
    head: str = GENESIS  # the hash of the last event verified: worth keeping outside the database

    @property
    def intact(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class CheckpointReport:
    count: int
    root: str = GENESIS  # the last checkpoint's root
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


#: Per chain: the heads the checkpoints saw, seq -> (hash, checkpoint seq).
Seen = dict[str, dict[int, tuple[str, int]]]


def verify_checkpoints(
    dbsession: Session, tenant_id: int | None = None
) -> tuple[CheckpointReport, Seen]:
    """Check every checkpoint's hash and link and the last one's root; return what they saw of
    the chains (of one tenant, if given) for :func:`verify_all` to find in them."""
    moved: dict[int, Heads] = {}
    for row in dbsession.execute(
        select(
            AuditCheckpointHead.checkpoint_id,
            AuditCheckpointHead.chain,
            AuditCheckpointHead.tenant_id,
            AuditCheckpointHead.seq,
            AuditCheckpointHead.hash,
        )
    ):
        moved.setdefault(row.checkpoint_id, {})[row.chain] = (row.tenant_id, row.seq, row.hash)
    seen: Seen = {}
    heads: Heads = {}
    previous, count, last = GENESIS, 0, None
    stored = (  # populate_existing: what is stored, not what this session loaded before
        select(AuditCheckpoint)
        .order_by(AuditCheckpoint.seq)
        .execution_options(populate_existing=True)
    )
    for last in dbsession.scalars(stored):
        count += 1
        delta = moved.get(last.id, {})
        problem = None
        if last.seq != count:
            problem = f"checkpoint {count} is missing (found {last.seq} in its place)"
        elif last.prev_hash != previous:
            problem = f"checkpoint {last.seq} does not follow the previous checkpoint"
        elif checkpoint_hash(last, delta) != last.hash:
            problem = f"checkpoint {last.seq} does not match its hash"
        if problem:
            return CheckpointReport(count - 1, problem=problem), seen
        previous = last.hash
        heads.update(delta)
        for chain, (tenant, seq, head) in delta.items():
            if tenant_id is None or tenant == tenant_id:
                seen.setdefault(chain, {})[seq] = (head, last.seq)
    if last is not None and merkle_root(heads) != last.root:
        problem = f"checkpoint {last.seq}: its root does not match the heads recorded"
        return CheckpointReport(count, problem=problem), seen
    return CheckpointReport(count, root=last.root if last else GENESIS), seen


def _stream(dbsession: Session, *where: ColumnElement[bool]) -> Iterator[Row[Any]]:
    """The events, by chain then seq, as plain rows (a server-side cursor on PostgreSQL): the
    hashed fields with the time already in canonical text, then prev_hash, hash, id and the
    fields hashed only when set."""
    if _is_postgresql(dbsession):
        utc = func.timezone("UTC", AuditEvent.occurred_at)
        stamp = func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"', type_=String)
    else:  # SQLite holds 'YYYY-MM-DD HH:MM:SS.ffffff', naive UTC
        stamp = func.replace(AuditEvent.occurred_at, " ", "T", type_=String) + "Z"
    columns = [
        stamp if name == "occurred_at" else getattr(AuditEvent, name)
        for name in (*HASHED_FIELDS, "prev_hash", "hash", "id", *HASHED_WHEN_SET)
    ]
    statement = select(*columns).where(*where).order_by(AuditEvent.chain, AuditEvent.seq)
    result = dbsession.connection().execute(statement.execution_options(yield_per=5000))
    for partition in result.partitions():
        yield from partition


def _walk(
    chain: str,
    rows: Iterable[Row[Any]],
    seen: Mapping[int, tuple[str, int]],
    load: Callable[[int], AuditEvent | None],
) -> ChainReport:
    """Recompute one chain's hashes in order; stop at the first event out of place."""
    previous, count = GENESIS, 0
    hashed_chain = _hashed_chain(chain)
    sha256, fields = hashlib.sha256, HASHED_FIELDS
    for row in rows:
        count += 1
        problem = None
        if row[1] != count:
            problem = f"sequence {row[1]} where {count} was due"
        elif row[17] != previous:
            problem = "does not follow the previous event"
        else:
            values = dict(zip(fields, row, strict=False))  # the row has more
            values["chain"] = hashed_chain
            for offset, name in enumerate(HASHED_WHEN_SET, start=20):
                if row[offset] is not None:
                    values[name] = row[offset]
            if sha256(previous.encode() + canonical_json(values)).hexdigest() != row[18]:
                problem = "its content does not match its hash"
            elif count in seen and seen[count][0] != row[18]:
                problem = f"not the event checkpoint {seen[count][1]} saw"
        if problem:
            return ChainReport(chain, count, load(row[19]), problem)
        previous = row[18]
    beyond = [(seq, checkpoint) for seq, (_hash, checkpoint) in seen.items() if seq > count]
    if beyond:
        seq, by = max(beyond)
        missing = f"event {count + 1}" + (f" to {seq}" if seq > count + 1 else "")
        if count == 0:
            problem = f"the whole chain is missing: checkpoint {by} saw {seq} events"
        else:
            problem = f"{missing} missing: checkpoint {by} saw it up to seq {seq}"
        return ChainReport(chain, count, None, problem, previous)
    return ChainReport(chain, count, head=previous)


def verify(dbsession: Session, chain: str) -> ChainReport:
    """Walk one chain in order, recomputing every hash; stop at the first broken link."""
    seen = verify_checkpoints(dbsession)[1].get(chain, {})
    rows = _stream(dbsession, AuditEvent.chain == chain)
    return _walk(chain, rows, seen, lambda id_: dbsession.get(AuditEvent, id_))


def verify_all(
    dbsession: Session, tenant_id: int | None = None, seen: Seen | None = None
) -> Iterator[ChainReport]:
    """Every chain (of one tenant, if given) in one streamed pass, then every chain the
    checkpoints saw that no longer exists. ``seen``: from :func:`verify_checkpoints`."""
    if seen is None:
        seen = verify_checkpoints(dbsession, tenant_id)[1]
    where = [] if tenant_id is None else [AuditEvent.tenant_id == tenant_id]
    walked = set()
    rows = _stream(dbsession, *where)
    for chain, group in itertools.groupby(rows, key=itemgetter(0)):
        walked.add(chain)
        yield _walk(chain, group, seen.get(chain, {}), lambda id_: dbsession.get(AuditEvent, id_))
    for chain in sorted(seen.keys() - walked):
        yield _walk(chain, (), seen[chain], lambda id_: None)


def includeme(config: Configurator) -> None:
    config.add_request_method(lambda request: uuid.uuid4().hex, "request_id", reify=True)
