"""``datacapt api-key``: issue, list and revoke a study's API keys, as the operator."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.orm import Session

from datacapt.api import keys
from datacapt.cli.admin import OPERATOR, in_transaction
from datacapt.cli.bootstrap import CommandError, Environment, action_group
from datacapt.cli.lookup import site_of, study_of
from datacapt.permissions import StudyRole


def api_key_issue(env: Environment, args: argparse.Namespace) -> int:
    """The key is printed once, here: only its hash is kept."""

    def work(dbsession: Session) -> str:
        study = study_of(dbsession, args.tenant, args.study)
        sites = [site_of(dbsession, study, code) for code in args.site or ()]
        choice = keys.role_choice(args.role, [site.code for site in sites], sites)
        issued = keys.issue(
            dbsession,
            study,
            name=args.name,
            choice=choice,
            writes=args.write,
            days=args.days,
            granter=None,
            by=OPERATOR,
        )
        scope = "reads and enters data" if args.write else "reads"
        return (
            f"{issued.text}\n"
            f"key {issued.row.prefix} ({scope} as {args.role}) expires "
            f"{issued.row.expires_at:%Y-%m-%dT%H:%MZ}; this is the only time it is shown"
        )

    return in_transaction(env, work)


def api_key_list(env: Environment, args: argparse.Namespace) -> int:
    def work(dbsession: Session) -> str:
        study = study_of(dbsession, args.tenant, args.study)
        lines = []
        for listed in keys.study_keys(dbsession, study):
            row = listed.row
            state = "revoked" if row.revoked_at else f"expires {row.expires_at:%Y-%m-%dT%H:%MZ}"
            used = f"{row.last_used_at:%Y-%m-%dT%H:%MZ}" if row.last_used_at else "never"
            scope = "write" if row.writes else "read"
            role = listed.role.value if listed.role else "-"
            where = ",".join(listed.site_codes) if listed.site_codes else "all sites"
            lines.append(
                f"{row.prefix}  {scope:5}  {role} ({where})  {state}  last used {used}  {row.name}"
            )
        return "\n".join(lines) or "no API keys"

    return in_transaction(env, work)


def api_key_revoke(env: Environment, args: argparse.Namespace) -> int:
    def work(dbsession: Session) -> str:
        study = study_of(dbsession, args.tenant, args.study)
        row = keys.find(dbsession, study, args.prefix)
        if row is None:
            raise CommandError(f"no API key {args.prefix!r} in study {study.code!r}")
        keys.revoke(dbsession, row, reason=args.reason, by=OPERATOR)
        return f"key {row.prefix} revoked"

    return in_transaction(env, work)


def add_parsers(commands: Any) -> None:
    api_key = action_group(commands, "api-key", "keys of the JSON API (/api/v1)")
    p = api_key.add_parser("issue", help="issue a key of one study, acting with one role")
    p.add_argument("tenant")
    p.add_argument("study")
    p.add_argument("--name", required=True, help="what the key is for, e.g. 'Lab import'")
    p.add_argument("--role", required=True, choices=[role.value for role in StudyRole])
    p.add_argument("--site", action="append", help="only at this site (repeat)")
    p.add_argument("--write", action="store_true", help="also enter data (default: read only)")
    p.add_argument("--days", type=int, default=90, help="days until it expires (1-366)")
    p.set_defaults(handler=api_key_issue)
    p = api_key.add_parser("list", help="a study's keys (prefix, scope, state, last use)")
    p.add_argument("tenant")
    p.add_argument("study")
    p.set_defaults(handler=api_key_list)
    p = api_key.add_parser("revoke", help="stop a key at once")
    p.add_argument("tenant")
    p.add_argument("study")
    p.add_argument("prefix", help="the 12 characters after dc_")
    p.add_argument("--reason", required=True)
    p.set_defaults(handler=api_key_revoke)
