"""Notifications: staff are told in the app (a bell, a page) and by a daily mail digest of what
waits for them — queries raised at their sites, answers to their queries, forms ready to verify,
lock or sign, their finished exports, messages at their sites — following what other
capabilities publish."""

from pyramid.config import Configurator

#: The registry key saying the capability is there (the page's header then shows the bell).
ENABLED = "notifications.enabled"
#: The registry key of the public address the digest's links start with.
PUBLIC_URL = "notifications.public_url"


def includeme(config: Configurator) -> None:
    from datacapt.accounts.preference_events import PreferencesShown
    from datacapt.entry.events import NOTIFICATIONS_ORDER, FormSaved
    from datacapt.exports.events import ExportFinished
    from datacapt.messages.events import MessagePosted
    from datacapt.notifications import reactions
    from datacapt.queries.events import QueryMoved, QueryRaised
    from datacapt.review.events import FormsVerified

    config.registry[ENABLED] = True
    config.registry[PUBLIC_URL] = (
        (config.get_settings().get("datacapt.public_url") or "").strip().rstrip("/")
    )
    config.add_reaction(QueryRaised, reactions.query_raised, order=NOTIFICATIONS_ORDER)
    config.add_reaction(QueryMoved, reactions.query_moved, order=NOTIFICATIONS_ORDER)
    config.add_reaction(FormSaved, reactions.form_saved, order=NOTIFICATIONS_ORDER)
    config.add_reaction(FormsVerified, reactions.forms_verified, order=NOTIFICATIONS_ORDER)
    config.add_reaction(ExportFinished, reactions.export_finished, order=NOTIFICATIONS_ORDER)
    config.add_reaction(MessagePosted, reactions.message_posted, order=NOTIFICATIONS_ORDER)
    config.add_reaction(PreferencesShown, reactions.preferences_section, order=NOTIFICATIONS_ORDER)
    config.scan(".views")
    config.scan(".digest")
