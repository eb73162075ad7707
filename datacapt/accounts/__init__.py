"""Accounts: sign-in and sign-out, language and personal preferences, role administration."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
    config.scan(".members")
