"""Source data verification, review, freeze / lock / unlock and electronic signatures."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
