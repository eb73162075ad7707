"""Source data verification, review, freeze / lock / unlock and electronic signatures."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    from datacapt.review.display import signatures_of

    config.add_request_method(signatures_of, "signatures_of")
    config.scan(".views")
