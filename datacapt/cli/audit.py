"""``datacapt audit verify``: walk the hash chains of the audit trail and name the first break."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select

from datacapt import audit
from datacapt.cli.bootstrap import Environment, action_group
from datacapt.cli.lookup import tenant_of
from datacapt.db import transaction_scope
from datacapt.models import Tenant

#: Exit code when a chain is broken (2 stays the code of a refused command).
BROKEN = 1


def describe(report: audit.ChainReport, label: str) -> str:
    """One line per chain: what was checked and, if broken, which event and why."""
    name = f"chain {report.chain} ({label})"
    if report.broken is None:
        return f"{name}: {report.count} events, intact; head {report.head}"
    event = report.broken
    return (
        f"{name}: BROKEN at seq {event.seq} (event id {event.id}, {event.action}): "
        f"{report.problem}; {report.count} events read"
    )


def verify(env: Environment, args: argparse.Namespace) -> int:
    """Every chain (the platform's, 0, included), or the one tenant named; streams each chain."""
    intact = True
    with transaction_scope(env.registry) as dbsession:
        if args.tenant is not None:
            tenant = tenant_of(dbsession, args.tenant)
            labels = {tenant.id: tenant.slug}
        else:
            labels = {0: "platform"}
            labels.update(dict(dbsession.execute(select(Tenant.id, Tenant.slug)).all()))
            labels.update(
                {chain: "no tenant" for chain in audit.chains(dbsession) if chain not in labels}
            )
        for chain in sorted(labels):
            report = audit.verify(dbsession, chain)
            intact = intact and report.intact
            print(describe(report, labels[chain]), flush=True)
    return 0 if intact else BROKEN


def add_parsers(commands: Any) -> None:
    group = action_group(commands, "audit", "check the audit trail")
    p = group.add_parser(
        "verify", help="recompute every hash chain; exit code 1 names the first broken event"
    )
    p.add_argument("--tenant", metavar="SLUG", help="only this tenant's chain")
    p.set_defaults(handler=verify)
