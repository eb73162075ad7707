"""Subjects' links and questionnaires: handing a one-time link, exchanging it for a session,
scheduling occurrences and saving what the subject answers.

A link's token is 256 random bits shown once and stored only as its SHA-256. Looking one up
never consumes it (mail scanners and link previews fetch links): only the Start, a POST, does.
A bad, used or expired token get the same answer, and every failed lookup counts against the
client's address in the links' own bucket (:func:`datacapt.accounts.services.check_address`).

What a subject answers is saved by the same service as the sites' entry
(:func:`datacapt.entry.services.save_form`), by an actor that names the subject as originator.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pyramid.registry import Registry
from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.accounts.services import Bucket, Throttle, check_address, record_attempt
from datacapt.actor import Actor
from datacapt.consent.events import SAMPLES, ConsentWithdrawn
from datacapt.ecrf.definition import Definition, Form, Item
from datacapt.ecrf.page_values import Who
from datacapt.ecrf.runtime import FormState, Page
from datacapt.entry import services as entry
from datacapt.epro.events import EproCompleted, EproMissed, EproSent, EproStatusChanged
from datacapt.i18n import DEFAULT_LANGUAGE, _
from datacapt.jobs import enqueue_after_commit
from datacapt.mail import send_mail_in, translate_in
from datacapt.models import (
    EproOccurrence,
    FormInstance,
    OccurrenceStatus,
    Study,
    Subject,
    SubjectContact,
    SubjectLink,
    SubjectStatus,
)
from datacapt.reactions import Reactions, publish
from datacapt.security import new_token, token_hash
from datacapt.sms import send_sms_in
from datacapt.subjects import contacts
from datacapt.validation import ValidationError, whole_number

PURPOSE = "epro"
#: How long a handed link stays valid when no questionnaire window ends it sooner.
LINK_LIFETIME = timedelta(days=7)
#: Failed lookups are counted as failures of this pseudo-account, in the links' bucket.
LINK_ATTEMPTS = "subject-link"
MAX_TOKEN_LENGTH = 100
#: A page of the subject's area a link may lead to: names and numbers, each ending in "/".
LANDING = re.compile(r"(?:[a-z]{1,20}/|[0-9]{1,12}/){1,4}")


@dataclass(frozen=True)
class HandedLink:
    link: SubjectLink
    token: str  # shown once, never stored


def hand_link(
    dbsession: Session,
    subject: Subject,
    actor: Actor,
    *,
    occurrence: EproOccurrence | None = None,
    landing: str | None = None,
    now: datetime | None = None,
) -> HandedLink:
    """A fresh one-time link for ``subject``'s questionnaires (or, with ``landing``, to that
    page of their area: ``messages/12/``); the trail records that it was handed, by whom and
    until when, never the token."""
    if landing is not None and not LANDING.fullmatch(landing):
        raise ValueError(f"not a page of the subject's area: {landing!r}")
    now = now or datetime.now(UTC)
    expires = now + LINK_LIFETIME
    if occurrence is not None:
        expires = min(expires, occurrence.closes_at)
    token = new_token()
    link = SubjectLink(
        token_hash=token_hash(token),
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        subject_id=subject.id,
        purpose=PURPOSE,
        occurrence_id=occurrence.id if occurrence is not None else None,
        landing=landing,
        created_at=now,
        expires_at=expires,
        created_by_id=actor.user_id,
    )
    dbsession.add(link)
    dbsession.flush()
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="epro.link_handed",
        entity_type="subject_link",
        entity_id=link.id,
        new={"purpose": PURPOSE, "expires_at": expires.isoformat()},
    )
    return HandedLink(link, token)


def link_throttle(dbsession: Session, registry: Registry, address: str) -> Throttle:
    return check_address(dbsession, registry, address, Bucket.SUBJECT_LINK)


def find_link(
    dbsession: Session, registry: Registry, token: str, address: str
) -> SubjectLink | None:
    """The link ``token`` opens now, else None, the failure counted against ``address`` (the
    caller keeps the writes of its error answer). Unknown, used and expired alike."""
    link = None
    if token and len(token) <= MAX_TOKEN_LENGTH:
        link = dbsession.scalar(
            select(SubjectLink).where(
                SubjectLink.token_hash == token_hash(token), SubjectLink.purpose == PURPOSE
            )
        )
    if link is None or link.used_at is not None or link.expires_at <= datetime.now(UTC):
        record_attempt(
            dbsession,
            registry,
            LINK_ATTEMPTS,
            address,
            succeeded=False,
            bucket=Bucket.SUBJECT_LINK,
        )
        return None
    return link


def link_open(dbsession: Session, link: SubjectLink) -> bool:
    """Whether the questionnaire a link is bound to (if any) can be answered now: a link to one
    not open yet says so and stays unused."""
    if link.occurrence_id is None:
        return True
    occurrence = dbsession.get(EproOccurrence, link.occurrence_id)
    return occurrence is not None and is_open(occurrence, datetime.now(UTC))


def use_link(dbsession: Session, link: SubjectLink, actor: Actor) -> None:
    """The Start: the link is spent; the session it opens is the caller's."""
    link.used_at = datetime.now(UTC)
    subject = dbsession.get(Subject, link.subject_id)
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="epro.link_used",
        entity_type="subject_link",
        entity_id=link.id,
    )


