"""Subjects: the study's participants, listed and shown per site."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
