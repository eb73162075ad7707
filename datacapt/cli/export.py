"""``datacapt export TENANT STUDY --format F -o FILE``: a study's data for a statistician, as
the operator runs it (the same code and audit as every export)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from datacapt.actor import Actor
from datacapt.cli.bootstrap import CommandError, Environment
from datacapt.cli.lookup import study_of
from datacapt.db import transaction_scope
from datacapt.exports.options import Coded, ExportFormat, ExportOptions
from datacapt.exports.services import SUFFIXES, ExportRefused, export
from datacapt.models.entry import FormStatus, LockState


def run(env: Environment, args: argparse.Namespace) -> int:
    target = Path(args.output)
    if target.exists() and not args.force:
        raise CommandError(f"{target} exists (add --force to replace it)")
    if not target.parent.is_dir():
        raise CommandError(f"no folder {target.parent}")
    if args.odm_transactional and args.format != ExportFormat.ODM:
        raise CommandError("--odm-transactional goes with --format odm")
    options = ExportOptions(
        format=ExportFormat(args.format),
        sites=tuple(args.site),
        forms=tuple(args.form),
        visits=tuple(args.visit),
        statuses=tuple(FormStatus(status) for status in args.status),
        lock_states=tuple(LockState(state) for state in args.lock),
        coded=Coded(args.codes),
        bom=args.bom,
        audit_trail=args.audit,
        odm_transactional=args.odm_transactional,
    )
    with transaction_scope(env.registry) as dbsession:
        study = study_of(dbsession, args.tenant, args.study)
        try:
            result = export(dbsession, study, options, target, actor=Actor.system("export"))
        except ExportRefused as refusal:
            raise CommandError(str(refusal)) from None
    print(f"{target}: {result.values} values, {result.size} bytes, sha256 {result.sha256}")
    return 0


def add_parsers(commands: Any) -> None:
    p = commands.add_parser(
        "export",
        help="write a study's clinical data to a file (personal-data items left out)",
        description="Formats: "
        + ", ".join(f"{f.value} ({SUFFIXES[f]})" for f in ExportFormat)
        + ". Repeat --site, --form, --visit, --status or --lock to choose several.",
    )
    p.add_argument("tenant", metavar="TENANT", help="the tenant's slug")
    p.add_argument("study", metavar="STUDY", help="the study's code")
    p.add_argument("--format", required=True, choices=[f.value for f in ExportFormat])
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.add_argument("--site", action="append", default=[], metavar="CODE")
    p.add_argument("--form", action="append", default=[], metavar="NAME")
    p.add_argument("--visit", action="append", default=[], metavar="NAME")
    statuses = [s.value for s in FormStatus if s is not FormStatus.REMOVED]
    p.add_argument("--status", action="append", default=[], choices=statuses)
    p.add_argument("--lock", action="append", default=[], choices=[s.value for s in LockState])
    p.add_argument("--codes", default="codes", choices=[c.value for c in Coded])
    p.add_argument("--bom", action="store_true", help="start CSV files with a UTF-8 BOM")
    p.add_argument(
        "--audit", action="store_true", help="PDF casebooks: each value's audit trail under it"
    )
    p.add_argument(
        "--odm-transactional",
        action="store_true",
        help="ODM: every value change from the audit trail, not the values now",
    )
    p.set_defaults(handler=run)