# --- occurrences ----------------------------------------------------------------------------


def window(anchor: date, offset_days: int, open_days: int, zone: str) -> tuple[datetime, datetime]:
    """When an occurrence opens and closes, in UTC: from the start of day ``anchor +
    offset_days`` to the end of its ``open_days``-th day, as the subject's clock reads them
    (so a window keeps its local midnights across a change of summer time)."""
    tz = ZoneInfo(zone)
    first = anchor + timedelta(days=offset_days)
    opens = datetime.combine(first, time(0), tzinfo=tz)
    closes = datetime.combine(first + timedelta(days=max(open_days, 1)), time(0), tzinfo=tz)
    return opens.astimezone(UTC), closes.astimezone(UTC)


class NotAQuestionnaire(ValueError):
    """The visit or form named is not an ePRO form of that visit in the published design."""


def schedule_occurrence(
    dbsession: Session,
    subject: Subject,
    definition: Definition,
    *,
    visit: str,
    form: str,
    opens_at: datetime,
    closes_at: datetime,
    actor: Actor,
    application_url: str | None = None,
) -> EproOccurrence:
    """A questionnaire for ``subject`` to fill between ``opens_at`` and ``closes_at``; with
    ``application_url``, the worker mails the subject its link when the window opens."""
    found = definition.form(form)
    planned = next((v for v in definition.schedule.visits if v.name == visit), None)
    if found is None or not found.epro or planned is None or form not in planned.forms:
        raise NotAQuestionnaire(form)
    occurrence = EproOccurrence(
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        subject_id=subject.id,
        visit=visit,
        visit_repeat=1,
        form=form,
        status=OccurrenceStatus.SCHEDULED,
        opens_at=opens_at,
        closes_at=closes_at,
        application_url=application_url,
    )
    dbsession.add(occurrence)
    dbsession.flush()
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="epro.scheduled",
        entity_type="epro_occurrence",
        entity_id=occurrence.id,
        new={
            "visit": visit,
            "form": form,
            "opens_at": opens_at.isoformat(),
            "closes_at": closes_at.isoformat(),
        },
    )
    return occurrence


def questionnaires(definition: Definition) -> list[tuple[str, Form]]:
    """(visit name, form) of every ePRO form the schedule places in a visit."""
    forms = {form.name: form for form in definition.forms if form.epro}
    return [
        (visit.name, forms[name])
        for visit in definition.schedule.visits
        for name in visit.forms
        if name in forms
    ]


class Anchor(enum.StrEnum):
    """The day an occurrence's offset counts from."""

    INCLUSION = "inclusion"
    TODAY = "today"


MAX_OFFSET_DAYS = 3650
MAX_OPEN_DAYS = 365


