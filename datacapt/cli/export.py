"""``datacapt export TENANT STUDY --format F -o FILE``: a study's data for a statistician, as
the operator runs it (the same code and audit as every export)."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from datacapt.actor import Actor
from datacapt.cli.bootstrap import CommandError, Environment
from datacapt.cli.lookup import study_of
from datacapt.config import get_app_settings
from datacapt.db import transaction_scope
from datacapt.exports.forms import parse_as_of
from datacapt.exports.options import Coded, ExportFormat, ExportOptions
from datacapt.exports.services import SUFFIXES, ExportRefused, export
from datacapt.models.entry import FormStatus, LockState


def _as_of(env: Environment, text: str | None) -> datetime | None:
    """``--as-of``, read in the configured zone (``datacapt.default_timezone``) unless it
    carries its offset."""
    if text is None:
        return None
    zone = ZoneInfo(get_app_settings(env.registry).default_timezone)
    try:
        return parse_as_of(text, zone)
    except ValueError:
        raise CommandError(
            f"--as-of {text!r}: give a date and time, e.g. 2026-11-30T18:00 or with its offset"
        ) from None


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
        subjects=tuple(dict.fromkeys(args.subject)),
        forms=tuple(args.form),
        visits=tuple(args.visit),
        statuses=tuple(FormStatus(status) for status in args.status),
        lock_states=tuple(LockState(state) for state in args.lock),
        coded=Coded(args.codes),
        bom=args.bom,
        audit_trail=args.audit,
        odm_transactional=args.odm_transactional,
        as_of=_as_of(env, args.as_of),
        shift_dates=args.shift_dates,
        personal=args.personal,
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
        help="write a study's clinical data to a file (personal-data items left out unless asked)",
        description="Formats: "
        + ", ".join(f"{f.value} ({SUFFIXES[f]})" for f in ExportFormat)
        + ". Repeat --site, --subject, --form, --visit, --status or --lock to choose several.",
    )
    p.add_argument("tenant", metavar="TENANT", help="the tenant's slug")
    p.add_argument("study", metavar="STUDY", help="the study's code")
    p.add_argument("--format", required=True, choices=[f.value for f in ExportFormat])
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.add_argument("--site", action="append", default=[], metavar="CODE")
    p.add_argument("--subject", action="append", default=[], metavar="LABEL")
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
    p.add_argument(
        "--as-of",
        metavar="DATETIME",
        help="the data as the audit trail says they were then: 2026-11-30T18:00 (in the "
        "configured time zone) or with its offset (2026-11-30T18:00+01:00)",
    )
    p.add_argument(
        "--shift-dates",
        action="store_true",
        help="move each subject's dates by a number of days of its own (de-identified sets)",
    )
    p.add_argument(
        "--personal",
        action="store_true",
        help="include the personal-data items (audited as an export holding personal data)",
    )
    p.set_defaults(handler=run)
