"""The audit trail: append-only by database triggers, chained per tenant, tampering detected."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from datacapt import audit
from datacapt.actor import Actor
from datacapt.models import AuditEvent
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


def test_each_tenant_has_its_own_intact_chain(dbsession, tenants):
    acme, globex = tenants
    for number in range(1, 4):
        event(dbsession, acme, number)
    event(dbsession, globex, 1)
    assert [
        (e.seq, e.action)
        for e in dbsession.scalars(
            select(AuditEvent).where(AuditEvent.chain == acme.id).order_by(AuditEvent.seq)
        )
    ] == [(1, "tenant.created"), (2, "test.changed"), (3, "test.changed"), (4, "test.changed")]
    assert audit.verify(dbsession, acme.id).intact
    assert audit.verify(dbsession, acme.id).count == 4
    assert audit.verify(dbsession, globex.id).count == 2


def test_time_comes_from_the_database_clock(dbsession, tenants):
    before = audit.database_now(dbsession)
    recorded = event(dbsession, tenants[0], 1)
    assert recorded.occurred_at >= before
    assert recorded.occurred_at.tzinfo is not None


def test_a_transaction_reads_its_chain_once_however_many_events_it_writes(
    dbsession, tenants, query_counter
):
    event(dbsession, tenants[0], 1)
    query_counter.clear()
    for number in range(2, 12):
        event(dbsession, tenants[0], number)
    reads = [s for s in query_counter if "ORDER BY audit_event.seq DESC" in s]
    locks = [s for s in query_counter if "pg_advisory_xact_lock" in s]
    assert reads == [] and locks == []
    # the clock, the insert, the read back of the stored row
    assert len(query_counter) == 10 * 3, "\n".join(query_counter)
    # another chain, untouched in this transaction (tenants' creation wrote to theirs), is read
    # and locked for itself
    audit.record(
        dbsession, SYSTEM, tenant_id=None, action="test.changed", entity_type="thing", entity_id=1
    )
    assert len([s for s in query_counter if "ORDER BY audit_event.seq DESC" in s]) == 1
    assert audit.verify(dbsession, tenants[0].id).count == 12  # with the tenant's creation


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
    assert audit.verify(dbsession, acme.id).intact


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET new_value = 'forged'",
        "DELETE FROM audit_event",
    ],
)
def test_database_refuses_to_change_or_delete_events(dbsession, tenants, statement):
    event(dbsession, tenants[0], 1)
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
    report = audit.verify(dbsession, acme.id)
    assert not report.intact
    assert report.broken.id == events[2].id
    assert "does not match its hash" in report.problem


def test_verify_notices_a_deleted_event(dbsession, tenants):
    acme = tenants[0]
    events = [event(dbsession, acme, number) for number in range(1, 4)]
    behind_the_triggers(dbsession, "DELETE FROM audit_event WHERE id = :id", id=events[1].id)
    dbsession.expire_all()
    report = audit.verify(dbsession, acme.id)
    assert report.broken.id == events[2].id


#: Every column that enters the hash, plus the two hashes themselves.
ALTERABLE = (
    *(name for name in audit.HASHED_FIELDS if name not in ("chain", "seq")),
    "prev_hash",
    "hash",
)
VALUES = st.one_of(st.none(), st.text(max_size=30), st.integers(-(10**6), 10**6))
EVENTS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),  # which tenant
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
        dbsession.execute(text("DROP TRIGGER audit_event_no_update"))
        dbsession.execute(text("DROP TRIGGER audit_event_no_delete"))
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
    """Alter one stored event; return the event verify must name (None: the tail is gone, which
    only a head kept outside the database reveals)."""

    def at(seq: int) -> AuditEvent | None:
        return dbsession.scalar(
            select(AuditEvent).where(AuditEvent.chain == victim.chain, AuditEvent.seq == seq)
        )

    with triggers_off(dbsession):
        if how == "edit":
            setattr(victim, field, altered(field, getattr(victim, field)))
            return victim
        if how == "delete":
            later = at(victim.seq + 1)
            dbsession.delete(victim)
            return later
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
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=EVENTS,
    victim=st.integers(min_value=0),
    how=st.sampled_from(["edit", "delete", "swap"]),
    distance=st.integers(min_value=0),
    field=st.sampled_from(ALTERABLE),
)
def test_any_sequence_verifies_and_any_single_alteration_is_found(
    dbsession, events, victim, how, field, distance
):
    nested = dbsession.begin_nested()
    tenants = [create_tenant(dbsession, f"prop-{n}", f"Property {n}") for n in range(3)]
    recorded = [
        audit.record(
            dbsession,
            SYSTEM,
            tenant_id=tenants[which].id,
            action=action,
            entity_type="item",
            entity_id=number,
            field="value",
            old=old,
            new=new,
            reason=reason,
        )
        for number, (which, action, old, new, reason) in enumerate(events)
    ]
    heads = {}
    for tenant in tenants:
        report = audit.verify(dbsession, tenant.id)
        assert report.intact
        assert report.count == 1 + sum(1 for e in recorded if e.chain == tenant.id)
        heads[tenant.id] = report.head
    target = recorded[victim % len(recorded)]
    named = tamper(dbsession, target, how, field, distance)
    dbsession.expire_all()
    report = audit.verify(dbsession, target.chain)
    if named is None:  # the last event deleted: the chain is whole, but its head has moved
        assert report.intact and report.head != heads[target.chain]
    else:
        assert not report.intact
        assert report.broken.id == named.id
    for tenant in tenants:  # the other chains are untouched
        if tenant.id != target.chain:
            assert audit.verify(dbsession, tenant.id).head == heads[tenant.id]
    nested.rollback()
