"""A subject's notice that their site wrote to them: a mail or a text message (as they prefer,
in their language) saying only that a message waits, with a fresh one-time link into their area
that leads to the thread. Never the message's words, the study's name or anything about them:
a notice may be read by someone else."""

from __future__ import annotations

from pyramid.registry import Registry
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.epro import services as epro
from datacapt.i18n import DEFAULT_LANGUAGE, _
from datacapt.mail import send_mail_in, translate_in
from datacapt.models import Message, MessageThread, Study, Subject, SubjectContact
from datacapt.sms import send_sms_in
from datacapt.subjects import contacts

SMS_TEXT = _("Your study team has written to you. Read their message here: ${link}")
MAIL_SUBJECT = _("A message from your study team")


def _told_already(dbsession: Session, thread: MessageThread, message: Message) -> bool:
    """An earlier message of the site waits unread: its notice told the subject already."""
    return bool(
        dbsession.scalar(
            select(
                exists().where(
                    Message.thread_id == thread.id,
                    Message.author_subject_id.is_(None),
                    Message.id < message.id,
                    Message.id > (thread.subject_read_id or 0),
                )
            )
        )
    )


def notify_subject(dbsession: Session, registry: Registry, message_id: int) -> bool:
    """Tell the thread's subject that the site wrote, all re-checked at sending: the message
    still unread, no earlier notice unread, the study still letting subjects message, the
    subject still in the study and reachable. Whether a notice went."""
    message = dbsession.get(Message, message_id)
    if message is None or message.author_subject_id is not None:
        return False
    thread = dbsession.get(MessageThread, message.thread_id)
    if thread.subject_id is None or message.id <= (thread.subject_read_id or 0):
        return False
    subject = dbsession.get(Subject, thread.subject_id)
    study = dbsession.get(Study, thread.study_id)
    if not study.subject_messages or subject.status in epro.OPTED_OUT:
        return False
    if _told_already(dbsession, thread, message):
        return False
    row = dbsession.get(SubjectContact, subject.id)
    if row is None:
        return False
    actor = Actor.system("message-notice", tenant_id=subject.tenant_id)
    contact = contacts.open_logged(
        dbsession, registry, row, actor, purpose="contact", fields=("email", "phone")
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
        reason="message notice sent",
    )
    handed = epro.hand_link(dbsession, subject, actor, landing=f"messages/{thread.id}/")
    url = (registry.settings.get("datacapt.public_url") or "").strip().rstrip("/")
    link = f"{url}/p/@@start/{handed.token}"
    locale = contacts.language_of(contact, study.languages, DEFAULT_LANGUAGE)
    if reach.channel == "sms":
        send_sms_in(
            dbsession, to=reach.address, body=translate_in(registry, locale, SMS_TEXT, link=link)
        )
    else:
        send_mail_in(
            dbsession,
            to=reach.address,
            subject=MAIL_SUBJECT,
            template="mail/message_notice.jinja2",
            application_url=url,
            locale=locale,
            link=link,
        )
    return True
