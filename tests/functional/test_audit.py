"""The audit trail: append-only by database triggers, chained per subject (else study, tenant,
platform), checkpointed, tampering detected."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from datacapt import audit, jobs
from datacapt.actor import Actor
from datacapt.models import AuditCheckpoint, AuditCheckpointHead, AuditEvent
from datacapt.studies.services import create_tenant

SYSTEM = Actor.system("tests")


@pytest.fixture
def tenants(dbsession):
    return create_tenant(dbsession, "acme", "Acme"), create_tenant(dbsession, "globex", "Globex")


def event(dbsession, tenant, number, **extra):
    return audit.record(
        dbsession,
        SYSTEM,
        tenant_id=tenant.id,
        action="test.changed",
        entity_type="thing",
        entity_id=number,
        field="value",
        old=number - 1,
        new=number,
        **extra,
    )


def behind_the_triggers(dbsession, statement: str, **params) -> None:
    """What a database superuser could do: switch the triggers off and edit a row."""
    dialect = dbsession.get_bind().dialect.name
    if dialect == "postgresql":
        dbsession.execute(text("SET LOCAL session_replication_role = replica"))
        dbsession.execute(text(statement), params)
        dbsession.execute(text("SET LOCAL session_replication_role = origin"))
    else:
        dbsession.execute(text("DROP TRIGGER audit_event_no_update"))
        dbsession.execute(text("DROP TRIGGER audit_event_no_delete"))
        dbsession.execute(text(statement), params)


def test_each_event_joins_the_chain_of_its_narrowest_scope(dbsession, tenants):
    acme, globex = tenants
    for number in range(1, 4):
        event(dbsession, acme, number, study_id=5, subject_id=50)
    event(dbsession, acme, 4, study_id=5)
    event(dbsession, globex, 1)
    platform = audit.record(
        dbsession, SYSTEM, tenant_id=None, action="test.changed", entity_type="thing", entity_id=1
    )
    reports = {report.chain: report for report in audit.verify_all(dbsession)}
    assert {chain: (r.count, r.intact) for chain, r in reports.items()} == {
        "subject:50": (3, True),
        "study:5": (1, True),
        f"tenant:{acme.id}": (1, True),  # its creation
        f"tenant:{globex.id}": (2, True),
        "platform": (1, True),
    }
    assert platform.chain == "platform" and platform.seq == 1
    subject = select(AuditEvent).where(AuditEvent.chain == "subject:50")
    assert [e.seq for e in dbsession.scalars(subject.order_by(AuditEvent.seq))] == [1, 2, 3]
    assert audit.verify(dbsession, "subject:50").head == reports["subject:50"].head
    assert {r.chain for r in audit.verify_all(dbsession, tenant_id=acme.id)} == {
        "subject:50",
        "study:5",
        f"tenant:{acme.id}",
    }


def test_last_links_read_the_chains_asked_whatever_their_number(dbsession, tenants):
    """The statement reading the chains' last links is built once per number of chains (and
    database): the chains asked are its parameters, so each reading answers for its own."""
    acme, _globex = tenants
    first = event(dbsession, acme, 1, study_id=5, subject_id=50)
    second = event(dbsession, acme, 2, study_id=5, subject_id=51)
    third = event(dbsession, acme, 3, study_id=5, subject_id=51)
    dbsession.flush()
    _now, one = audit.last_links(dbsession, ["subject:50"])
    assert one == {"subject:50": (1, first.hash)}
    _now, other = audit.last_links(dbsession, ["subject:51"])
    assert other == {"subject:51": (2, third.hash)} and second.seq == 1
    _now, both = audit.last_links(dbsession, ["subject:51", "subject:52"])
    assert both == {"subject:51": (2, third.hash), "subject:52": (0, audit.GENESIS)}
    _now, three = audit.last_links(dbsession, ["subject:52", "subject:50", "subject:51"])
    assert three == {
        "subject:52": (0, audit.GENESIS),
        "subject:50": (1, first.hash),
        "subject:51": (2, third.hash),
    }


def test_time_comes_from_the_database_clock(dbsession, tenants):
    before = audit.database_now(dbsession)
    recorded = event(dbsession, tenants[0], 1)
    assert recorded.occurred_at >= before
    assert recorded.occurred_at.tzinfo is not None


def saved_values(tenant, subject_id: int, count: int) -> list[dict]:
    return [
        {
            "tenant_id": tenant.id,
            "study_id": 5,
            "site_id": 6,
            "subject_id": subject_id,
            "action": "entry.value_changed",
            "entity_type": "form_instance",
            "entity_id": 9,
            "field": f"item{number}",
            "new": number,
        }
        for number in range(count)
    ]


def test_a_save_of_fifty_values_writes_its_chain_in_a_few_statements(
    dbsession, tenants, query_counter
):
    """PostgreSQL: lock the subject's chain, read its last link with the clock, one INSERT
    returning the rows (SQLite needs no lock statement: BEGIN IMMEDIATE took the database)."""
    postgresql = dbsession.get_bind().dialect.name == "postgresql"
    query_counter.clear()
    made = audit.record_many(dbsession, SYSTEM, saved_values(tenants[0], 50, 50))
    assert [e.seq for e in made] == list(range(1, 51)) and all(e.id for e in made)
    locks = [s for s in query_counter if "pg_advisory_xact_lock" in s]
    assert len(locks) == (1 if postgresql else 0)
    assert len(query_counter) == (3 if postgresql else 2), "\n".join(query_counter)
    # the chain is held and known until the transaction ends: the clock and the INSERT
    query_counter.clear()
    more = audit.record_many(dbsession, SYSTEM, saved_values(tenants[0], 50, 2))
    assert [e.seq for e in more] == [51, 52]
    assert len(query_counter) == 2, "\n".join(query_counter)
    # another subject's chain is locked and read for itself
    query_counter.clear()
    audit.record_many(dbsession, SYSTEM, saved_values(tenants[0], 51, 2))
    assert len([s for s in query_counter if "pg_advisory_xact_lock" in s]) == (
        1 if postgresql else 0
    )
    assert audit.verify(dbsession, "subject:50").count == 52


def test_writers_of_different_subjects_do_not_wait_for_each_other(dbsession, engine, tenants):
    """This transaction holds subject 50's chain; another may write subject 51's at once, and
    waits for 50's (PostgreSQL; SQLite has one writer at a time, by BEGIN IMMEDIATE)."""
    audit.record_many(dbsession, SYSTEM, saved_values(tenants[0], 50, 1))
    if dbsession.get_bind().dialect.name != "postgresql":
        assert dbsession.connection().in_transaction()
        return
    with Session(engine) as other:
        other.execute(text("SET LOCAL lock_timeout = '200ms'"))
        assert audit.record_many(other, SYSTEM, saved_values(tenants[0], 51, 3))[-1].seq == 3
        nested = other.begin_nested()
        with pytest.raises(DBAPIError, match="lock timeout"):
            audit.record_many(other, SYSTEM, saved_values(tenants[0], 50, 1))
        nested.rollback()
        other.rollback()


