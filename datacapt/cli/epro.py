"""``datacapt epro link TENANT STUDY SUBJECT``: a fresh one-time link to the subject's
questionnaires, printed with its QR code, for a site to hand in person (audited, the token
never kept)."""

from __future__ import annotations

import argparse
import io
from typing import Any

import segno
from sqlalchemy import select

from datacapt.actor import Actor
from datacapt.cli.bootstrap import CommandError, Environment, action_group
from datacapt.cli.lookup import study_of
from datacapt.db import transaction_scope
from datacapt.epro import services
from datacapt.models import Subject

DEFAULT_URL = "http://localhost:6543"


def link(env: Environment, args: argparse.Namespace) -> int:
    with transaction_scope(env.registry) as dbsession:
        study = study_of(dbsession, args.tenant, args.study)
        subject = dbsession.scalar(
            select(Subject).where(Subject.study_id == study.id, Subject.label == args.subject)
        )
        if subject is None:
            raise CommandError(f"no subject {args.subject!r} in study {study.code!r}")
        handed = services.hand_link(dbsession, subject, Actor.system("epro-link"))
        url = f"{args.url.rstrip('/')}/p/@@start/{handed.token}"
        expires = handed.link.expires_at.isoformat(timespec="minutes")
    print(url)
    print(f"one use, valid until {expires}")
    if not args.no_qr:
        out = io.StringIO()
        segno.make(url, error="m").terminal(out=out, compact=True)
        print(out.getvalue(), end="")
    return 0


def add_parsers(commands: Any) -> None:
    group = action_group(commands, "epro", "subjects' questionnaires (ePRO)")
    parser = group.add_parser(
        "link", help="print a fresh one-time link to a subject's questionnaires"
    )
    parser.add_argument("tenant")
    parser.add_argument("study")
    parser.add_argument("subject", help="the subject's ID (label)")
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"the site's address (default {DEFAULT_URL})"
    )
    parser.add_argument("--no-qr", action="store_true", help="print the link without its QR code")
    parser.set_defaults(handler=link)
