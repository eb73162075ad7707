"""``datacapt subjects rekey``: re-seal personal data under the current key after a rotation."""

from __future__ import annotations

import argparse
from typing import Any

from datacapt.cli.bootstrap import Environment, action_group
from datacapt.db import transaction_scope
from datacapt.subjects import contacts


def rekey(env: Environment, args: argparse.Namespace) -> int:
    with transaction_scope(env.registry) as dbsession:
        count = contacts.rekey(env.registry, dbsession)
    print(f"{count} contact record(s) re-sealed under the current key")
    return 0


def add_parsers(commands: Any) -> None:
    subjects = action_group(commands, "subjects", "subjects' personal data")
    subjects.add_parser(
        "rekey", help="re-seal contact details under the first key of datacapt.encryption_keys"
    ).set_defaults(handler=rekey)
