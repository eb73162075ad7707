"""Messages: threads between a study's staff at a site (a monitor and the site's team), read
and written by whoever may message at that site; never changed nor deleted, every message
audited (without its text), and each reader's unread count."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.scan(".views")
    config.scan(".subject_views")