def test_after_a_savepoint_rolled_back_the_chain_continues_from_what_was_kept(dbsession, tenants):
    acme = tenants[0]
    event(dbsession, acme, 1)
    savepoint = dbsession.begin_nested()
    event(dbsession, acme, 2)
    savepoint.rollback()
    kept = event(dbsession, acme, 3)
    inner = dbsession.begin_nested()
    event(dbsession, acme, 4)
    inner.commit()
    last = event(dbsession, acme, 5)
    assert (kept.seq, last.seq) == (3, 5)  # seq 1: the tenant's creation
    assert audit.verify(dbsession, f"tenant:{acme.id}").intact


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET new_value = 'forged'",
        "DELETE FROM audit_event",
        "UPDATE audit_checkpoint SET root = 'forged'",
        "DELETE FROM audit_checkpoint",
        "UPDATE audit_checkpoint_head SET seq = 1",
        "DELETE FROM audit_checkpoint_head",
    ],
)
def test_database_refuses_to_change_or_delete_events(dbsession, tenants, statement):
    event(dbsession, tenants[0], 1)
    assert audit.checkpoint(dbsession) is not None
    nested = dbsession.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        dbsession.execute(text(statement))
    nested.rollback()


def test_verify_names_the_event_edited_behind_the_triggers(dbsession, tenants):
    acme = tenants[0]
    events = [event(dbsession, acme, number) for number in range(1, 6)]
    behind_the_triggers(
        dbsession, "UPDATE audit_event SET new_value = '999' WHERE id = :id", id=events[2].id
    )
    dbsession.expire_all()
    report = audit.verify(dbsession, f"tenant:{acme.id}")
    assert not report.intact
    assert report.broken.id == events[2].id
    assert "does not match its hash" in report.problem


