"""The audit trail: append-only by database triggers, chained per tenant, tampering detected."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from datacapt import audit
from datacapt.models import AuditEvent
from datacapt.studies.services import create_tenant


@pytest.fixture
def tenants(dbsession):
    return create_tenant(dbsession, "acme", "Acme"), create_tenant(dbsession, "globex", "Globex")


def event(dbsession, tenant, number, **extra):
    return audit.record(
        dbsession,
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
        e.seq
        for e in dbsession.scalars(
            select(AuditEvent).where(AuditEvent.chain == acme.id).order_by(AuditEvent.seq)
        )
    ] == [1, 2, 3]
    assert audit.verify(dbsession, acme.id).intact
    assert audit.verify(dbsession, acme.id).count == 3
    assert audit.verify(dbsession, globex.id).count == 1


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
    assert len(query_counter) == 10 * 2, "\n".join(query_counter)  # the clock, the insert
    event(dbsession, tenants[1], 1)  # another chain is read and locked for itself
    assert len([s for s in query_counter if "ORDER BY audit_event.seq DESC" in s]) == 1
    assert audit.verify(dbsession, tenants[0].id).count == 11


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
    assert (kept.seq, last.seq) == (2, 4)
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


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.one_of(st.none(), st.text(max_size=50), st.integers()), min_size=1, max_size=8
    ),
    victim=st.integers(min_value=0),
)
def test_any_sequence_verifies_and_any_single_alteration_is_found(dbsession, values, victim):
    nested = dbsession.begin_nested()
    tenant = create_tenant(dbsession, "prop", "Property")
    recorded = [
        audit.record(
            dbsession,
            tenant_id=tenant.id,
            action="prop.set",
            entity_type="p",
            entity_id=i,
            new=value,
            reason=None if value is None else "because",
        )
        for i, value in enumerate(values)
    ]
    assert audit.verify(dbsession, tenant.id).intact
    target = recorded[victim % len(recorded)]
    behind_the_triggers(
        dbsession,
        "UPDATE audit_event SET reason = :reason WHERE id = :id",
        reason=f"{target.reason or ''}!",
        id=target.id,
    )
    dbsession.expire_all()
    assert audit.verify(dbsession, tenant.id).broken.id == target.id
    nested.rollback()
