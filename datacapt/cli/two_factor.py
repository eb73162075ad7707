"""``datacapt two-factor reset EMAIL --reason TEXT``: an operator removes a user's authenticator
(a lost phone, with no recovery code left). The user sets up a new one at their next sign-in if
their organisation requires it."""

from __future__ import annotations

import argparse
from typing import Any

from datacapt.accounts.events import record_for_user
from datacapt.actor import Actor
from datacapt.cli.bootstrap import CommandError, Environment, action_group
from datacapt.cli.lookup import user_of
from datacapt.db import transaction_scope
from datacapt.signin import sessions, two_factor


def reset(env: Environment, args: argparse.Namespace) -> int:
    reason = " ".join(args.reason.split())
    if not reason:
        raise CommandError("give the reason for the reset with --reason")
    with transaction_scope(env.registry) as dbsession:
        user = user_of(dbsession, args.email)
        if not two_factor.is_enrolled(user):
            raise CommandError(f"{args.email} has no authenticator set up")
        two_factor.disable(dbsession, user)
        ended = sessions.end_all(dbsession, user, sessions.EndReason.CREDENTIALS_CHANGED)
        operator = Actor.system("two-factor-reset")
        record_for_user(dbsession, operator, user, "user.two_factor_reset", reason=reason)
    print(f"two-factor authentication reset for user {user.id}; {ended} session(s) ended")
    return 0


def add_parsers(commands: Any) -> None:
    group = action_group(commands, "two-factor", "users' two-factor authentication")
    parser = group.add_parser("reset", help="remove a user's authenticator and recovery codes")
    parser.add_argument("email")
    parser.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    parser.set_defaults(handler=reset)
