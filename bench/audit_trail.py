"""Audit trail at scale: verify N events in their chains, checkpoint them, read viewer pages.

    .venv/bin/python bench/audit_trail.py postgresql+psycopg://.../NAME [N] [--reuse]

The database NAME is dropped and created; ``--reuse`` reads the events of a previous run again
(e.g. after ``datacapt db upgrade``). Events are written in bulk with valid hashes (one by one
would take hours for millions), spread over the chains of ``SUBJECTS`` subjects as saves are.
A small study holds the first 1% of them (a study closed long ago): its pages must not walk the
tenant's whole trail. Figures are printed, not asserted. ``datacapt audit verify`` reads the
same database with ``DATACAPT_DATABASE_URL=URL datacapt -c testing.ini audit verify``.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import partial

from alembic.config import Config
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from alembic import command
from datacapt import audit
from datacapt.audit_trail import services
from datacapt.audit_trail.forms import Filters
from datacapt.models import AuditEvent

BIG_STUDY, SMALL_STUDY, TENANT, SUBJECTS = 1, 2, 7, 10_000


def fresh_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    config = Config("testing.ini", ini_section="alembic")
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()


def fill(engine, count: int) -> None:
    start, links, batch = datetime(2026, 1, 1, tzinfo=UTC), {}, []
    with engine.begin() as connection:
        for number in range(1, count + 1):
            subject_id = number % SUBJECTS + 1
            chain = audit.chain_of(TENANT, BIG_STUDY, subject_id)
            seq, previous = links.get(chain, (0, audit.GENESIS))
            event = audit.chained_event(
                chain,
                seq + 1,
                previous,
                start + timedelta(seconds=number),
                tenant_id=TENANT,
                actor_id=number % 40 + 1,
                study_id=SMALL_STUDY if number <= count // 100 else BIG_STUDY,
                site_id=number % 12,
                subject_id=subject_id,
                action="entry.value_changed",
                entity_type="form_instance",
                entity_id=str(number % 20000),
                field="SBP",
                old=str(number % 180),
                new=str(number % 170),
            )
            links[chain] = (event.seq, event.hash)
            batch.append(
                {c: getattr(event, c) for c in (*audit.HASHED_FIELDS, "prev_hash", "hash")}
            )
            if len(batch) == 10_000:
                connection.execute(insert(AuditEvent), batch)
                batch.clear()
        if batch:
            connection.execute(insert(AuditEvent), batch)
        connection.execute(text("ANALYZE audit_event"))


def timed(label: str, work, repeat: int = 1):
    """Run ``work`` ``repeat`` times; print the median time."""
    durations, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = work()
        durations.append((time.perf_counter() - began) * 1000)
    print(f"{label}: {statistics.median(durations):.1f} ms")
    return result


def page_timings(dbsession: Session) -> None:
    cases = {
        "newest page": {},
        "page before id 1000": {"before": 1000},
        "page after id 1000": {"after": 1000},
    }
    for study in (BIG_STUDY, SMALL_STUDY):
        scope = services.Scope(tenant_id=TENANT, study_id=study)
        for filters in (Filters(), Filters(actor_id=3, action="entry.")):
            query = services.statement(scope, filters)
            for label, cursor in cases.items():
                timed(
                    f"study {study}, {'actor + action' if filters.actor_id else 'no filter'}, "
                    f"{label} (median of 5)",
                    partial(services.page, dbsession, query, scope, **cursor),
                    repeat=5,
                )


def main(url: str, count: int, reuse: bool) -> None:
    engine = create_engine(url)
    if not reuse:
        fresh_database(url)
        timed(f"bulk insert of {count} events", lambda: fill(engine, count))
    with Session(engine) as dbsession:
        reports = timed(
            "audit.verify_all (streamed, every chain)", lambda: list(audit.verify_all(dbsession))
        )
        memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        intact = all(report.intact for report in reports)
        events = sum(report.count for report in reports)
        print(f"  {len(reports)} chains, {events} events, intact={intact}; peak {memory:.0f} MB")
        made = timed("audit.checkpoint (every head)", lambda: audit.checkpoint(dbsession))
        print(f"  checkpoint {made.seq if made else '-'}: root {made.root if made else '-'}")
        dbsession.commit()
        page_timings(dbsession)
    engine.dispose()


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--reuse"]
    count = int(arguments[1]) if len(arguments) > 1 else 1_000_000
    main(arguments[0], count, "--reuse" in sys.argv)