def test_verify_notices_a_deleted_event(dbsession, tenants):
    acme = tenants[0]
    events = [event(dbsession, acme, number) for number in range(1, 4)]
    behind_the_triggers(dbsession, "DELETE FROM audit_event WHERE id = :id", id=events[1].id)
    dbsession.expire_all()
    report = audit.verify(dbsession, f"tenant:{acme.id}")
    assert report.broken.id == events[2].id


#: Every column that enters the hash, plus the two hashes themselves.
ALTERABLE = (
    *(name for name in audit.HASHED_FIELDS if name not in ("chain", "seq")),
    *audit.HASHED_WHEN_SET,
    "prev_hash",
    "hash",
)
VALUES = st.one_of(st.none(), st.text(max_size=30), st.integers(-(10**6), 10**6))
#: Where an event may be: the platform, tenant 0, its study, a subject of it, another tenant's.
SCOPES = (
    {},
    {"tenant": 0},
    {"tenant": 0, "study_id": 1},
    {"tenant": 0, "study_id": 1, "site_id": 2, "subject_id": 10},
    {"tenant": 1, "study_id": 3, "site_id": 4, "subject_id": 11},
)
EVENTS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=len(SCOPES) - 1),
        st.sampled_from(["entry.value_changed", "subject.enrolled", "design.published"]),
        VALUES,
        VALUES,
        st.one_of(st.none(), st.text(max_size=20)),
    ),
    min_size=1,
    max_size=12,
)


@contextmanager
def triggers_off(dbsession):
    """Inside a savepoint the test rolls back: what a superuser could do to the table."""
    if dbsession.get_bind().dialect.name == "postgresql":
        dbsession.execute(text("SET LOCAL session_replication_role = replica"))
        yield
        dbsession.flush()
        dbsession.execute(text("SET LOCAL session_replication_role = origin"))
    else:
        for table in ("audit_event", "audit_checkpoint"):
            dbsession.execute(text(f"DROP TRIGGER {table}_no_update"))
            dbsession.execute(text(f"DROP TRIGGER {table}_no_delete"))
        yield
        dbsession.flush()


def altered(name: str, value):
    if name == "occurred_at":
        return value + timedelta(microseconds=1)
    if name in ("hash", "prev_hash"):
        return ("1" if value[0] == "0" else "0") + value[1:]
    if name.endswith("_id") and name not in ("entity_id", "request_id"):
        return (value or 0) + 1
    return "x" if not value else value[:-1] + ("y" if value[-1] == "x" else "x")


