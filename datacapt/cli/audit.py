"""``datacapt audit verify``: walk every hash chain of the audit trail and check the checkpoints,
naming the first break; ``datacapt audit checkpoint``: record the chains' heads now."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select

from datacapt import audit
from datacapt.cli.bootstrap import DATABASE, Environment, action_group
from datacapt.cli.lookup import tenant_of
from datacapt.db import transaction_scope
from datacapt.models import Tenant

#: Exit code when a chain is broken (2 stays the code of a refused command).
BROKEN = 1


def describe(report: audit.ChainReport, label: str | None = None) -> str:
    """One line for a chain: what was checked and, if broken, which event and why."""
    name = f"chain {report.chain}" + (f" ({label})" if label else "")
    if report.intact:
        return f"{name}: {report.count} events, intact; head {report.head}"
    if report.broken is None:
        return f"{name}: BROKEN: {report.problem}; {report.count} events read"
    event = report.broken
    return (
        f"{name}: BROKEN at seq {event.seq} (event id {event.id}, {event.action}): "
        f"{report.problem}; {report.count} events read"
    )


def verify(env: Environment, args: argparse.Namespace) -> int:
    """Every chain, or the named tenant's, in one streamed pass; broken chains are printed as
    they are met, then the totals and the last checkpoint's root (worth keeping elsewhere)."""
    chains = events = broken = 0
    with transaction_scope(env.registry) as dbsession:
        tenant_id = None if args.tenant is None else tenant_of(dbsession, args.tenant).id
        slugs = {"0": "platform, before per-subject chains"}
        for i, slug in dbsession.execute(select(Tenant.id, Tenant.slug)):
            slugs.update({f"tenant:{i}": slug, str(i): f"{slug}, before per-subject chains"})
        checkpoints, seen = audit.verify_checkpoints(dbsession, tenant_id)
        for report in audit.verify_all(dbsession, tenant_id, seen):
            chains, events = chains + 1, events + report.count
            if args.each or not report.intact:
                print(describe(report, slugs.get(report.chain)), flush=True)
            broken += not report.intact
    if checkpoints.intact:
        print(f"checkpoints: {checkpoints.count}, intact; last root {checkpoints.root}")
    else:
        print(f"checkpoints: BROKEN: {checkpoints.problem}")
    print(f"{chains} chains, {events} events: " + (f"{broken} BROKEN" if broken else "intact"))
    return 0 if checkpoints.intact and not broken else BROKEN


def checkpoint(env: Environment, args: argparse.Namespace) -> int:
    with transaction_scope(env.registry) as dbsession:
        made = audit.checkpoint(dbsession)
        if made is None:
            print("no chain moved since the last checkpoint: none written")
        else:
            print(
                f"checkpoint {made.seq}: {made.chains} chains, {made.events} events; "
                f"root {made.root}"
            )
    return 0


def add_parsers(commands: Any) -> None:
    group = action_group(commands, "audit", "check the audit trail")
    p = group.add_parser(
        "verify",
        help="recompute every hash chain and check the checkpoints; "
        "exit code 1 names the first broken event",
    )
    p.add_argument("--tenant", metavar="SLUG", help="only this tenant's chains")
    p.add_argument("--each", action="store_true", help="print every chain, intact or not")
    p.set_defaults(handler=verify, environment=DATABASE)
    p = group.add_parser(
        "checkpoint", help="record every chain's head (the worker does it every ten minutes)"
    )
    p.set_defaults(handler=checkpoint, environment=DATABASE)