def schedule_from_anchor(
    dbsession: Session,
    subject: Subject,
    definition: Definition,
    zone: str,
    *,
    questionnaire: str,
    anchor: str,
    offset: str,
    days_open: str,
    today: date,
    actor: Actor,
    application_url: str | None = None,
) -> EproOccurrence:
    """An occurrence whose window opens ``offset`` days after the anchor (the subject's
    inclusion, or today) at the subject's midnight, open for ``days_open`` days. Raises
    ValidationError naming the field at fault."""
    choices = {
        f"{visit}/{form.name}": (visit, form.name) for visit, form in questionnaires(definition)
    }
    if questionnaire not in choices:
        raise ValidationError("questionnaire", _("Choose one of the offered questionnaires."))
    if anchor == Anchor.INCLUSION and subject.included_on is None:
        raise ValidationError("anchor", _("The subject has no inclusion date yet."))
    if anchor not in Anchor.__members__.values():
        raise ValidationError("anchor", _("Choose one of the offered starting days."))
    number = _signed_days(offset, MAX_OFFSET_DAYS)
    if number is None:
        raise ValidationError(
            "offset", _("Enter a whole number of days (negative: before the starting day).")
        )
    length = whole_number(days_open, MAX_OPEN_DAYS)
    if not length:
        raise ValidationError(
            "days_open",
            _("Enter a whole number of days from 1 to %(most)s.", mapping={"most": MAX_OPEN_DAYS}),
        )
    first = subject.included_on if anchor == Anchor.INCLUSION else today
    opens, closes = window(first, number, length, zone)
    visit, form = choices[questionnaire]
    return schedule_occurrence(
        dbsession,
        subject,
        definition,
        visit=visit,
        form=form,
        opens_at=opens,
        closes_at=closes,
        actor=actor,
        application_url=application_url,
    )


def _signed_days(text: str, limit: int) -> int | None:
    text = (text or "").strip()
    negative = text.startswith("-")
    number = whole_number(text[1:] if negative else text, limit)
    if number is None:
        return None
    return -number if negative else number


def is_open(occurrence: EproOccurrence, now: datetime) -> bool:
    return (
        occurrence.opens_at <= now < occurrence.closes_at
        and occurrence.status is not OccurrenceStatus.COMPLETED
    )


def occurrences_of(dbsession: Session, subject: Subject) -> list[EproOccurrence]:
    return list(
        dbsession.scalars(
            select(EproOccurrence)
            .where(EproOccurrence.subject_id == subject.id)
            .order_by(EproOccurrence.opens_at, EproOccurrence.id)
        )
    )


#: What an occurrence may still become; once its window closed without completion: missed.
STILL_DUE = (OccurrenceStatus.SCHEDULED, OccurrenceStatus.SENT, OccurrenceStatus.STARTED)


def mark_missed(dbsession: Session, now: datetime, actor: Actor) -> int:
    """Occurrences whose window closed before they were completed are missed (each change
    audited on its subject); how many."""
    rows = dbsession.execute(
        select(EproOccurrence, Subject)
        .join(Subject, Subject.id == EproOccurrence.subject_id)
        .where(EproOccurrence.closes_at <= now, EproOccurrence.status.in_(STILL_DUE))
        .order_by(EproOccurrence.id)
    ).all()
    for occurrence, subject in rows:
        _set_status(dbsession, subject, occurrence, OccurrenceStatus.MISSED, actor)
    return len(rows)


SEND_JOB = "datacapt.epro.send_link"
#: A reminder goes when the last mail is this old and the questionnaire still not completed,
#: at most ``MAX_REMINDERS`` times after the first mail.
REMINDER_AFTER = timedelta(days=1)
MAX_REMINDERS = 5
#: Subjects who left the study are sent nothing more.
OPTED_OUT = (SubjectStatus.WITHDRAWN, SubjectStatus.SCREEN_FAILURE, SubjectStatus.COMPLETED)


def request_sending(
    dbsession: Session,
    subject: Subject,
    occurrence: EproOccurrence,
    actor: Actor,
    application_url: str,
) -> None:
    """Mail the subject a link to ``occurrence`` once this transaction commits (a job, which
    makes the link itself: no token ever waits in the outbox)."""
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="epro.sending_requested",
        entity_type="epro_occurrence",
        entity_id=occurrence.id,
    )
    occurrence.application_url = application_url
    _enqueue_mail(dbsession, occurrence, datetime.now(UTC))


def _enqueue_mail(dbsession: Session, occurrence: EproOccurrence, now: datetime) -> None:
    occurrence.mails_sent += 1
    occurrence.last_mailed_at = now
    enqueue_after_commit(
        dbsession,
        SEND_JOB,
        occurrence_id=occurrence.id,
        application_url=occurrence.application_url,
    )


