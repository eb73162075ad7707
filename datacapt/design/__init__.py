"""Study build: the eCRF designer, the visit schedule, versions, import and export."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
    config.scan(".form_views")
    config.scan(".schedule_views")
    config.scan(".transfer_views")
