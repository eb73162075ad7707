"""Plain-row statements on the session's connection (query counts on the form page, open
queries on the subject list) still see what the request changed and has not flushed yet, as
``Session.execute`` would, on both databases; those read through the driver's cursor
(``datacapt.plain_rows``) give what SQLAlchemy's Core would and are counted by the engine's
listeners (their failures: ``test_plain_rows_server``)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from datacapt.models import FormInstance, QueryState, TenantRoleAssignment, User
from datacapt.plain_rows import plain_rows, plain_write
from datacapt.queries.summary import counts_by_item
from datacapt.security import TenantRole
from datacapt.subjects.services import open_queries_by_subject
from tests.factories import add_queries, build_world


def test_query_counts_see_a_state_changed_in_the_session(dbsession, registry):
    world = build_world(dbsession, registry)
    query = add_queries(dbsession, world)["par01-0001"]
    instance = dbsession.get(FormInstance, query.form_instance_id)
    request = SimpleNamespace(dbsession=dbsession)
    assert counts_by_item(request, instance)[None].open == 1
    query.state = QueryState.ANSWERED
    counts = counts_by_item(request, instance)[None]
    assert (counts.open, counts.answered, counts.closed) == (0, 1, 0)
    assert counts_by_item(request, None) == {}


def test_open_queries_by_subject_for_a_page_of_many_ids(dbsession, registry):
    world = build_world(dbsession, registry)
    found = add_queries(dbsession, world)
    paris, berlin = world.subjects["par01-0001"].id, world.subjects["ber01-0001"].id
    others = list(range(10**6, 10**6 + 60))  # more ids than a statement's cached parameters
    study = world.study.id
    found_by_subject = open_queries_by_subject(dbsession, study, [paris, berlin, *others])
    assert found_by_subject == {paris: 1, berlin: 1}
    assert open_queries_by_subject(dbsession, study + 1, [paris, berlin]) == {}
    dbsession.expire_all()
    instance = dbsession.get(FormInstance, found["par01-0001"].form_instance_id)
    instance.answered_queries = 1
    assert open_queries_by_subject(dbsession, study, [paris, berlin]) == {berlin: 1}
    assert open_queries_by_subject(dbsession, study, []) == {}


ROLES = (
    select(User.id, User.email, User.created_at, TenantRoleAssignment.role)
    .join(TenantRoleAssignment, TenantRoleAssignment.user_id == User.id)
    .where(User.email == bindparam("email"))
)


def test_rows_are_the_ones_core_reads_converted_by_their_types(dbsession: Session, registry):
    """The role comes back as its enumeration, the time aware in UTC, by position and by name."""
    build_world(dbsession, registry)
    parameters = {"email": "tenant-admin@example.org"}
    rows = plain_rows(dbsession, ROLES, parameters)
    assert rows == [tuple(row) for row in dbsession.execute(ROLES, parameters)]
    (row,) = rows
    assert row.role is TenantRole.TENANT_ADMIN
    assert row.email == "tenant-admin@example.org"
    assert row.created_at.utcoffset() is not None
    assert row.created_at.tzinfo == UTC
    assert plain_rows(dbsession, ROLES, {"email": "nobody-at-all@example.org"}) == []


def test_values_written_in_the_statement_are_sent_converted(dbsession: Session, registry):
    """A role written in the statement is sent as its type stores it; a limit as it is."""
    build_world(dbsession, registry)
    admins = (
        select(User.email, TenantRoleAssignment.role)
        .join(TenantRoleAssignment, TenantRoleAssignment.user_id == User.id)
        .where(TenantRoleAssignment.role == TenantRole.TENANT_ADMIN, User.email != "x@example.org")
        .order_by(User.email)
        .limit(1)
    )
    rows = plain_rows(dbsession, admins, {})
    assert rows == [tuple(row) for row in dbsession.execute(admins)]
    assert [row.role for row in rows] == [TenantRole.TENANT_ADMIN]
    assert (
        plain_rows(dbsession, admins.where(User.email == bindparam("email")), {"email": "no"}) == []
    )


def test_a_statement_rendered_per_execution_is_read_through_core(dbsession: Session, registry):
    """An expanding list becomes as many placeholders as it has values, at each execution."""
    build_world(dbsession, registry)
    listed = select(User.email).where(User.email.in_(bindparam("emails", expanding=True)))
    emails = ["root@example.org", "nobody@example.org", "nowhere@example.org"]
    found = plain_rows(dbsession, listed.order_by(User.email), {"emails": emails})
    assert found == [("nobody@example.org",), ("root@example.org",)]


def test_the_session_is_flushed_first_unless_asked_not_to(dbsession: Session, registry):
    world = build_world(dbsession, registry)
    world.users["nobody"].email = "renamed@example.org"
    by_email = select(User.id).where(User.email == bindparam("email"))
    assert plain_rows(dbsession, by_email, {"email": "renamed@example.org"}, flush=False) == []
    found = plain_rows(dbsession, by_email, {"email": "renamed@example.org"})
    assert found == [(world.users["nobody"].id,)]


def test_the_engines_listeners_hear_the_statement(dbsession: Session, registry, query_counter):
    build_world(dbsession, registry)
    query_counter.clear()
    plain_rows(dbsession, ROLES, {"email": "tenant-admin@example.org"})
    assert len(query_counter) == 1
    assert "FROM user_account" in query_counter[0]


ROLE = TenantRoleAssignment
RENAMED = (
    update(ROLE)
    .where(ROLE.user_id == bindparam("user"), ROLE.role == bindparam("was"))
    .values(role=bindparam("role", type_=ROLE.role.type), created_at=bindparam("at"))
)


def test_a_write_sends_the_callers_values_as_their_types_store_them(
    dbsession: Session, registry, query_counter
):
    """A role given as its enumeration and a time in Paris are written as their columns keep
    them; the rows RETURNING gives back are read as Core reads them, an unnamed column by its
    position; a write without RETURNING tells how many rows it wrote."""
    world = build_world(dbsession, registry)
    user = world.users["tenant_admin"].id
    at = datetime(2026, 12, 3, 14, 5, tzinfo=ZoneInfo("Europe/Paris"))
    returning = RENAMED.returning(ROLE.role, ROLE.created_at, ROLE.user_id + 0)
    query_counter.clear()
    given = {"user": user, "was": TenantRole.TENANT_ADMIN, "role": TenantRole.DPO, "at": at}
    (row,) = plain_rows(dbsession, returning, given, flush=False)
    assert len(query_counter) == 1
    assert row.role is TenantRole.DPO
    assert row.created_at == at
    assert row.created_at.tzinfo == UTC
    assert row[2] == user
    dbsession.expire_all()
    stored = dbsession.execute(select(ROLE.role, ROLE.created_at).where(ROLE.user_id == user))
    assert [tuple(found) for found in stored] == [(TenantRole.DPO, at)]
    back = {"user": user, "was": TenantRole.DPO, "role": TenantRole.TENANT_ADMIN, "at": at}
    assert plain_write(dbsession, RENAMED, back) == 1
    assert plain_write(dbsession, RENAMED, back) == 0  # no DPO left to rename
    assert len(query_counter) == 4


def test_a_value_its_type_refuses_is_refused_before_anything_is_sent(
    dbsession: Session, registry, query_counter
):
    build_world(dbsession, registry)
    naive = {"user": 1, "was": TenantRole.DPO, "role": TenantRole.DPO, "at": datetime(2026, 1, 1)}
    query_counter.clear()
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        plain_write(dbsession, RENAMED, naive)
    assert query_counter == []
