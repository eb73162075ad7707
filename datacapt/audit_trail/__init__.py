"""The audit trail viewer: a study's events for its auditors, a tenant's for its administrators,
filtered, paged by sequence number, and exported to CSV (an export is itself audited)."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
