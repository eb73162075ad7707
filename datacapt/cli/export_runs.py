"""``datacapt exports ACTION``: retrying an export whose job failed or died, and the saved
export definitions (list them, run one now, start the scheduled ones whose time has come —
what the worker does every minute, for a deployment without Redis to run from cron)."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select

from datacapt.actor import Actor
from datacapt.cli.bootstrap import CommandError, Environment, action_group
from datacapt.cli.lookup import study_of
from datacapt.db import transaction_scope
from datacapt.exports import definitions
from datacapt.exports.retry import NotRetryable, retry_export
from datacapt.exports.services import ExportRefused
from datacapt.models import DataExport, User

OPERATOR = Actor.system("export")


def retry(env: Environment, args: argparse.Namespace) -> int:
    with transaction_scope(env.registry) as dbsession:
        row = dbsession.scalar(select(DataExport).where(DataExport.id == args.id))
        if row is None:
            raise CommandError(f"no export {args.id}")
        try:
            retry_export(dbsession, row, OPERATOR)
        except NotRetryable as refusal:
            raise CommandError(str(refusal)) from None
        snapshot = row.snapshot_at
    print(f"export {args.id} queued again (snapshot {snapshot:%Y-%m-%dT%H:%M:%SZ})")
    return 0


def list_definitions(env: Environment, args: argparse.Namespace) -> int:
    with transaction_scope(env.registry) as dbsession:
        study = study_of(dbsession, args.tenant, args.study)
        for definition in definitions.definitions_of(dbsession, study):
            owner = dbsession.get(User, definition.owner_id)
            when = definition.next_run_at
            print(
                "\t".join(
                    [
                        definition.name,
                        definition.options["format"],
                        owner.email if owner else "",
                        when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else "-",
                    ]
                )
            )
    return 0


def run_definition(env: Environment, args: argparse.Namespace) -> int:
    with transaction_scope(env.registry) as dbsession:
        study = study_of(dbsession, args.tenant, args.study)
        definition = definitions.definition_named(dbsession, study, args.name)
        if definition is None:
            raise CommandError(f"no export definition {args.name!r} in study {study.code}")
        try:
            row = definitions.run_definition(
                dbsession,
                study,
                definition,
                OPERATOR,
                requested_by_id=definition.owner_id,
                application_url=definition.application_url,
            )
        except ExportRefused as refusal:
            raise CommandError(str(refusal)) from None
        number = row.id
    print(f"export {number} started")
    return 0


def run_due(env: Environment, args: argparse.Namespace) -> int:
    with transaction_scope(env.registry) as dbsession:
        numbers = [row.id for row in definitions.run_due(dbsession)]
    print(f"{len(numbers)} scheduled export(s) started" + "".join(f" {n}" for n in numbers))
    return 0


def add_parsers(commands: Any) -> None:
    exports = action_group(commands, "exports", "retry exports; saved export definitions")
    p = exports.add_parser("retry", help="run a failed (or stuck) export again, same snapshot")
    p.add_argument("id", metavar="ID", type=int, help="the export's number")
    p.set_defaults(handler=retry)
    p = exports.add_parser("definitions", help="list a study's saved export definitions")
    p.add_argument("tenant", metavar="TENANT")
    p.add_argument("study", metavar="STUDY")
    p.set_defaults(handler=list_definitions)
    p = exports.add_parser("run", help="run a saved export definition now, as its owner")
    p.add_argument("tenant", metavar="TENANT")
    p.add_argument("study", metavar="STUDY")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=run_definition)
    p = exports.add_parser("run-due", help="start the scheduled definitions whose time has come")
    p.set_defaults(handler=run_due)
