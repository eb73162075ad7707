"""What a rule is made of (triggers, actions, audiences) and whether it matches an event.

Matching is pure: a :class:`Happening` (what an event of another capability amounts to, built
by :mod:`datacapt.automations.reactions`) against a rule's trigger, watched item and condition.
A condition is an expression of the study's language (:mod:`datacapt.expressions`) over the
happening's values: for "item answered", the form's items; for every trigger, ``[site]`` (the
site's code), ``[status]`` (the subject's status) and the trigger's own (``[visit]``,
``[form]``, ``[document]``).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from datacapt.expressions import ExpressionError, MappingContext, evaluate, is_true, parse
from datacapt.expressions.context import Stored
from datacapt.i18n import _
from datacapt.models import AutomationRule

log = logging.getLogger(__name__)


class Trigger(enum.StrEnum):
    SUBJECT_INCLUDED = "subject_included"
    SUBJECT_EXCLUDED = "subject_excluded"
    ITEM_ANSWERED = "item_answered"
    QUERY_CREATED = "query_created"
    RANDOMISED = "randomised"
    EPRO_SENT = "epro_sent"
    EPRO_COMPLETED = "epro_completed"
    EPRO_MISSED = "epro_missed"
    CONSENT_SIGNED = "consent_signed"
    CONSENT_REJECTED = "consent_rejected"


TRIGGER_LABELS = {
    Trigger.SUBJECT_INCLUDED: _("Subject included"),
    Trigger.SUBJECT_EXCLUDED: _("Subject withdrawn or screen failure"),
    Trigger.ITEM_ANSWERED: _("Item answered"),
    Trigger.QUERY_CREATED: _("Query raised"),
    Trigger.RANDOMISED: _("Subject randomised"),
    Trigger.EPRO_SENT: _("Questionnaire sent"),
    Trigger.EPRO_COMPLETED: _("Questionnaire completed"),
    Trigger.EPRO_MISSED: _("Questionnaire missed"),
    Trigger.CONSENT_SIGNED: _("Consent signed"),
    Trigger.CONSENT_REJECTED: _("Consent refused"),
}


class Action(enum.StrEnum):
    MAIL_ROLE = "mail_role"
    MAIL_USERS = "mail_users"
    MAIL_ADDRESSES = "mail_addresses"
    MAIL_SUBJECT = "mail_subject"
    SEND_EPRO = "send_epro"
    CREATE_TASK = "create_task"


ACTION_LABELS = {
    Action.MAIL_ROLE: _("Mail the holders of a role"),
    Action.MAIL_USERS: _("Mail named study members"),
    Action.MAIL_ADDRESSES: _("Mail fixed addresses"),
    Action.MAIL_SUBJECT: _("Message the subject"),
    Action.SEND_EPRO: _("Send the subject a questionnaire"),
    Action.CREATE_TASK: _("Create a task"),
}

#: Actions that reach the subject: never for one who left the study or opted out.
TO_SUBJECT = frozenset({Action.MAIL_SUBJECT, Action.SEND_EPRO})


class Message(enum.StrEnum):
    """What "message the subject" says: study-neutral words only, never health information."""

    QUESTIONNAIRES = "questionnaires"
    CONTACT_SITE = "contact_site"


MESSAGE_LABELS = {
    Message.QUESTIONNAIRES: _("Your study team asks you to open your questionnaires (with a link)"),
    Message.CONTACT_SITE: _("Your study team asks you to contact them"),
}


class Audience(enum.StrEnum):
    """Whose worklist a task goes to (each is a worklist of its own)."""

    SITE_STAFF = "site_staff"
    MONITORS = "monitors"
    DATA_MANAGERS = "data_managers"


AUDIENCE_LABELS = {
    Audience.SITE_STAFF: _("Site staff"),
    Audience.MONITORS: _("Monitors"),
    Audience.DATA_MANAGERS: _("Data managers"),
}


@dataclass(frozen=True)
class Happening:
    """An event as rules see it. ``key`` names the event itself (with a rule's id, the
    idempotency key of the run it makes); ``changed``: the items an item-answered event
    changed; ``values``: what a condition reads; ``payload``: ids an action needs."""

    trigger: Trigger
    tenant_id: int
    study_id: int
    key: str
    subject_id: int | None = None
    site_id: int | None = None
    changed: frozenset[str] = frozenset()
    values: Mapping[str, Stored] = field(default_factory=dict)
    payload: Mapping[str, Any] = field(default_factory=dict)
    today: date | None = None


def check_condition(text: str) -> str | None:
    """Why ``text`` is not an expression (None: it is one)."""
    try:
        parse(text)
    except ExpressionError as error:
        return str(error)
    return None


def condition_holds(condition: str | None, happening: Happening) -> bool:
    """Whether ``condition`` (blank: always) is true of ``happening``; one that cannot be
    evaluated (a missing value, a type error) does not hold."""
    if not (condition or "").strip():
        return True
    try:
        value = evaluate(parse(condition), MappingContext(happening.values, today=happening.today))
    except ExpressionError:
        log.info("an automation condition could not be evaluated; the rule did not fire")
        return False
    return is_true(value)


def matches(rule: AutomationRule, happening: Happening) -> bool:
    """Whether ``rule`` acts on ``happening``."""
    if not rule.enabled or rule.study_id != happening.study_id:
        return False
    if rule.trigger != happening.trigger:
        return False
    if happening.trigger is Trigger.ITEM_ANSWERED and rule.item not in happening.changed:
        return False
    return condition_holds(rule.condition, happening)
