"""Operations: the probes a load balancer or an orchestrator asks (``/healthz``, ``/readyz``).

Both are public, open no session and name no person: they answer whether this process serves
and whether what it needs (the database, Redis) answers.
"""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
