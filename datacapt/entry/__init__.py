"""Data entry: the casebook's visits and forms, saving values, field history, the dashboard."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
    config.scan(".dashboard")
    config.scan(".visit_dates")
