"""Automation rules: keeping them (audited), recording the runs an event makes (the outbox, in
the event's transaction) and carrying a run out (in a job, after the commit, once due).

A run is carried out at most once: its row is locked, and it is marked done in the same
transaction as the mail, the text message, the questionnaire or the task it makes, so a job
run twice finds it done. A run that fails is tried again with a growing wait (1, 2, 4, 8
minutes) until its fifth attempt, then marked failed; each attempt's error stays on the row.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pyramid.registry import Registry
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from datacapt import audit, clock
from datacapt.actor import Actor
from datacapt.automations.rules import (
    TO_SUBJECT,
    TRIGGER_LABELS,
    Action,
    Audience,
    Happening,
    Message,
    Trigger,
    check_condition,
    matches,
)
from datacapt.ecrf.definition import Definition
from datacapt.ecrf.versions import published_design
from datacapt.epro import services as epro
from datacapt.i18n import DEFAULT_LANGUAGE, _
from datacapt.jobs import enqueue_after_commit
from datacapt.mail import send_mail_in, translate_in
from datacapt.models import (
    AutomationRule,
    AutomationRun,
    AutomationTask,
    RunState,
    Site,
    Study,
    StudyRoleAssignment,
    StudyRoleSite,
    Subject,
    SubjectContact,
    Tenant,
    User,
)
from datacapt.pagination import Page, paginate
from datacapt.permissions import StudyRole
from datacapt.sms import send_sms_in
from datacapt.subjects import contacts
from datacapt.validation import EMAIL_PATTERN, ValidationError, whole_number

log = logging.getLogger(__name__)

RUN_JOB = "datacapt.automations.run"
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=1)
MAX_DELAY_MINUTES = 60 * 24 * 365
MAX_ADDRESSES = 20
MAX_DAYS_OPEN = 365


# --- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInput:
    """A rule as posted (all text), before it is checked."""

    name: str = ""
    trigger: str = ""
    item: str = ""
    condition: str = ""
    action: str = ""
    delay_minutes: str = "0"
    role: str = ""
    users: tuple[str, ...] = ()
    addresses: str = ""
    message: str = ""
    questionnaire: str = ""
    days_open: str = "7"
    audience: str = ""
    task: str = ""


def rule_input(rule: AutomationRule) -> RuleInput:
    """The form's values of a saved rule."""
    params = rule.params or {}
    return RuleInput(
        name=rule.name,
        trigger=rule.trigger,
        item=rule.item or "",
        condition=rule.condition or "",
        action=rule.action,
        delay_minutes=str(rule.delay_minutes),
        role=params.get("role", ""),
        users=tuple(str(user) for user in params.get("users", ())),
        addresses="\n".join(params.get("addresses", ())),
        message=params.get("message", ""),
        questionnaire=params.get("questionnaire", ""),
        days_open=str(params.get("days_open", 7)),
        audience=params.get("audience", ""),
        task=params.get("task", ""),
    )


def member_choices(dbsession: Session, study: Study) -> list[tuple[int, str]]:
    """(user id, "name <email>") of the study's active members, by name."""
    rows = dbsession.execute(
        select(User.id, User.name, User.email)
        .where(
            User.is_active.is_(True),
            exists().where(
                StudyRoleAssignment.user_id == User.id, StudyRoleAssignment.study_id == study.id
            ),
        )
        .order_by(User.name, User.email)
    ).all()
    return [(user_id, f"{name} <{email}>") for user_id, name, email in rows]


def questionnaire_choices(definition: Definition | None) -> list[tuple[str, str]]:
    if definition is None:
        return []
    return [
        (f"{visit}/{form.name}", f"{visit} · {form.name}")
        for visit, form in epro.questionnaires(definition)
    ]


def item_choices(definition: Definition | None) -> list[str]:
    if definition is None:
        return []
    return sorted({item.name for _form, item in definition.items()})


