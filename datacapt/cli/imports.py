"""``datacapt import TENANT STUDY FILE --format F [--confirm]``: clinical data from a file, as
the operator runs it — the same dry run, report and confirmed run as the Imports page."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from datacapt.actor import Actor
from datacapt.cli.bootstrap import CommandError, Environment
from datacapt.cli.lookup import study_of
from datacapt.db import transaction_scope
from datacapt.imports import services
from datacapt.imports.cells import Unreadable
from datacapt.models import DataImport, ImportFormat, Study
from datacapt.reactions import reactions_of

ACTOR = Actor.system("import")
#: Refused rows printed (the row's report keeps more).
PRINTED = 50


def _print_report(report: dict[str, Any]) -> None:
    print(
        f"{report['rows']} values read: {report['subjects_created']} subjects enrolled, "
        f"{report['forms_created']} forms started, {report['forms_changed']} forms changed, "
        f"{report['values_changed']} values set or changed, {report['refused']} rows refused"
    )
    for refusal in report["refusals"][:PRINTED]:
        text = refusal["text"]
        for name, value in refusal["mapping"].items():
            text = text.replace("${" + name + "}", str(value))
        print(f"line {refusal['line']}: {refusal['where']}: {text}")


def run(env: Environment, args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"no file {path}")
    reactions = reactions_of(env.registry)
    with transaction_scope(env.registry) as dbsession:
        study = study_of(dbsession, args.tenant, args.study)
        with path.open("rb") as source:
            try:
                row = services.receive(
                    dbsession,
                    env.registry,
                    study,
                    source=source,
                    file_name=path.name,
                    kind=ImportFormat(args.format),
                    requested_by_id=None,
                )
            except services.TooBig:
                raise CommandError(
                    f"{path} is larger than {env.registry['imports.max_bytes']} bytes"
                ) from None
            except Unreadable as unreadable:
                raise CommandError(f"{path}: {unreadable.message.interpolate()}") from None
        services.check(dbsession, env.registry, study, row, actor=ACTOR, reactions=reactions)
        import_id, error, report = row.id, row.error, row.report or {}
    if error:
        raise CommandError(f"{path}: {error}")
    print(f"import {import_id}, dry run:")
    _print_report(report)
    if report["refused"]:
        raise CommandError(f"{report['refused']} rows refused: nothing written")
    if not args.confirm:
        print("nothing written: run again with --confirm to write it")
        return 0
    with transaction_scope(env.registry) as dbsession:
        row = dbsession.get(DataImport, import_id)
        assert row is not None
        study = dbsession.get(Study, row.study_id)
        assert study is not None
        services.mark_confirmed(row, None)
        services.write(dbsession, env.registry, study, row, actor=ACTOR, reactions=reactions)
        state, report = row.state.value, row.report or {}
    print(f"import {import_id}, confirmed: {state}")
    _print_report(report)
    if state != "done":
        raise CommandError("nothing written")
    return 0


def add_parsers(commands: Any) -> None:
    p = commands.add_parser(
        "import",
        help="import clinical data from a file (a dry run unless --confirm)",
        description="Formats: csv (the long values.csv of a CSV export), redcap (REDCap's "
        "flat CSV export of records), odm (CDISC ODM 1.3.2 ClinicalData). The file is checked "
        "first; with --confirm a clean file is then written, whole or not at all.",
    )
    p.add_argument("tenant", metavar="TENANT", help="the tenant's slug")
    p.add_argument("study", metavar="STUDY", help="the study's code")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", required=True, choices=[f.value for f in ImportFormat])
    p.add_argument("--confirm", action="store_true", help="write the file if nothing is refused")
    p.set_defaults(handler=run)
