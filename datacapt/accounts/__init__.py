"""Accounts: sign-in (with a second factor), sign-out, sessions, two-factor set-up, passwords,
invitations, language and personal preferences, role administration."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    for module in (
        ".views",
        ".two_factor_views",
        ".session_views",
        ".policy_views",
        ".password_views",
        ".members",
        ".invitation_views",
        ".jobs",
    ):
        config.scan(module)
