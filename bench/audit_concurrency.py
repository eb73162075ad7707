"""Concurrent saves of one tenant: do writers of different subjects wait for each other?

    .venv/bin/python bench/audit_concurrency.py postgresql+psycopg://.../NAME [SECONDS]

The database NAME is dropped and created. Each writer is a thread with its own connection; a
"save" is one transaction that records 50 value events with ``audit.record_many`` and then
holds the transaction ``WORK`` longer (the rest of a save: rows, reactions, commit), as a
request does while its chain stays locked. Two layouts, 1, 2, 4 and 8 writers:

- ``subjects``: each writer saves its own subject (today's chains: one per casebook);
- ``one chain``: every writer's events go to one chain (the tenant-wide chain of before).

Saves/s are printed, not asserted: with one chain they stay flat whatever the writers; with a
chain per subject they grow with them until the machine, not the lock, is the limit.
"""

from __future__ import annotations

import sys
import threading
import time

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.audit_trail import fresh_database
from datacapt import audit
from datacapt.actor import Actor

BENCH = Actor.system("bench", user_id=1)
TENANT, STUDY, VALUES, WORK = 7, 1, 50, 0.1


def save(dbsession: Session, subject_id: int | None) -> None:
    audit.record_many(
        dbsession,
        BENCH,
        [
            {
                "tenant_id": TENANT,
                "study_id": STUDY if subject_id is not None else None,
                "site_id": 1,
                "subject_id": subject_id,
                "action": "entry.value_changed",
                "entity_type": "form_instance",
                "entity_id": subject_id or 0,
                "field": f"item{number}",
                "old": None,
                "new": number,
            }
            for number in range(VALUES)
        ],
    )
    dbsession.execute(text("SELECT pg_sleep(:work)"), {"work": WORK})


def run(engine, writers: int, seconds: float, shared: bool) -> float:
    """Saves per second of ``writers`` threads for ``seconds``."""
    done = [0] * writers
    deadline = time.monotonic() + seconds

    def work(number: int) -> None:
        subject_id = None if shared else 1000 * writers + number
        while time.monotonic() < deadline:
            with Session(engine) as dbsession, dbsession.begin():
                save(dbsession, subject_id)
            done[number] += 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - began)


def main(url: str, seconds: float) -> None:
    fresh_database(url)
    engine = create_engine(url, pool_size=10)
    print(f"saves of {VALUES} values, each transaction {WORK * 1000:.0f} ms longer; {seconds} s")
    for shared, label in ((False, "subjects"), (True, "one chain")):
        rates = {n: run(engine, n, seconds, shared) for n in (1, 2, 4, 8)}
        figures = ", ".join(f"{n} writers {rate:.0f}/s" for n, rate in rates.items())
        print(f"{label}: {figures}; 4 / 2 writers = {rates[4] / rates[2]:.2f}x")
    with Session(engine) as dbsession:
        reports = list(audit.verify_all(dbsession))
        print(f"{len(reports)} chains, intact={all(r.intact for r in reports)}")
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 10.0)
