"""Randomisation: methods over a seeded RNG (:mod:`.methods`, :mod:`.minimisation`,
:mod:`.simulation`), a design and its test and production lists per study, and randomising a
subject from the casebook, concealed from blinded roles.

A subject's randomisation publishes :class:`.events.SubjectRandomised` for other capabilities;
the subject page loads this capability's panel (``@@randomisation``) without knowing it.
"""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
