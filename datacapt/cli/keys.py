"""``datacapt keys``: re-seal every secret kept at rest under a tenant-wide key (TOTP secrets,
personal-data item values) under the current key after a rotation, move subjects' contact and
bank details still under such a key under their own data key (the data keys are rotated by
``repository rotate-keys``), and seal the personal-data values still stored in plain text."""

from __future__ import annotations

import argparse
from typing import Any

from datacapt import personal_values
from datacapt.cli.bootstrap import Environment, action_group
from datacapt.db import transaction_scope
from datacapt.entry import personal
from datacapt.payments import bank
from datacapt.signin import two_factor
from datacapt.subjects import contacts


def rekey(env: Environment, args: argparse.Namespace) -> int:
    with transaction_scope(env.registry) as dbsession:
        contact_count = contacts.rekey(env.registry, dbsession)
        secret_count = two_factor.rekey(env.registry, dbsession)
        value_count = personal_values.rekey(env.registry, dbsession)
        bank_count = bank.rekey(env.registry, dbsession)
    print(f"{contact_count} contact record(s) re-sealed under their subject's data key")
    print(f"{secret_count} two-factor secret(s) re-sealed under the current key")
    print(f"{value_count} personal-data value(s) re-sealed under the current key")
    print(f"{bank_count} bank detail record(s) re-sealed under their subject's data key")
    return 0


def seal_subject_details(env: Environment) -> tuple[int, int]:
    """Move the contact and bank details still under a tenant-wide key under their subjects'
    data keys (also run by ``db upgrade``): (contact records, bank detail records)."""
    with transaction_scope(env.registry) as dbsession:
        return contacts.rekey(env.registry, dbsession), bank.rekey(env.registry, dbsession)


def seal_items(env: Environment, args: argparse.Namespace) -> int:
    print(f"{seal_plain_values(env)} personal-data value(s) sealed")
    return 0


def seal_plain_values(env: Environment) -> int:
    """Seal the personal-data values stored in plain text (also run by ``db upgrade``)."""
    with transaction_scope(env.registry) as dbsession:
        return personal.seal_plain(env.registry, dbsession)


def add_parsers(commands: Any) -> None:
    keys = action_group(commands, "keys", "the keys that seal personal data and secrets")
    keys.add_parser(
        "rekey",
        help="re-seal two-factor secrets and personal-data values under the first key of "
        "datacapt.encryption_keys; contact and bank details under their subject's data key",
    ).set_defaults(handler=rekey)
    keys.add_parser(
        "seal-items",
        help="seal the values of personal-data items still stored in plain text",
    ).set_defaults(handler=seal_items)
