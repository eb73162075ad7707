"""``datacapt keys rekey``: re-seal every secret kept at rest (subjects' contact details, TOTP
secrets) under the current key after a rotation."""

from __future__ import annotations

import argparse
from typing import Any

from datacapt.cli.bootstrap import Environment, action_group
from datacapt.db import transaction_scope
from datacapt.signin import two_factor
from datacapt.subjects import contacts


def rekey(env: Environment, args: argparse.Namespace) -> int:
    with transaction_scope(env.registry) as dbsession:
        contact_count = contacts.rekey(env.registry, dbsession)
        secret_count = two_factor.rekey(env.registry, dbsession)
    print(f"{contact_count} contact record(s) re-sealed under the current key")
    print(f"{secret_count} two-factor secret(s) re-sealed under the current key")
    return 0


def add_parsers(commands: Any) -> None:
    keys = action_group(commands, "keys", "the keys that seal personal data and secrets")
    keys.add_parser(
        "rekey",
        help="re-seal contact details and two-factor secrets under the first key of "
        "datacapt.encryption_keys",
    ).set_defaults(handler=rekey)
