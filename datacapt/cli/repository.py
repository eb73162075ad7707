"""``datacapt repository``: the subject repository's keys, retention and legal holds.

* ``rotate-keys TENANT``: a new key-encryption key generation for the tenant; every person's
  data key re-wrapped under it.
* ``retention [TENANT] [--dry-run]``: apply the retention policies (of every tenant without
  TENANT); the dry run only counts, and both are logged.
* ``legal-hold TENANT REFERENCE --reason TEXT [--release]``: keep a person out of retention.
* ``shred-subject TENANT STUDY SUBJECT --reason TEXT``: crypto-shred a study subject's contact
  and bank details (their data key); their trial data, payment orders and ledger stay.
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt.actor import Actor
from datacapt.cli.admin import in_transaction
from datacapt.cli.bootstrap import CommandError, Environment, action_group
from datacapt.cli.lookup import study_of, tenant_of
from datacapt.models import Person, Subject, Tenant
from datacapt.repository import keys, rights

OPERATOR = Actor.system("datacapt repository")


def rotate_keys(env: Environment, args: argparse.Namespace) -> int:
    def work(dbsession: Session) -> str:
        tenant = tenant_of(dbsession, args.tenant)
        generation, count = keys.rotate(dbsession, env.registry, tenant.id)
        return (
            f"{args.tenant}: key-encryption key generation {generation}; "
            f"{count} data key(s) re-wrapped"
        )

    return in_transaction(env, work)


def retention(env: Environment, args: argparse.Namespace) -> int:
    def work(dbsession: Session) -> str:
        if args.tenant:
            tenants = [tenant_of(dbsession, args.tenant)]
        else:
            tenants = list(dbsession.scalars(select(Tenant).order_by(Tenant.slug)))
        lines = []
        for tenant in tenants:
            run = rights.run_retention(dbsession, OPERATOR, tenant.id, dry_run=args.dry_run)
            counts = ", ".join(
                f"{category} {c['due']} (held {c['held']})" for category, c in run.results.items()
            )
            verb = "would apply" if args.dry_run else "applied"
            lines.append(f"{tenant.slug}: {verb}: {counts or 'no policy'}")
        return "\n".join(lines) or "no tenant"

    return in_transaction(env, work)


def legal_hold(env: Environment, args: argparse.Namespace) -> int:
    def work(dbsession: Session) -> str:
        tenant = tenant_of(dbsession, args.tenant)
        person = dbsession.scalar(
            select(Person).where(Person.tenant_id == tenant.id, Person.reference == args.reference)
        )
        if person is None:
            raise CommandError(f"no person {args.reference!r} in tenant {args.tenant!r}")
        rights.set_legal_hold(
            dbsession, OPERATOR, person, hold=not args.release, reason=args.reason
        )
        state = "released from" if args.release else "under"
        return f"{person.reference} is {state} legal hold"

    return in_transaction(env, work)


def shred_subject(env: Environment, args: argparse.Namespace) -> int:
    def work(dbsession: Session) -> str:
        study = study_of(dbsession, args.tenant, args.study)
        subject = dbsession.scalar(
            select(Subject).where(Subject.study_id == study.id, Subject.label == args.subject)
        )
        if subject is None:
            raise CommandError(f"no subject {args.subject!r} in study {args.study!r}")
        if not rights.shred_subject_contacts(dbsession, OPERATOR, subject, args.reason):
            return f"{subject.label} had no data key: nothing to shred"
        return f"{subject.label}: data key shredded, contact and bank details unreadable"

    return in_transaction(env, work)


def add_parsers(commands: Any) -> None:
    group = action_group(commands, "repository", "the subject repository (PII store)")
    p = group.add_parser(
        "rotate-keys", help="re-wrap a tenant's data keys under a new key-encryption key"
    )
    p.add_argument("tenant")
    p.set_defaults(handler=rotate_keys)
    p = group.add_parser("retention", help="apply the retention policies")
    p.add_argument("tenant", nargs="?", help="only this tenant (default: every tenant)")
    p.add_argument("--dry-run", action="store_true", help="count, change nothing")
    p.set_defaults(handler=retention)
    p = group.add_parser("legal-hold", help="keep a person out of retention (or release them)")
    p.add_argument("tenant")
    p.add_argument("reference")
    p.add_argument("--reason", required=True)
    p.add_argument("--release", action="store_true")
    p.set_defaults(handler=legal_hold)
    p = group.add_parser(
        "shred-subject",
        help="crypto-shred a study subject's contact and bank details (their data key)",
    )
    p.add_argument("tenant")
    p.add_argument("study")
    p.add_argument("subject")
    p.add_argument("--reason", required=True)
    p.set_defaults(handler=shred_subject)