def send_due_mails(dbsession: Session, now: datetime) -> int:
    """Queue the mails due: the first link when a window opens, then a reminder a day after
    the last mail while the questionnaire is not completed (at most five), never to a subject
    who left the study or asked for nothing more (:func:`contacts.contact_stopped`); how many."""
    rows = dbsession.scalars(
        select(EproOccurrence)
        .join(Subject, Subject.id == EproOccurrence.subject_id)
        .where(
            EproOccurrence.application_url.is_not(None),
            EproOccurrence.status.in_(STILL_DUE),
            EproOccurrence.opens_at <= now,
            EproOccurrence.closes_at > now,
            EproOccurrence.mails_sent <= MAX_REMINDERS,
            Subject.status.not_in(OPTED_OUT),
            ~contacts.contact_stopped(Subject.id),
        )
        .order_by(EproOccurrence.id)
    ).all()
    due = [
        occurrence
        for occurrence in rows
        if occurrence.last_mailed_at is None or occurrence.last_mailed_at <= now - REMINDER_AFTER
    ]
    for occurrence in due:
        _enqueue_mail(dbsession, occurrence, now)
    return len(due)


SMS_TEXT = _("Your study team invites you to answer a questionnaire: ${link}")


def send_link(
    dbsession: Session, registry: Registry, occurrence_id: int, application_url: str
) -> bool:
    """Send the subject a fresh link to the occurrence, if it is still due, its window not
    closed, the subject still in the study and reachable (all re-checked at sending): by text
    message when they prefer it and a phone is on file, else by mail. The message carries no
    health information, only the link, in the subject's language. Whether one went."""
    occurrence = dbsession.get(EproOccurrence, occurrence_id)
    if occurrence is None or occurrence.status not in STILL_DUE:
        return False
    if occurrence.closes_at <= datetime.now(UTC):
        return False
    subject = dbsession.get(Subject, occurrence.subject_id)
    if subject.status in OPTED_OUT or contacts.is_contact_stopped(dbsession, subject.id):
        return False
    row = dbsession.get(SubjectContact, subject.id)
    actor = Actor.system("epro-mail", tenant_id=subject.tenant_id)
    contact = (
        contacts.open_logged(
            dbsession, registry, row, actor, purpose="contact", fields=("email", "phone")
        )
        if row is not None
        else contacts.Contact()
    )
    reach = contacts.reach(contact)
    if reach is None:
        return False
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="subject.contact_viewed",
        entity_type="subject_contact",
        entity_id=subject.id,
        reason="epro link mailed",
    )
    handed = hand_link(dbsession, subject, actor, occurrence=occurrence)
    study = dbsession.get(Study, subject.study_id)
    locale = contacts.language_of(contact, study.languages, DEFAULT_LANGUAGE)
    link = f"{application_url.rstrip('/')}/p/@@start/{handed.token}"
    if reach.channel == "sms":
        # No health information in a text message: study-neutral words and the link.
        body = translate_in(registry, locale, SMS_TEXT, link=link)
        send_sms_in(dbsession, to=reach.address, body=body)
    else:
        send_mail_in(
            dbsession,
            to=reach.address,
            subject=_("Your questionnaire is ready"),
            template="mail/epro_link.jinja2",
            application_url=application_url,
            locale=locale,
            link=link,
        )
    if occurrence.status is OccurrenceStatus.SCHEDULED:
        _set_status(dbsession, subject, occurrence, OccurrenceStatus.SENT, actor)
    return True


#: What an occurrence's new status tells other capabilities.
STATUS_EVENTS: dict[OccurrenceStatus, type[EproStatusChanged]] = {
    OccurrenceStatus.SENT: EproSent,
    OccurrenceStatus.COMPLETED: EproCompleted,
    OccurrenceStatus.MISSED: EproMissed,
}


def _set_status(
    dbsession: Session,
    subject: Subject,
    occurrence: EproOccurrence,
    status: OccurrenceStatus,
    actor: Actor,
) -> None:
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="epro.status_changed",
        entity_type="epro_occurrence",
        entity_id=occurrence.id,
        field="status",
        old=occurrence.status.value,
        new=status.value,
    )
    occurrence.status = status
    happened = STATUS_EVENTS.get(status)
    if happened is not None:
        publish(happened(dbsession, actor, subject, occurrence))


# --- answering ------------------------------------------------------------------------------


def pages(form: Form) -> int:
    """One page per section (at least one), or one per question (``one_per_screen``)."""
    return len(steps(form))