def _clean(
    dbsession: Session, study: Study, definition: Definition | None, posted: RuleInput
) -> dict[str, Any]:
    """The rule's columns from ``posted``, or ValidationError naming the field at fault."""
    name = " ".join(posted.name.split())
    if not name or len(name) > 200:
        raise ValidationError("name", _("Give the rule a name (at most 200 characters)."))
    if posted.trigger not in Trigger.__members__.values():
        raise ValidationError("trigger", _("Choose one of the offered events."))
    trigger = Trigger(posted.trigger)
    item = None
    if trigger is Trigger.ITEM_ANSWERED:
        item = posted.item.strip()
        if item not in item_choices(definition):
            raise ValidationError("item", _("Choose an item of the published design."))
    condition = posted.condition.strip() or None
    if condition is not None:
        problem = check_condition(condition)
        if problem is not None:
            raise ValidationError(
                "condition",
                _("This is not a valid expression: ${problem}", mapping={"problem": problem}),
            )
    delay = whole_number(posted.delay_minutes.strip() or "0", MAX_DELAY_MINUTES)
    if delay is None:
        raise ValidationError(
            "delay_minutes",
            _(
                "Enter a whole number of minutes from 0 to ${most}.",
                mapping={"most": MAX_DELAY_MINUTES},
            ),
        )
    if posted.action not in Action.__members__.values():
        raise ValidationError("action", _("Choose one of the offered actions."))
    action = Action(posted.action)
    params: dict[str, Any] = {}
    if action is Action.MAIL_ROLE:
        if posted.role not in StudyRole.__members__.values():
            raise ValidationError("role", _("Choose one of the offered roles."))
        params["role"] = posted.role
    elif action is Action.MAIL_USERS:
        members = {str(user_id) for user_id, _label in member_choices(dbsession, study)}
        chosen = sorted({user for user in posted.users if user in members}, key=int)
        if not chosen or len(chosen) != len(set(posted.users)):
            raise ValidationError("users", _("Choose one or more members of the study."))
        params["users"] = [int(user) for user in chosen]
    elif action is Action.MAIL_ADDRESSES:
        addresses = [line.strip().lower() for line in posted.addresses.split() if line.strip()]
        if not addresses or len(addresses) > MAX_ADDRESSES:
            raise ValidationError(
                "addresses",
                _(
                    "Enter from 1 to ${most} addresses, one per line.",
                    mapping={"most": MAX_ADDRESSES},
                ),
            )
        if any(len(address) > 254 or not EMAIL_PATTERN.match(address) for address in addresses):
            raise ValidationError("addresses", _("Enter valid e-mail addresses, one per line."))
        params["addresses"] = addresses
    elif action is Action.MAIL_SUBJECT:
        if posted.message not in Message.__members__.values():
            raise ValidationError("message", _("Choose one of the offered messages."))
        params["message"] = posted.message
    elif action is Action.SEND_EPRO:
        if posted.questionnaire not in dict(questionnaire_choices(definition)):
            raise ValidationError("questionnaire", _("Choose one of the offered questionnaires."))
        days = whole_number(posted.days_open.strip(), MAX_DAYS_OPEN)
        if not days:
            raise ValidationError(
                "days_open",
                _(
                    "Enter a whole number of days from 1 to ${most}.",
                    mapping={"most": MAX_DAYS_OPEN},
                ),
            )
        params["questionnaire"], params["days_open"] = posted.questionnaire, days
    elif action is Action.CREATE_TASK:
        if posted.audience not in Audience.__members__.values():
            raise ValidationError("audience", _("Choose whose worklist the task goes to."))
        task = " ".join(posted.task.split())
        if not task or len(task) > 500:
            raise ValidationError("task", _("Say what is to be done (at most 500 characters)."))
        params["audience"], params["task"] = posted.audience, task
    return {
        "name": name,
        "trigger": trigger.value,
        "item": item,
        "condition": condition,
        "action": action.value,
        "params": params,
        "delay_minutes": delay,
    }


def _fingerprint(address: str) -> str:
    return "sha256:" + hashlib.sha256(address.encode()).hexdigest()[:12]


def _audited(rule: AutomationRule) -> dict[str, Any]:
    """The rule as the trail records it: fixed addresses only as fingerprints (no personal
    data in the trail's text), so a changed address still shows as a change."""
    params = dict(rule.params or {})
    if "addresses" in params:
        params["addresses"] = [_fingerprint(address) for address in params["addresses"]]
    return {
        "name": rule.name,
        "trigger": rule.trigger,
        "item": rule.item,
        "condition": rule.condition,
        "action": rule.action,
        "params": params,
        "delay_minutes": rule.delay_minutes,
        "enabled": rule.enabled,
    }


