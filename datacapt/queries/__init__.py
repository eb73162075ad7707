"""Queries: questions about the data, raised by monitors and data managers (or by warning checks
on save), answered by the sites, closed by whoever raised them."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
    config.scan(".listing")