def tamper(dbsession, victim: AuditEvent, how: str, field: str, distance: int) -> AuditEvent | None:
    """Alter the stored trail around ``victim``; return the event verify must name (None: the
    events are gone from the victim's place to the end of its chain)."""
    chain = select(AuditEvent).where(AuditEvent.chain == victim.chain)

    def at(seq: int) -> AuditEvent | None:
        return dbsession.scalar(chain.where(AuditEvent.seq == seq))

    with triggers_off(dbsession):
        if how == "edit":
            setattr(victim, field, altered(field, getattr(victim, field)))
            return victim
        if how == "delete":
            later = at(victim.seq + 1)
            dbsession.delete(victim)
            return later
        if how in ("truncate", "drop chain"):
            first = victim.seq if how == "truncate" else 1
            for gone in dbsession.scalars(chain.where(AuditEvent.seq >= first)):
                dbsession.delete(gone)
            return None
        # swap: the victim and an earlier event of its chain exchange places; walking the
        # chain meets the victim first, in the earlier event's place
        earlier = at(victim.seq - 1 - distance % (victim.seq - 1))
        victim_seq, earlier_seq = victim.seq, earlier.seq
        victim.seq = -1
        dbsession.flush()
        earlier.seq = victim_seq
        dbsession.flush()
        victim.seq = earlier_seq
        return victim


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=EVENTS,
    checkpoint_after=st.integers(min_value=0),
    victim=st.integers(min_value=0),
    how=st.sampled_from(["edit", "delete", "swap", "truncate", "drop chain"]),
    distance=st.integers(min_value=0),
    field=st.sampled_from(ALTERABLE),
)
def test_any_sequence_verifies_and_any_alteration_is_found(
    dbsession, events, checkpoint_after, victim, how, field, distance
):
    """Events spread over chains, a checkpoint somewhere among them; then one event edited,
    deleted or swapped, a chain cut short or deleted whole: verification names the first
    altered event, or the events missing where the checkpoint saw them."""
    nested = dbsession.begin_nested()
    try:
        alter_and_verify(dbsession, events, checkpoint_after, victim, how, field, distance)
    finally:
        nested.rollback()


def alter_and_verify(dbsession, events, checkpoint_after, victim, how, field, distance):
    tenants = [create_tenant(dbsession, f"prop-{n}", f"Property {n}") for n in range(2)]
    checkpoint_after %= len(events) + 1
    recorded, seen = [], {}
    for number, (where, action, old, new, reason) in enumerate(events):
        if number == checkpoint_after:
            audit.checkpoint(dbsession)
            seen = {chain: seq for chain, (_t, seq, _h) in audit.current_heads(dbsession).items()}
        scope = dict(SCOPES[where])
        tenant = scope.pop("tenant", None)
        recorded.append(
            audit.record(
                dbsession,
                # every other event by the system for someone: hashed when set, altered or not
                Actor.system("tests", on_behalf_of=number if number % 2 else None),
                tenant_id=None if tenant is None else tenants[tenant].id,
                action=action,
                entity_type="item",
                entity_id=number,
                field="value",
                old=old,
                new=new,
                reason=reason,
                **scope,
            )
        )
    if checkpoint_after == len(events):
        audit.checkpoint(dbsession)
        seen = {chain: seq for chain, (_t, seq, _h) in audit.current_heads(dbsession).items()}
    before = {report.chain: report for report in audit.verify_all(dbsession)}
    assert all(report.intact for report in before.values())
    for chain in {e.chain for e in recorded} | {f"tenant:{t.id}" for t in tenants}:
        created = chain.startswith("tenant:")  # with the tenant's creation
        assert before[chain].count == created + sum(1 for e in recorded if e.chain == chain)
    target = recorded[victim % len(recorded)]
    assume(how != "swap" or target.seq > 1)
    chain, seq, last = target.chain, target.seq, target.seq == before[target.chain].count
    named = tamper(dbsession, target, how, field, distance)
    dbsession.expire_all()
    checkpoints, _seen = audit.verify_checkpoints(dbsession)
    assert checkpoints.intact
    after = {report.chain: report for report in audit.verify_all(dbsession)}
    report = after.get(chain)
    gone_from = {"delete": seq if last else None, "truncate": seq, "drop chain": 1}.get(how)
    if named is not None:
        assert not report.intact
        assert report.broken.id == named.id
    elif seen.get(chain, 0) >= gone_from:  # the checkpoint saw what is gone
        assert not report.intact and report.broken is None
        assert report.count == gone_from - 1
        assert "missing" in report.problem
    elif gone_from == 1:  # the whole chain is gone, and no checkpoint saw it
        assert report is None
    else:  # cut after the checkpoint: whole, but its head has moved (keep heads elsewhere)
        assert report.intact and report.head != before[chain].head
    for other, kept in before.items():  # the other chains are untouched
        if other != chain:
            assert after[other].intact and after[other].head == kept.head


