"""PostgreSQL keeps a connection's statements prepared from one request to the next.

psycopg prepares a statement on a connection once it has run it five times, and forgets them
all at a ROLLBACK: read requests end in a COMMIT (datacapt.db.TransactionSession), so the
planning of the hot pages' statements is done once per connection, not once per request.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import transaction
from sqlalchemy import Engine, select, text

from datacapt.db import get_tm_session, make_engine, make_session_factory
from datacapt.models import Tenant

PREPARED = text(
    "SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'SELECT tenant.id %'"
)


@pytest.fixture
def single(database_url: str) -> Iterator[Engine]:
    """An engine of one pooled connection, as a web worker's."""
    engine = make_engine({"sqlalchemy.url": database_url, "sqlalchemy.pool_size": "1"})
    try:
        yield engine
    finally:
        engine.dispose()


def _request(engine: Engine, work=lambda dbsession: None) -> list[str]:  # type: ignore[no-untyped-def]
    """One request's transaction reading tenants; the statements prepared on its connection."""
    registry = {"dbsession_factory": make_session_factory(engine)}
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        dbsession = get_tm_session(registry, manager)  # type: ignore[arg-type]
        dbsession.execute(select(Tenant.id).where(Tenant.slug == "nowhere")).all()
        work(dbsession)
        return list(dbsession.execute(PREPARED).scalars())


def test_a_read_requests_statement_is_prepared_once_and_kept(single: Engine) -> None:
    prepared = [_request(single) for _ in range(8)]
    assert [len(found) for found in prepared[:5]] == [0] * 5
    assert all(len(found) == 1 for found in prepared[5:])


def test_a_failed_request_costs_the_connection_its_prepared_statements_only(
    single: Engine,
) -> None:
    """After a ROLLBACK psycopg starts counting again; the next requests work as before."""

    def fail(_dbsession) -> None:  # type: ignore[no-untyped-def]
        raise LookupError("the request failed")

    for _ in range(6):
        _request(single)
    with pytest.raises(LookupError):
        _request(single, fail)
    assert [len(_request(single)) for _ in range(6)] == [0, 0, 0, 0, 0, 1]
