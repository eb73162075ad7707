"""ePRO: subjects reach their questionnaires by a one-time link (handed by their site, or
mailed), fill them in on their phone page by page, and sites see the answers in the casebook.
The subjects' area lives at ``/p/`` (:mod:`datacapt.resources.subject_area`)."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
    config.scan(".jobs")
