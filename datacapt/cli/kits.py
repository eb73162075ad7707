"""``datacapt kits import TENANT STUDY FILE``: a study's kit list from a CSV or XLSX file, as the
supply page imports it — whole, or not at all with every bad line printed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sqlalchemy import select

from datacapt.actor import Actor
from datacapt.cli.bootstrap import CommandError, Environment, action_group
from datacapt.cli.lookup import study_of
from datacapt.db import transaction_scope
from datacapt.kits import services
from datacapt.kits.lists import KitListRefused, read_kit_list
from datacapt.models import Environment as RandomisationEnvironment
from datacapt.models import Site

ACTOR = Actor.system("kits-import")
MAX_BYTES = 10 * 1024 * 1024


def run_import(env: Environment, args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"no file {path}")
    if path.stat().st_size > MAX_BYTES:
        raise CommandError(f"{path} is larger than 10 MB")
    data = path.read_bytes()
    with transaction_scope(env.registry) as dbsession:
        study = study_of(dbsession, args.tenant, args.study)
        try:
            rows = read_kit_list(
                data,
                path.name,
                types={kind.code for kind, _product in services.kit_types(dbsession, study)},
                sites=set(dbsession.scalars(select(Site.code).where(Site.study_id == study.id))),
                existing=services.kit_numbers(dbsession, study),
                batch_expiry=services.batch_expiries(dbsession, study),
            )
        except KitListRefused as refused:
            for error in refused.errors:
                print(f"line {error.line}: {error.message.interpolate()}")
            raise CommandError(f"{len(refused.errors)} errors: nothing imported") from None
        environment = (
            RandomisationEnvironment(args.list)
            if args.list
            else services.list_environment(dbsession, study)
        )
        count = services.import_kits(dbsession, study, rows, environment, ACTOR)
    print(f"{count} kits imported ({environment.value} list)")
    return 0


def add_parsers(commands: Any) -> None:
    actions = action_group(commands, "kits", "a study's kits")
    p = actions.add_parser(
        "import",
        help="import a kit list (CSV or XLSX), whole or not at all",
        description="Columns: number, type (a kit type's code), batch, expiry (2027-03-31; "
        "blank: the batch's expiry in the product catalogue), location (depot or a site's "
        "code). Any bad row refuses the whole file; every error is printed with its line.",
    )
    p.add_argument("tenant", metavar="TENANT", help="the tenant's slug")
    p.add_argument("study", metavar="STUDY", help="the study's code")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--list",
        choices=[environment.value for environment in RandomisationEnvironment],
        help="the test or the production list (default: the randomisation's current one)",
    )
    p.set_defaults(handler=run_import)