def _record(
    dbsession: Session, actor: Actor, rule: AutomationRule, action: str, old: Any, new: Any
) -> None:
    audit.record(
        dbsession,
        actor,
        tenant_id=rule.tenant_id,
        study_id=rule.study_id,
        action=action,
        entity_type="automation_rule",
        entity_id=rule.id,
        old=old,
        new=new,
    )


def create_rule(
    dbsession: Session, study: Study, posted: RuleInput, *, actor: Actor
) -> AutomationRule:
    design = published_design(dbsession, study)
    values = _clean(dbsession, study, design.definition if design else None, posted)
    now = clock.now()
    rule = AutomationRule(
        tenant_id=study.tenant_id,
        study_id=study.id,
        enabled=True,
        created_at=now,
        updated_at=now,
        **values,
    )
    dbsession.add(rule)
    dbsession.flush()
    _record(dbsession, actor, rule, "automation.rule_created", None, _audited(rule))
    _keep_triggers(dbsession, rule.study_id)
    return rule


def change_rule(
    dbsession: Session, study: Study, rule: AutomationRule, posted: RuleInput, *, actor: Actor
) -> None:
    design = published_design(dbsession, study)
    values = _clean(dbsession, study, design.definition if design else None, posted)
    old = _audited(rule)
    for key, value in values.items():
        setattr(rule, key, value)
    new = _audited(rule)
    if new != old:
        rule.updated_at = clock.now()
        _record(dbsession, actor, rule, "automation.rule_changed", old, new)
        _keep_triggers(dbsession, rule.study_id)


def set_enabled(dbsession: Session, rule: AutomationRule, enabled: bool, *, actor: Actor) -> None:
    if rule.enabled is enabled:
        return
    rule.enabled, rule.updated_at = enabled, clock.now()
    action = "automation.rule_enabled" if enabled else "automation.rule_disabled"
    _record(dbsession, actor, rule, action, {"enabled": not enabled}, {"enabled": enabled})
    _keep_triggers(dbsession, rule.study_id)


def _keep_triggers(dbsession: Session, study_id: int) -> None:
    """Write down on the study which triggers its enabled rules wait for."""
    dbsession.flush()
    triggers = sorted(
        set(
            dbsession.scalars(
                select(AutomationRule.trigger).where(
                    AutomationRule.study_id == study_id, AutomationRule.enabled.is_(True)
                )
            )
        )
    )
    study = dbsession.get(Study, study_id)
    study.automation_triggers = ",".join(triggers)


def watched(dbsession: Session, study_id: int, trigger: Trigger) -> bool:
    """Whether an enabled rule of the study waits for ``trigger`` (no query when the study is
    loaded already, as it is in a request's path)."""
    study = dbsession.get(Study, study_id)
    return study is not None and trigger.value in (study.automation_triggers or "").split(",")


def rules_of(dbsession: Session, study: Study) -> list[AutomationRule]:
    return list(
        dbsession.scalars(
            select(AutomationRule)
            .where(AutomationRule.study_id == study.id)
            .order_by(AutomationRule.enabled.desc(), AutomationRule.name, AutomationRule.id)
        )
    )


def rule_of(dbsession: Session, study: Study, rule_id: str) -> AutomationRule | None:
    """The study's rule of that id (another study's: None)."""
    number = whole_number(rule_id, 10**12)
    if number is None:
        return None
    return dbsession.scalar(
        select(AutomationRule).where(
            AutomationRule.id == number, AutomationRule.study_id == study.id
        )
    )


# --- the outbox: runs recorded with the event -----------------------------------------------


