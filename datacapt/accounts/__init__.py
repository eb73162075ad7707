"""Accounts: sign-in and sign-out, language and personal preferences."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
