"""Operations: the probes a load balancer or an orchestrator asks (``/healthz``, ``/readyz``)
and what every request leaves in the log (:mod:`datacapt.operations.observe`).

The probes are public, open no session and name no person: they answer whether this process
serves and whether what it needs (the database, Redis) answers.
"""

from pyramid.config import Configurator
from pyramid.events import ContextFound
from pyramid.tweens import INGRESS

from datacapt.operations.observe import bind_tenant, view_label


def includeme(config: Configurator) -> None:
    config.add_view_deriver(view_label)
    config.add_tween("datacapt.operations.observe.observe_tween_factory", under=INGRESS)
    config.add_subscriber(bind_tenant, ContextFound)
    config.scan(".views")
