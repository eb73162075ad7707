"""Members: the members of a tenant and of a study, their roles, and invitations to join."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    for module in (".views", ".invitation_views", ".jobs"):
        config.scan(module)
