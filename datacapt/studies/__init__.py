"""Tenants, studies and sites: creating them and the pages that show them."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