def _section_items(form: Form, page: int) -> list[Item]:
    section = form.sections[page] if 0 <= page < len(form.sections) else None
    if section is None:
        return []
    return [
        block
        for subsection in section.subsections
        for block in subsection.blocks
        if isinstance(block, Item)
    ]


def steps(form: Form) -> list[list[Item]]:
    """The questionnaire's screens, each the items it shows: a section's, or one item each."""
    if form.one_per_screen:
        return [
            [item] for page in range(len(form.sections)) for item in _section_items(form, page)
        ] or [[]]
    return [_section_items(form, page) for page in range(len(form.sections))] or [[]]


def page_items(form: Form, page: int) -> list[Item]:
    found = steps(form)
    return found[page] if 0 <= page < len(found) else []


def steps_shown(state: FormState, form: Form) -> list[bool]:
    """Whether each screen is shown by the branching of ``state`` (a question: its section,
    its group and itself; a question always hidden, ``@HIDDEN``, is never a screen)."""
    if not form.one_per_screen:
        return [section.visible for section in state.sections] or [True]
    return [
        section.visible and sub.visible and block.visible and not block.concealed
        for section in state.sections
        for sub in section.subsections
        for block in sub.blocks
        if block.name is not None
    ] or [True]


def first_unanswered(state: FormState, form: Form) -> int:
    """Where to resume: the first shown screen with a question left blank (not computed),
    else the first shown one."""
    shown = steps_shown(state, form)
    by_name = {block.name: block for block in state.items()}
    for number, (items, visible) in enumerate(zip(steps(form), shown, strict=False)):
        blank = [i for i in items if not by_name[i.name].raw and not by_name[i.name].readonly]
        if visible and blank:
            return number
    return next((number for number, visible in enumerate(shown) if visible), 0)


def following_step(state: FormState, form: Form, page: int, step: int) -> int | None:
    """The next shown screen after ``page`` (``step`` 1) or before it (-1); None: none."""
    shown = steps_shown(state, form)
    candidate = page + step
    while 0 <= candidate < len(shown):
        if shown[candidate]:
            return candidate
        candidate += step
    return None


def saved_form(
    dbsession: Session, subject: Subject, occurrence: EproOccurrence
) -> FormInstance | None:
    return dbsession.scalar(
        select(FormInstance).where(
            FormInstance.subject_id == subject.id,
            FormInstance.visit == occurrence.visit,
            FormInstance.visit_repeat == occurrence.visit_repeat,
            FormInstance.form == occurrence.form,
            FormInstance.repeat == 1,
        )
    )


def merged_answers(
    dbsession: Session,
    form: Form,
    instance: FormInstance | None,
    page: int,
    posted: Mapping[str, list[str]] | None,
) -> dict[str, list[str]]:
    """The whole form's inputs: what is saved, with this page's items as just sent when
    ``posted`` (an item of the page left unanswered is sent as nothing, and so is blank)."""
    answers = entry.posted_from_stored(form, entry.stored_values(dbsession, instance))
    if posted is None:
        return answers
    for item in page_items(form, page):
        answers[item.name] = list(posted.get(item.name, []))
    return answers


def answers_state(
    dbsession: Session,
    definition: Definition,
    subject: Subject,
    occurrence: EproOccurrence,
    form: Form,
    answers: Mapping[str, list[str]],
    today: date,
    *,
    saved: bool,
) -> FormState:
    """The questionnaire's state for ``answers``; ``saved``: the form was saved before (a new
    one takes its action tags' defaults)."""
    return entry.entry_state(
        dbsession,
        definition,
        subject,
        (occurrence.visit, occurrence.visit_repeat),
        form,
        answers,
        today=today,
        page=Page(saved=answers if saved else None, now=datetime.now(UTC)),
        who=Who(record=subject.label),
    )


class QuestionnaireClosed(Exception):
    """Outside its window, or completed already: nothing is saved."""


