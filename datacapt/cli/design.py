"""``datacapt study import|export|publish``: designs in and out of the platform."""

from __future__ import annotations

import argparse
from pathlib import Path

from datacapt.actor import Actor
from datacapt.cli.bootstrap import DATABASE, CommandError, Environment
from datacapt.cli.lookup import study_of
from datacapt.db import transaction_scope
from datacapt.design import services
from datacapt.design.interchange import transfer
from datacapt.design.interchange.findings import InterchangeError
from datacapt.ecrf import versions


def _read(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"no such file: {path}")
    data = file.read_bytes()
    if len(data) > transfer.MAX_IMPORT_BYTES:
        raise CommandError(f"{path} is larger than {transfer.MAX_IMPORT_BYTES} bytes")
    return data


def study_import(env: Environment, args: argparse.Namespace) -> int:
    data = _read(args.file)
    with transaction_scope(env.registry) as dbsession:
        language = transfer.study_language(study_of(dbsession, args.tenant, args.study))
    try:
        result = transfer.read(args.format, data, language)
    except InterchangeError as error:
        raise CommandError(f"{args.file}: {error}") from None
    for finding in result.findings:
        print(finding)
    if not result.ok:
        raise CommandError(f"{args.file}: not imported (see the errors above)")
    with transaction_scope(env.registry) as dbsession:
        study = study_of(dbsession, args.tenant, args.study)
        draft = transfer.import_into_draft(
            dbsession,
            study,
            result,
            format_name=args.format,
            data=data,
            actor=Actor.system("study-import"),
        )
        number = draft.number
    forms = len(result.definition.forms)
    items = sum(1 for _ in result.definition.items())
    print(
        f"imported into draft version {number} of {args.tenant}/{args.study}: "
        f"{forms} forms, {items} items, {len(result.findings)} findings"
    )
    return 0


def study_export(env: Environment, args: argparse.Namespace) -> int:
    with transaction_scope(env.registry) as dbsession:
        study = study_of(dbsession, args.tenant, args.study)
        found = (
            versions.version(dbsession, study, args.version)
            if args.version is not None
            else versions.latest_published(dbsession, study)
        )
        if found is None:
            raise CommandError(
                f"{args.tenant}/{args.study}: no such version"
                if args.version is not None
                else f"{args.tenant}/{args.study} has no published version"
            )
        export = transfer.write(args.format, versions.definition_of(found), study, found.number)
    Path(args.output).write_bytes(export.content)
    for finding in export.findings:
        print(finding)
    print(f"version {found.number} written to {args.output} ({len(export.content)} bytes)")
    return 0


def study_publish(env: Environment, args: argparse.Namespace) -> int:
    with transaction_scope(env.registry) as dbsession:
        study = study_of(dbsession, args.tenant, args.study)
        draft = versions.draft(dbsession, study)
        if draft is None:
            raise CommandError(f"{args.tenant}/{args.study} has no draft to publish")
        try:
            services.publish(
                dbsession,
                study,
                draft,
                actor=Actor.system("study-publish"),
                reason=args.reason,
                expected_lock=draft.lock_version,
            )
        except services.PublishRefused as refused:
            for problem in refused.problems:
                print(
                    f"{problem.where or 'design'}: {problem.field}: {problem.message.interpolate()}"
                )
            raise CommandError(f"not published: {len(refused.problems)} problem(s)") from None
        number = draft.number
    print(f"version {number} of {args.tenant}/{args.study} published")
    return 0


def add_parsers(study: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = study.add_parser("import", help="import a design into the study's draft version")
    p.add_argument("tenant")
    p.add_argument("study")
    p.add_argument("--format", required=True, choices=transfer.FORMATS)
    p.add_argument("file")
    p.set_defaults(handler=study_import, environment=DATABASE)

    p = study.add_parser("export", help="export a version (default: the latest published)")
    p.add_argument("tenant")
    p.add_argument("study")
    p.add_argument("--format", required=True, choices=transfer.EXPORT_FORMATS)
    p.add_argument("--version", type=int, metavar="N")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.set_defaults(handler=study_export, environment=DATABASE)

    p = study.add_parser("publish", help="publish the study's draft version")
    p.add_argument("tenant")
    p.add_argument("study")
    p.add_argument("--reason", required=True)
    p.set_defaults(handler=study_publish, environment=DATABASE)
