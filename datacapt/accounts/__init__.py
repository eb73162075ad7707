"""Accounts: sign-in and sign-out, passwords, language and personal preferences."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
    config.scan(".password_views")
