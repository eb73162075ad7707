"""What each kind of notification says, worded when it is read (in the reader's language) from
the parameters stored with it: subject ID, visit and form names, a query or export number."""

from __future__ import annotations

from typing import Any

from pyramid.i18n import TranslationString

from datacapt.i18n import _
from datacapt.models import NotificationKind

K = NotificationKind

#: A kind as a person chooses it (preferences) and counts it (the daily digest).
KIND_TITLES: dict[NotificationKind, TranslationString] = {
    K.QUERY_RAISED: _("Queries raised at your sites"),
    K.QUERY_ANSWERED: _("Answers to queries you raised"),
    K.FORM_TO_VERIFY: _("Forms ready to verify"),
    K.FORM_TO_LOCK: _("Forms ready to lock"),
    K.FORM_TO_SIGN: _("Forms ready to sign"),
    K.EXPORT_READY: _("Your exports, finished"),
    K.MESSAGE_POSTED: _("Messages at your sites"),
}


def sentence(kind: NotificationKind, parameters: dict[str, Any]) -> TranslationString:
    """The notification's sentence; ``where`` (visit / form) is left out when it is about the
    subject as a whole."""
    mapping = dict(parameters)
    placed = bool(parameters.get("where"))
    if kind is K.QUERY_RAISED:
        if placed:
            return _("Query ${query} raised on ${subject}, ${where}", mapping=mapping)
        return _("Query ${query} raised on ${subject}", mapping=mapping)
    if kind is K.QUERY_ANSWERED:
        if placed:
            return _("Query ${query} answered on ${subject}, ${where}", mapping=mapping)
        return _("Query ${query} answered on ${subject}", mapping=mapping)
    if kind is K.FORM_TO_VERIFY:
        return _("Ready to verify: ${subject}, ${where}", mapping=mapping)
    if kind is K.FORM_TO_LOCK:
        return _("Ready to lock: ${subject}, ${where}", mapping=mapping)
    if kind is K.FORM_TO_SIGN:
        return _("Ready to sign: ${subject}, ${where}", mapping=mapping)
    if kind is K.MESSAGE_POSTED:
        return _("New message in a thread at ${site}", mapping=mapping)
    if parameters.get("failed"):
        return _("Export ${export} failed", mapping=mapping)
    return _("Export ${export} is ready", mapping=mapping)
