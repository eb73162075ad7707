"""Messages: threads between a study's staff at a site (a monitor and the site's team) and,
where the study enables it, between a site and one of its subjects; read and written by
whoever may message at that site; never changed nor deleted, every message and file audited
(without its text or name), and each reader's unread count. Files go through the upload rules
(:mod:`datacapt.uploads`); a subject is told of a message from their site by a notice that
carries only a fresh link (:mod:`.notices`); the subject's page links to their threads through
a panel registered here (:mod:`datacapt.panels`)."""

from pyramid.config import Configurator

from datacapt.i18n import _

#: After payments' bank details on the subject page.
MESSAGES_PANEL_ORDER = 30


def includeme(config: Configurator) -> None:
    config.add_subject_panel("messages", _("Messages"), order=MESSAGES_PANEL_ORDER)
    config.scan(".views")
    config.scan(".subject_views")
    config.scan(".jobs")
