"""Accounts: users, their passwords' rules and hashing, language and personal preferences."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".preference_views")
