"""Accounts: sign-in (with a second factor), sign-out, sessions, two-factor set-up, language and
personal preferences."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    for module in (".views", ".two_factor_views", ".session_views", ".policy_views"):
        config.scan(module)
