"""Creating tenants, users, studies, sites and role grants from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from datacapt.accounts.services import create_user
from datacapt.actor import Actor
from datacapt.cli import design
from datacapt.cli.bootstrap import DATABASE, CommandError, Environment, action_group
from datacapt.cli.lookup import site_of, study_of, tenant_of, user_of
from datacapt.db import transaction_scope
from datacapt.i18n import LANGUAGES
from datacapt.members import roles
from datacapt.models.studies import (
    DEFAULT_LANGUAGES,
    DEFAULT_SUBJECT_ID_PATTERN,
    DEFAULT_TIMEZONE,
)
from datacapt.permissions import StudyRole, TenantRole
from datacapt.studies.services import (
    create_site,
    create_study,
    create_tenant,
    set_site_target,
)
from datacapt.validation import ValidationError

#: The operator at the command line, who holds the database credentials.
OPERATOR = Actor.system("operator")


def in_transaction(env: Environment, work: Callable[[Session], str]) -> int:
    """Run ``work`` in one transaction: all of it is saved, or (on any error) nothing."""
    try:
        with transaction_scope(env.registry) as dbsession:
            message = work(dbsession)
    except ValidationError as error:
        raise CommandError(f"{error.field}: {error.message.interpolate()}") from None
    print(message)
    return 0


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CommandError("no password given: pass --password-stdin or run in a terminal")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise CommandError("the two passwords differ")
    return first


def tenant_create(env: Environment, args: argparse.Namespace) -> int:
    return in_transaction(
        env, lambda db: f"tenant {create_tenant(db, args.slug, args.name).slug} created"
    )


def user_create(env: Environment, args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)

    def work(dbsession: Session) -> str:
        user = create_user(
            dbsession,
            env.registry,
            args.email,
            args.name,
            password,
            system_admin=args.system_admin,
        )
        return f"user {user.email} created" + (
            " (system administrator)" if args.system_admin else ""
        )

    return in_transaction(env, work)


def study_create(env: Environment, args: argparse.Namespace) -> int:
    def work(dbsession: Session) -> str:
        study = create_study(
            dbsession,
            tenant_of(dbsession, args.tenant),
            args.code,
            args.title,
            languages=args.language or DEFAULT_LANGUAGES,
            timezone=args.timezone,
            subject_id_pattern=args.pattern,
        )
        return f"study {args.tenant}/{study.code} created"

    return in_transaction(env, work)


def site_create(env: Environment, args: argparse.Namespace) -> int:
    def work(dbsession: Session) -> str:
        study = study_of(dbsession, args.tenant, args.study)
        site = create_site(
            dbsession,
            study,
            args.code,
            args.name,
            target=args.target,
            country=args.country,
            timezone=args.timezone,
        )
        target = f" (target {site.target_enrolment})" if site.target_enrolment else ""
        return f"site {site.code} created in {args.tenant}/{study.code}{target}"

    return in_transaction(env, work)


def site_set_target(env: Environment, args: argparse.Namespace) -> int:
    def work(dbsession: Session) -> str:
        site = site_of(dbsession, study_of(dbsession, args.tenant, args.study), args.site)
        set_site_target(dbsession, site, "" if args.target == "none" else args.target)
        target = site.target_enrolment or "none"
        return f"site {site.code} of {args.tenant}/{args.study}: enrolment target {target}"

    return in_transaction(env, work)


def role_grant(env: Environment, args: argparse.Namespace) -> int:
    """As the operator (who holds the database credentials, hence every power): the granting
    rule does not narrow it, but the grant is audited like one made on the web, with no actor."""

    def work(dbsession: Session) -> str:
        user = user_of(dbsession, args.email)
        study = study_of(dbsession, args.tenant, args.study)
        sites = [site_of(dbsession, study, code) for code in args.site or ()]
        choice = roles.RoleChoice(StudyRole(args.role), sites or None)
        roles.grant_role(dbsession, None, study, user, choice, OPERATOR)
        where = f" at {', '.join(s.code for s in sites)}" if sites else ""
        return f"{user.email} is {args.role} in {args.tenant}/{study.code}{where}"

    return in_transaction(env, work)


def role_grant_tenant(env: Environment, args: argparse.Namespace) -> int:
    def work(dbsession: Session) -> str:
        user = user_of(dbsession, args.email)
        tenant = tenant_of(dbsession, args.tenant)
        roles.grant_tenant_admin(dbsession, tenant, user, OPERATOR, TenantRole(args.role))
        return f"{user.email} is {args.role} of {args.tenant}"

    return in_transaction(env, work)


def add_parsers(commands: Any) -> None:
    tenant = action_group(commands, "tenant", "manage tenants")
    p = tenant.add_parser("create", help="create a tenant (customer organisation)")
    p.add_argument("slug", help="short name used in URLs, e.g. acme")
    p.add_argument("name", help="display name")
    p.set_defaults(handler=tenant_create, environment=DATABASE)

    user = action_group(commands, "user", "manage users")
    p = user.add_parser("create", help="create a user")
    p.add_argument("email")
    p.add_argument("--name", required=True, help="the person's full name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--system-admin", action="store_true", help="make a system administrator")
    p.set_defaults(handler=user_create)

    study = action_group(commands, "study", "manage studies")
    p = study.add_parser("create", help="create a study in a tenant")
    p.add_argument("tenant")
    p.add_argument("code", help="short code used in URLs, e.g. onc-001")
    p.add_argument("title")
    p.add_argument(
        "--language",
        action="append",
        choices=list(LANGUAGES),
        help="a language the study is run in (repeat; default: en)",
    )
    p.add_argument("--timezone", default=DEFAULT_TIMEZONE, help="IANA zone, e.g. Europe/Paris")
    p.add_argument("--pattern", default=DEFAULT_SUBJECT_ID_PATTERN, help="subject ID pattern")
    p.set_defaults(handler=study_create, environment=DATABASE)
    design.add_parsers(study)

    site = action_group(commands, "site", "manage sites")
    p = site.add_parser("create", help="create a site in a study")
    p.add_argument("tenant")
    p.add_argument("study")
    p.add_argument("code", help="short code, e.g. par01")
    p.add_argument("name")
    p.add_argument("--target", metavar="N", help="the number of subjects the site means to enrol")
    p.add_argument("--country", help="ISO 3166 alpha-2 code, e.g. FR")
    p.add_argument("--timezone", help="IANA zone, e.g. Europe/Paris (default: the study's)")
    p.set_defaults(handler=site_create, environment=DATABASE)
    p = site.add_parser("set-target", help="set or change a site's enrolment target")
    p.add_argument("tenant")
    p.add_argument("study")
    p.add_argument("site", help="the site's code")
    p.add_argument("target", metavar="N", help="subjects to enrol (at least 1), or none")
    p.set_defaults(handler=site_set_target, environment=DATABASE)

    role = action_group(commands, "role", "grant roles")
    p = role.add_parser("grant", help="grant a study role, optionally restricted to sites")
    p.add_argument("email")
    p.add_argument("tenant")
    p.add_argument("study")
    p.add_argument("role", choices=[r.value for r in StudyRole])
    p.add_argument("--site", action="append", metavar="CODE", help="restrict to this site (repeat)")
    p.set_defaults(handler=role_grant, environment=DATABASE)
    p = role.add_parser("grant-tenant", help="grant a tenant role")
    p.add_argument("email")
    p.add_argument("tenant")
    p.add_argument("role", choices=[r.value for r in TenantRole])
    p.set_defaults(handler=role_grant_tenant, environment=DATABASE)
