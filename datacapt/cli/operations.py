"""Running the platform: migrations, the web server, the job worker, and a health check."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from threading import Thread
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from datacapt import jobs
from datacapt.cli.bootstrap import CommandError, Environment, action_group
from datacapt.cli.keys import seal_plain_values, seal_subject_details
from datacapt.config import get_app_settings
from datacapt.db import transaction_scope
from datacapt.entry import personal
from datacapt.models import JobState, OutboxJob
from datacapt.payments import bank
from datacapt.subjects import contacts

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig


def alembic_config(env: Environment) -> AlembicConfig:
    """Alembic is imported by the commands that migrate or check the schema, not by all."""
    from alembic.config import Config as AlembicConfig

    return AlembicConfig(str(env.config_path), ini_section="alembic")


def db_upgrade(env: Environment, args: argparse.Namespace) -> int:
    """Migrate, then seal the personal-data values left in plain text and the contact and bank
    details still under a tenant-wide key under their subjects' data keys (a migration script
    holds no encryption key)."""
    from alembic import command

    command.upgrade(alembic_config(env), "head")
    print("database is at the latest revision")
    sealed = seal_plain_values(env)
    if sealed:
        print(f"{sealed} personal-data value(s) sealed")
    moved_contacts, moved_banks = seal_subject_details(env)
    if moved_contacts:
        print(f"{moved_contacts} contact record(s) re-sealed under their subject's data key")
    if moved_banks:
        print(f"{moved_banks} bank detail record(s) re-sealed under their subject's data key")
    return 0


def serve(env: Environment, args: argparse.Namespace) -> int:
    """Without Redis (the embedded default) the served process is also its own worker: a
    thread runs the retries and periodic jobs, so a first run needs no second command. With
    ``--reload`` that thread lives in the process that serves, not in the one that watches."""
    import hupper
    from pyramid.scripts.pserve import main as pserve

    if jobs.queue(env.registry) is None and (not args.reload or hupper.is_active()):
        Thread(
            target=jobs.work_in_process,
            args=(env.registry,),
            kwargs={"interval": jobs.SWEEP_INTERVAL.total_seconds()},
            name="datacapt-jobs",
            daemon=True,
        ).start()
    return pserve(["pserve", str(env.config_path), *(["--reload"] if args.reload else [])])


def worker(env: Environment, args: argparse.Namespace) -> int:
    rq_queue = jobs.queue(env.registry)
    if rq_queue is None:
        print("no Redis configured: the retries and periodic jobs run in this process")
        jobs.work_in_process(env.registry, interval=args.sweep_interval, burst=args.burst)
        return 0
    jobs.WORKER_REGISTRY = env.registry
    worker = jobs.OutboxWorker([rq_queue], connection=rq_queue.connection)
    worker.sweep_interval = args.sweep_interval
    jobs.sweep(env.registry)
    worker.work(burst=args.burst, logging_level="INFO", with_scheduler=False)
    return 0


def _check_database(env: Environment) -> str:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    engine = env.registry["db.engine"]
    head = ScriptDirectory.from_config(alembic_config(env)).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        raise CommandError(f"database at revision {current}, code expects {head}: run db upgrade")
    with transaction_scope(env.registry) as dbsession:
        plain = personal.count_plain(dbsession)
    if plain:
        raise CommandError(
            f"{plain} personal-data value(s) stored in plain text: run keys seal-items"
        )
    with transaction_scope(env.registry) as dbsession:
        tenant_sealed = {
            "contact record(s)": contacts.count_tenant_sealed(dbsession),
            "bank detail record(s)": bank.count_tenant_sealed(dbsession),
        }
    left = " and ".join(f"{count} {what}" for what, count in tenant_sealed.items() if count)
    if left:
        raise CommandError(f"{left} under a tenant-wide key: run keys rekey")
    return f"database: ok ({engine.dialect.name}, revision {current})"


def _check_worker(env: Environment, timeout: float) -> str:
    with transaction_scope(env.registry) as dbsession:
        job_id = jobs.enqueue_after_commit(dbsession, "datacapt.probe").id
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with transaction_scope(env.registry) as dbsession:
            state = dbsession.get(OutboxJob, job_id).state
        if state == JobState.DONE:
            return f"jobs: ok (probe job {job_id} ran)"
        time.sleep(0.2)
    raise CommandError(
        f"jobs: the probe job {job_id} did not run within {timeout:g}s; "
        "is `datacapt worker` running with this configuration?"
    )


def _check_backlog(env: Environment) -> str:
    with transaction_scope(env.registry) as dbsession:
        found = jobs.backlog(dbsession)
    if not found.waiting:
        return "outbox: no job waiting"
    waited = int((datetime.now(UTC) - found.oldest).total_seconds())
    return f"outbox: {found.waiting} job(s) waiting to run, the oldest for {waited}s"


def check(env: Environment, args: argparse.Namespace) -> int:
    """Exit 0 when the database (and Redis, and with --worker the worker) answer as they should."""
    lines = []
    try:
        lines.append(_check_database(env))
        lines.append(_check_backlog(env))
        connection = jobs.redis_connection(env.registry)
        if connection is None:
            lines.append("jobs: in-process (no Redis configured)")
        else:
            connection.ping()
            lines.append(f"redis: ok (queue {get_app_settings(env.registry).queue_name})")
        if args.worker:
            lines.append(_check_worker(env, args.timeout))
    except (SQLAlchemyError, RedisError) as error:
        raise CommandError(f"{type(error).__name__}: {str(error).splitlines()[0]}") from None
    finally:
        print("\n".join(lines))
    return 0


def add_parsers(commands: Any) -> None:
    db = action_group(commands, "db", "database schema")
    db.add_parser("upgrade", help="migrate the database to the latest revision").set_defaults(
        handler=db_upgrade
    )

    p = commands.add_parser("serve", help="serve the app with the INI's [server:main]")
    p.add_argument("--reload", action="store_true", help="restart when the code changes")
    p.set_defaults(handler=serve)

    p = commands.add_parser("worker", help="run the background job worker")
    p.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    p.add_argument(
        "--sweep-interval",
        default=jobs.SWEEP_INTERVAL.total_seconds(),
        type=float,
        metavar="SECONDS",
        help="how often the outbox is swept for jobs due again (default 5)",
    )
    p.set_defaults(handler=worker)

    p = commands.add_parser("check", help="check the database, Redis and (--worker) the worker")
    p.add_argument("--worker", action="store_true", help="also run a probe job through the worker")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the probe")
    p.set_defaults(handler=check)