def record_runs(dbsession: Session, happening: Happening) -> list[AutomationRun]:
    """A run for each of the study's rules that ``happening`` matches and that has none for it
    yet, in the caller's transaction; each due now is asked of a job after the commit."""
    if not watched(dbsession, happening.study_id, happening.trigger):
        return []
    rules = dbsession.scalars(
        select(AutomationRule)
        .where(
            AutomationRule.study_id == happening.study_id,
            AutomationRule.trigger == happening.trigger.value,
            AutomationRule.enabled.is_(True),
        )
        .order_by(AutomationRule.id)
    ).all()
    matching = [rule for rule in rules if matches(rule, happening)]
    if not matching:
        return []
    seen = set(
        dbsession.scalars(
            select(AutomationRun.rule_id).where(
                AutomationRun.rule_id.in_([rule.id for rule in matching]),
                AutomationRun.event_key == happening.key,
            )
        )
    )
    now = clock.now()
    runs = []
    for rule in matching:
        if rule.id in seen:
            continue
        due = now + timedelta(minutes=rule.delay_minutes)
        run = AutomationRun(
            tenant_id=happening.tenant_id,
            study_id=happening.study_id,
            rule_id=rule.id,
            event_key=happening.key[:200],
            trigger=happening.trigger.value,
            action=rule.action,
            subject_id=happening.subject_id,
            site_id=happening.site_id,
            payload=dict(happening.payload),
            state=RunState.PENDING,
            attempts=0,
            due_at=due,
            next_attempt_at=due,
            created_at=now,
        )
        dbsession.add(run)
        runs.append(run)
    dbsession.flush()
    for run in runs:
        if run.due_at <= now:
            enqueue_after_commit(dbsession, RUN_JOB, run_id=run.id)
    return runs


