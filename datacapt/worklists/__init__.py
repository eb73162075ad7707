"""Worklists: per permission, the forms, queries and visits waiting for the reader, counted on
the study's page with a link to each list. Other capabilities add theirs with
``config.add_worklist`` (see :mod:`datacapt.worklists.registry`)."""

from pyramid.config import Configurator

from datacapt.worklists.registry import REGISTRY_KEY, Worklists, add_worklist
from datacapt.worklists.standard import STANDARD_WORKLISTS
from datacapt.worklists.visits import OVERDUE_VISITS


def includeme(config: Configurator) -> None:
    config.registry[REGISTRY_KEY] = Worklists()
    config.add_directive("add_worklist", add_worklist)
    for worklist in (*STANDARD_WORKLISTS, OVERDUE_VISITS):
        config.add_worklist(worklist)
    config.scan(".views")