def save_answers(
    dbsession: Session,
    study: Study,
    subject: Subject,
    occurrence: EproOccurrence,
    design_number: int,
    definition: Definition,
    form: Form,
    answers: Mapping[str, list[str]],
    *,
    submit: bool,
    today: date,
    actor: Actor,
    reactions: Reactions,
    reason: str = "",
) -> None:
    """Save the whole questionnaire through the sites' save service (``submit``: complete);
    the occurrence is then started, or completed. Raises QuestionnaireClosed, or the save's
    SaveRefused (a page's answers refused, nothing saved). A staff member entering for the
    subject (``actor.on_subjects_behalf``, ``reason`` why) is recorded on the occurrence."""
    now = datetime.now(UTC)
    if not is_open(occurrence, now):
        raise QuestionnaireClosed()
    instance = saved_form(dbsession, subject, occurrence)
    scope = entry.EntryScope(
        study=study,
        subject=subject,
        visit=occurrence.visit,
        visit_repeat=occurrence.visit_repeat,
        form=form,
        form_repeat=1,
        version_number=design_number,
    )
    request = entry.EntryRequest(
        posted=answers,
        missing={},
        complete=submit,
        reason=reason,
        lock=instance.lock_version if instance is not None else None,
        today=today,
    )
    try:
        entry.save_form(
            dbsession,
            scope,
            definition,
            request,
            missing_codes=set(),
            actor=actor,
            reactions=reactions,
        )
    except (entry.StaleForm, entry.FormClosed):
        raise QuestionnaireClosed() from None
    if actor.on_subjects_behalf and occurrence.entered_by_id != actor.user_id:
        audit.record_subject(
            dbsession,
            actor,
            subject,
            action="epro.entered_on_behalf",
            entity_type="epro_occurrence",
            entity_id=occurrence.id,
            field="entered_by_id",
            old=occurrence.entered_by_id,
            new=actor.user_id,
            reason=reason,
        )
        occurrence.entered_by_id, occurrence.entry_reason = actor.user_id, reason
    status = OccurrenceStatus.COMPLETED if submit else OccurrenceStatus.STARTED
    if occurrence.status is not status:
        if occurrence.started_at is None:
            occurrence.started_at = now
        if submit:
            occurrence.completed_at = now
        _set_status(dbsession, subject, occurrence, status, actor)


#: Why a staff member enters a subject's answers for them (stored and audited in English).
ON_BEHALF_REASONS = {
    "phone": _("Phone interview"),
    "paper": _("Transcription of a paper questionnaire"),
    "visit": _("Interview at a site visit"),
}


def occurrence_of(
    dbsession: Session, subject: Subject, number: int | None
) -> EproOccurrence | None:
    """``subject``'s occurrence ``number`` (found through the subject: another's is None)."""
    if number is None:
        return None
    return dbsession.scalar(
        select(EproOccurrence).where(
            EproOccurrence.id == number, EproOccurrence.subject_id == subject.id
        )
    )


def all_items(form: Form) -> list[Item]:
    return [item for step in steps(form) for item in step]


def unanswered_required(state: FormState, form: Form, page: int) -> list[str]:
    """Names of the visible required items of ``page`` left blank."""
    names = {item.name for item in page_items(form, page)}
    return [
        block_state.name or ""
        for block_state in state.items()
        if block_state.name in names and block_state.missing
    ]


# --- a subject opting out ----------------------------------------------------------------------


def stop_for_subject(dbsession: Session, subject: Subject, actor: Actor) -> int:
    """The subject opts out (a withdrawal of consent): every questionnaire not completed yet is
    missed, every unused link expires now. What they answered before stays. The number of
    questionnaires stopped."""
    now = datetime.now(UTC)
    stopped = dbsession.scalars(
        select(EproOccurrence).where(
            EproOccurrence.subject_id == subject.id,
            EproOccurrence.status.in_(
                [OccurrenceStatus.SCHEDULED, OccurrenceStatus.SENT, OccurrenceStatus.STARTED]
            ),
        )
    ).all()
    for occurrence in stopped:
        _set_status(dbsession, subject, occurrence, OccurrenceStatus.MISSED, actor)
    for link in dbsession.scalars(
        select(SubjectLink).where(
            SubjectLink.subject_id == subject.id,
            SubjectLink.used_at.is_(None),
            SubjectLink.expires_at > now,
        )
    ):
        link.expires_at = now
    return len(stopped)


def consent_withdrawn(event: ConsentWithdrawn) -> None:
    """Reaction: a withdrawal of consent (from anything but samples alone) stops ePRO."""
    if set(event.scope) - {SAMPLES}:
        subject = event.dbsession.get(Subject, event.record.subject_id)
        stop_for_subject(event.dbsession, subject, event.actor)
