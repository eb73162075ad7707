"""Reports: a study's progress in charts drawn on the server and in tables of the same numbers
(enrolment, screen failures, form completion, open queries, verification, signatures), each
downloadable (SVG, PNG, CSV). The numbers come from a fixed number of aggregate statements over
the status rows, limited to the sites the reader may see."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