def queue_due(dbsession: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Ask a job for each pending run whose time has come (its delay, or its next retry),
    pushing its next attempt a retry's wait off so a later turn does not ask twice."""
    now = now or clock.now()
    runs = dbsession.scalars(
        select(AutomationRun)
        .where(
            AutomationRun.state == RunState.PENDING,
            AutomationRun.due_at <= now,
            AutomationRun.next_attempt_at <= now,
        )
        .order_by(AutomationRun.next_attempt_at, AutomationRun.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for run in runs:
        run.next_attempt_at = now + FIRST_RETRY
        enqueue_after_commit(dbsession, RUN_JOB, run_id=run.id)
    return len(runs)


# --- carrying a run out ---------------------------------------------------------------------


class Skipped(Exception):
    """The run has nothing to do (the subject opted out, has no address ...): said why."""


def retry_wait(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes after the ``attempts``-th failure."""
    return FIRST_RETRY * (2 ** max(attempts - 1, 0))


def carry_out(
    dbsession: Session, registry: Registry, run_id: int, now: datetime | None = None
) -> None:
    """Carry run ``run_id`` out if it is still pending and due (else nothing: a job run twice
    or too early does no harm); record its outcome, or its error and next attempt."""
    now = now or clock.now()
    run = dbsession.get(AutomationRun, run_id, with_for_update=True)
    if run is None or run.state is not RunState.PENDING or run.due_at > now:
        return
    rule = dbsession.get(AutomationRule, run.rule_id)
    run.attempts += 1
    try:
        with dbsession.begin_nested():
            outcome = _act(dbsession, registry, rule, run, now)
    except Skipped as skipped:
        run.state, run.outcome, run.finished_at = RunState.SKIPPED, str(skipped)[:300], now
    except Exception as error:
        log.warning("automation run %s failed (attempt %s)", run.id, run.attempts)
        run.last_error = "".join(traceback.format_exception_only(error))[-2000:]
        if run.attempts >= MAX_ATTEMPTS:
            run.state, run.finished_at = RunState.FAILED, now
            run.outcome = "failed"
        else:
            run.next_attempt_at = now + retry_wait(run.attempts)
            run.outcome = "will retry"
    else:
        run.state, run.outcome, run.finished_at = RunState.DONE, outcome[:300], now
        run.last_error = None


def _act(
    dbsession: Session, registry: Registry, rule: AutomationRule, run: AutomationRun, now: datetime
) -> str:
    study = dbsession.get(Study, run.study_id)
    subject = dbsession.get(Subject, run.subject_id) if run.subject_id is not None else None
    action = Action(rule.action)
    params = rule.params or {}
    if action in TO_SUBJECT:
        if subject is None:
            raise Skipped("no subject")
        if subject.status in epro.OPTED_OUT or contacts.is_contact_stopped(dbsession, subject.id):
            raise Skipped("subject opted out or left the study")
    if action is Action.MAIL_ROLE:
        people = _role_holders(dbsession, study.id, run.site_id, StudyRole(params["role"]))
        return _mail_staff(dbsession, registry, study, rule, run, subject, people)
    if action is Action.MAIL_USERS:
        people = list(
            dbsession.scalars(
                select(User).where(User.id.in_(params.get("users", [])), User.is_active.is_(True))
            )
        )
        return _mail_staff(dbsession, registry, study, rule, run, subject, people)
    if action is Action.MAIL_ADDRESSES:
        return _mail_staff(dbsession, registry, study, rule, run, subject, params["addresses"])
    if action is Action.MAIL_SUBJECT:
        return _message_subject(dbsession, registry, study, subject, Message(params["message"]))
    if action is Action.SEND_EPRO:
        return _send_epro(dbsession, registry, study, subject, params, now)
    if action is Action.CREATE_TASK:
        task = AutomationTask(
            tenant_id=run.tenant_id,
            study_id=run.study_id,
            site_id=run.site_id,
            subject_id=run.subject_id,
            run_id=run.id,
            audience=params["audience"],
            text=params["task"],
            created_at=now,
        )
        dbsession.add(task)
        return "task created"
    raise LookupError(f"unknown action {rule.action!r}")


def _role_holders(
    dbsession: Session, study_id: int, site_id: int | None, role: StudyRole
) -> list[User]:
    """The active holders of ``role`` in the study, at ``site_id`` (unrestricted, or
    restricted to sites including it)."""
    assignment = StudyRoleAssignment
    restricted = exists().where(StudyRoleSite.study_role_id == assignment.id)
    at_site = ~restricted
    if site_id is not None:
        at_site = or_(
            ~restricted,
            exists().where(
                StudyRoleSite.study_role_id == assignment.id, StudyRoleSite.site_id == site_id
            ),
        )
    return list(
        dbsession.scalars(
            select(User)
            .join(assignment, and_(assignment.user_id == User.id))
            .where(
                assignment.study_id == study_id,
                assignment.role == role,
                User.is_active.is_(True),
                at_site,
            )
            .order_by(User.id)
        )
    )


def public_url(registry: Registry) -> str:
    url = (registry.settings.get("datacapt.public_url") or "").strip().rstrip("/")
    if not url:
        raise RuntimeError("datacapt.public_url is empty: automations cannot make links")
    return url


def _mail_staff(
    dbsession: Session,
    registry: Registry,
    study: Study,
    rule: AutomationRule,
    run: AutomationRun,
    subject: Subject | None,
    people: Sequence[User | str],
) -> str:
    """A mail to each of ``people`` naming the rule, the event and the subject's label (a
    pseudonymous code) with a link to the subject, never any of its data."""
    if not people:
        raise Skipped("nobody to mail")
    url = public_url(registry)
    site = dbsession.get(Site, run.site_id) if run.site_id is not None else None
    link = f"{url}/{_tenant_code(dbsession, study)}/{study.code}/"
    if subject is not None:
        link += f"subjects/{subject.label}/"
    for person in people:
        send_mail_in(
            dbsession,
            to=person,
            subject=_("Automation: ${rule}", mapping={"rule": rule.name}),
            template="mail/automation_staff.jinja2",
            application_url=url,
            locale=study.languages[0] if study.languages else DEFAULT_LANGUAGE,
            rule=rule.name,
            event=TRIGGER_LABELS[Trigger(run.trigger)],
            study=study.code,
            site=site.code if site is not None else "",
            subject_label=subject.label if subject is not None else "",
            link=link,
        )
    return f"{len(people)} mail(s) sent"


def _tenant_code(dbsession: Session, study: Study) -> str:
    return dbsession.get(Tenant, study.tenant_id).slug


@dataclass(frozen=True)
class Channel:
    """How a subject is reached: ``kind`` ``email`` or ``sms``, the address, the language."""

    kind: str
    address: str
    language: str


def subject_channel(
    dbsession: Session, registry: Registry, subject: Subject, study: Study, reason: str
) -> Channel | None:
    """How ``subject`` is reached now (SMS when they prefer it and a phone is on file, else
    e-mail), its reading recorded in the trail and the personal-data access log (never the
    details); None: no way."""
    row = dbsession.get(SubjectContact, subject.id)
    if row is None:
        return None
    actor = Actor.system("automations", tenant_id=subject.tenant_id)
    contact = contacts.open_logged(
        dbsession, registry, row, actor, purpose="contact", fields=("email", "phone")
    )
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="subject.contact_viewed",
        entity_type="subject_contact",
        entity_id=subject.id,
        reason=reason,
    )
    found = contacts.reach(contact)
    if found is None:
        return None
    language = contacts.language_of(contact, study.languages, DEFAULT_LANGUAGE)
    return Channel(found.channel, found.address, language)


def _message_subject(
    dbsession: Session, registry: Registry, study: Study, subject: Subject, message: Message
) -> str:
    channel = subject_channel(dbsession, registry, subject, study, "automation message")
    if channel is None:
        raise Skipped("no contact details")
    url = public_url(registry)
    link = ""
    if message is Message.QUESTIONNAIRES:
        handed = epro.hand_link(
            dbsession, subject, Actor.system("automations", tenant_id=subject.tenant_id)
        )
        link = f"{url}/p/@@start/{handed.token}"
    send_to_subject(dbsession, registry, channel, message, link, url)
    return f"message sent by {channel.kind}"


SMS_TEXTS = {
    Message.QUESTIONNAIRES: _("Your study team asks you to open your questionnaires: ${link}"),
    Message.CONTACT_SITE: _("Your study team asks you to contact them."),
}


def send_to_subject(
    dbsession: Session,
    registry: Registry,
    channel: Channel,
    message: Message,
    link: str,
    application_url: str,
) -> None:
    """One of the study-neutral messages, by the subject's channel, in their language."""
    if channel.kind == "sms":
        body = translate_in(registry, channel.language, SMS_TEXTS[message], link=link)
        send_sms_in(dbsession, to=channel.address, body=body)
        return
    send_mail_in(
        dbsession,
        to=channel.address,
        subject=_("A message from your study team"),
        template="mail/automation_subject.jinja2",
        application_url=application_url,
        locale=channel.language,
        message=message.value,
        link=link,
    )


def _send_epro(
    dbsession: Session,
    registry: Registry,
    study: Study,
    subject: Subject,
    params: Mapping[str, Any],
    now: datetime,
) -> str:
    design = published_design(dbsession, study)
    if design is None:
        raise Skipped("no published design")
    visit, form = params["questionnaire"].split("/", 1)
    actor = Actor.system("automations", tenant_id=subject.tenant_id)
    try:
        occurrence = epro.schedule_occurrence(
            dbsession,
            subject,
            design.definition,
            visit=visit,
            form=form,
            opens_at=now,
            closes_at=now + timedelta(days=int(params["days_open"])),
            actor=actor,
        )
    except epro.NotAQuestionnaire:
        raise Skipped("the questionnaire is no longer in the design") from None
    epro.request_sending(dbsession, subject, occurrence, actor, public_url(registry))
    return f"questionnaire {occurrence.id} sent"


# --- the run log ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    run: AutomationRun
    rule_name: str
    subject_label: str | None


def runs_page(
    dbsession: Session,
    study: Study,
    number: int,
    size: int,
    *,
    rule_id: int | None = None,
    state: RunState | None = None,
) -> Page:
    """A page of the study's runs, the newest first, with their rule's name and subject's
    label (one query, and one to count)."""
    statement = (
        select(AutomationRun, AutomationRule.name, Subject.label)
        .join(AutomationRule, AutomationRule.id == AutomationRun.rule_id)
        .outerjoin(Subject, Subject.id == AutomationRun.subject_id)
        .where(AutomationRun.study_id == study.id)
    )
    if rule_id is not None:
        statement = statement.where(AutomationRun.rule_id == rule_id)
    if state is not None:
        statement = statement.where(AutomationRun.state == state)
    statement = statement.order_by(AutomationRun.created_at.desc(), AutomationRun.id.desc())
    page = paginate(dbsession, statement, number, size)
    return page


def run_counts(dbsession: Session, study: Study) -> dict[int, int]:
    """Rule id → its runs."""
    return dict(
        dbsession.execute(
            select(AutomationRun.rule_id, func.count())
            .where(AutomationRun.study_id == study.id)
            .group_by(AutomationRun.rule_id)
        ).all()
    )