def test_a_checkpoint_records_the_heads_that_moved_and_is_itself_checked(dbsession, tenants):
    acme = tenants[0]
    first = audit.checkpoint(dbsession)
    assert (first.seq, first.chains) == (1, 2)  # the two tenants' creations
    assert audit.checkpoint(dbsession) is None  # nothing moved
    event(dbsession, acme, 1, study_id=5, subject_id=50)
    second = audit.checkpoint(dbsession)
    assert (second.seq, second.chains, second.prev_hash) == (2, 3, first.hash)
    heads = dbsession.scalars(
        select(AuditCheckpointHead.chain).where(AuditCheckpointHead.checkpoint_id == second.id)
    ).all()
    assert heads == ["subject:50"]
    report, seen = audit.verify_checkpoints(dbsession)
    assert report.intact and report.count == 2 and report.root == second.root
    assert seen["subject:50"] == {1: (audit.verify(dbsession, "subject:50").head, 2)}
    with triggers_off(dbsession):
        dbsession.execute(
            text("UPDATE audit_checkpoint SET root = :root WHERE id = :id"),
            {"root": "f" * 64, "id": first.id},
        )
    report, _seen = audit.verify_checkpoints(dbsession)
    assert report.problem == "checkpoint 1 does not match its hash"


def test_legacy_tenant_chains_still_verify(dbsession):
    """Events chained per tenant before per-subject chains keep their hashes: a chain named by
    digits alone hashed its name as a number."""
    made = audit.chained_event(
        "7",
        1,
        audit.GENESIS,
        audit.database_now(dbsession),
        tenant_id=7,
        action="a",
        entity_type="thing",
        entity_id=1,
    )
    assert '"chain":7,' in audit.canonical(made)
    columns = [*audit.HASHED_FIELDS, "prev_hash", "hash"]
    dbsession.execute(insert(AuditEvent), [{name: getattr(made, name) for name in columns}])
    report = audit.verify(dbsession, "7")
    assert report.intact and report.count == 1 and report.head == made.hash


class RunAtOnce:
    """A queue that runs what it is given at once (RQ's ``is_async=False``, without Redis)."""

    def enqueue(self, function, *args):
        function(*args)


def test_the_worker_checkpoints_the_trail_every_ten_minutes(
    registry, connection, dbsession, tenants, monkeypatch
):
    monkeypatch.setattr(jobs, "WORKER_REGISTRY", registry)
    due: dict = {}
    assert "datacapt.audit.checkpoint" in jobs.schedule_periodic(RunAtOnce(), due)
    assert jobs.schedule_periodic(RunAtOnce(), due) == []  # not again before its time
    [made] = dbsession.scalars(select(AuditCheckpoint)).all()
    assert made.chains == 2  # the two tenants' creations


def test_an_entity_id_is_text_whether_given_as_an_int_or_a_str(dbsession, tenants):
    """Ids and text keys are stored alike, and a reader comparing through ``entity_key`` finds
    them on every database (PostgreSQL refuses ``varchar = integer``)."""
    acme, _globex = tenants
    by_id = audit.record(
        dbsession, SYSTEM, tenant_id=acme.id, action="t", entity_type="thing", entity_id=41
    )
    by_key = audit.record(
        dbsession, SYSTEM, tenant_id=acme.id, action="t", entity_type="thing", entity_id="42"
    )
    assert (by_id.entity_id, by_key.entity_id) == ("41", "42")
    found = dbsession.scalars(
        select(AuditEvent.id).where(AuditEvent.entity_id == audit.entity_key(41))
    ).all()
    assert found == [by_id.id]


@pytest.mark.parametrize("wrong", [None, True, 4.2, b"7"])
def test_an_entity_id_that_is_neither_an_int_nor_a_str_is_refused(dbsession, tenants, wrong):
    """Not stored as ``"None"``, ``"True"``: the caller's bug shows where it is."""
    with pytest.raises(TypeError, match="int or a str"):
        audit.record(
            dbsession, SYSTEM, tenant_id=tenants[0].id, action="t", entity_type="t", entity_id=wrong
        )
