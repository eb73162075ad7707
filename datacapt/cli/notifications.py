"""``datacapt notifications digest``: mail the daily notification digests now (for cron, where
no worker runs them, or to send them at a chosen hour)."""

from __future__ import annotations

import argparse
from typing import Any

from datacapt.cli.bootstrap import CommandError, Environment, action_group
from datacapt.db import transaction_scope
from datacapt.notifications import PUBLIC_URL
from datacapt.notifications.digest import send_digests


def digest(env: Environment, args: argparse.Namespace) -> int:
    url = (args.url or env.registry.get(PUBLIC_URL) or "").strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise CommandError(
            "the digest's links need the address people reach Datacapt at: set "
            "datacapt.public_url (or DATACAPT_PUBLIC_URL), or pass --url https://..."
        )
    with transaction_scope(env.registry) as dbsession:
        sent = send_digests(dbsession, url)
    print(f"{sent} digest(s) sent")
    return 0


def add_parsers(commands: Any) -> None:
    group = action_group(commands, "notifications", "the daily notification digest")
    p = group.add_parser("digest", help="mail every digest due now (counts and a link only)")
    p.add_argument("--url", help="the public address for the links (default: datacapt.public_url)")
    p.set_defaults(handler=digest)
