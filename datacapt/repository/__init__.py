"""The subject repository: persons' identities and contacts apart from the pseudonymous trial
data, sealed under per-person data keys; the access log; data subjects' rights; retention."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    from datacapt.repository import jobs, keys, rights  # noqa: F401  (registers the jobs)

    config.registry[keys.REGISTRY_KEY] = keys.local_key_service(config.registry)
    config.scan(".views")
