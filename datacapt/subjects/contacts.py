"""Subjects' contact details (GDPR Art. 9 context): sealed with AES-256-GCM under the subject's
own data key, wrapped by the tenant's key-encryption key (:mod:`datacapt.repository.keys`), read
only by roles with VIEW_PII, and every read logged in the personal-data access log (without the
details themselves).

The subject's id is bound to the ciphertext as associated data, so a row copied onto another
subject does not open. Rotating the tenant's KEK re-wraps the data key (``repository
rotate-keys``); shredding the key leaves the details unreadable and the trial data whole. A row
sealed under a tenant-wide key of ``datacapt.encryption_keys`` (before subjects had data keys)
still opens, and :func:`rekey` (run by ``datacapt db upgrade``) moves it under the data key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from pyramid.registry import Registry
from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from datacapt import pii_access, sealing
from datacapt.actor import Actor
from datacapt.i18n import LANGUAGES, _
from datacapt.models import (
    ConsentRecord,
    Subject,
    SubjectContact,
    SubjectMailLink,
    SubjectStatus,
)
from datacapt.repository import keys
from datacapt.validation import EMAIL_PATTERN, ValidationError

#: The contact details do not open: unknown or shredded key, or tampered with.
ContactUnreadable = sealing.Unreadable


#: A subject who left the study (or never entered it) is sent nothing more.
LEFT = (SubjectStatus.WITHDRAWN, SubjectStatus.SCREEN_FAILURE)


def contact_stopped(subject_id: ColumnElement[int] | int) -> ColumnElement[bool]:
    """True when nothing may be sent to the subject any more, by any capability (ePRO links
    and reminders, appointment mails, automations): they left the study, used the opt-out link
    of any mail, or withdrew a consent (whatever its scope: a person who withdrew is not
    contacted by the system; the site still may be). A clause, for queries over many subjects.
    """
    left = exists().where(Subject.id == subject_id, Subject.status.in_(LEFT))
    opted_out = exists().where(
        SubjectMailLink.subject_id == subject_id, SubjectMailLink.opted_out_at.is_not(None)
    )
    withdrew = exists().where(
        ConsentRecord.subject_id == subject_id, ConsentRecord.withdrawn_on.is_not(None)
    )
    return or_(left, opted_out, withdrew)


def is_contact_stopped(dbsession: Session, subject_id: int) -> bool:
    """:func:`contact_stopped` for one subject, re-checked right before a send."""
    return bool(dbsession.scalar(select(contact_stopped(subject_id))))


@dataclass(frozen=True)
class Contact:
    name: str = ""
    email: str = ""
    phone: str = ""
    #: How the subject prefers to be reached: ``email`` or ``sms`` (a phone on file needed).
    channel: str = "email"
    #: The language messages to the subject are written in ("" : the study's first).
    language: str = ""

    @property
    def empty(self) -> bool:
        return not (self.name or self.email or self.phone)


CHANNELS = ("email", "sms")


@dataclass(frozen=True)
class Reach:
    """How a message gets to a subject: ``channel`` (``email`` or ``sms``) and the address or
    number."""

    channel: str
    address: str


def reach(contact: Contact) -> Reach | None:
    """A text message when the subject prefers them and a phone is on file, else e-mail when
    an address is; None: the subject cannot be reached."""
    if contact.channel == "sms" and contact.phone:
        return Reach("sms", contact.phone)
    if contact.email:
        return Reach("email", contact.email)
    return None


def language_of(contact: Contact, study_languages: list[str], default: str) -> str:
    """The language to write to the subject in: theirs if set, else the study's first."""
    if contact.language:
        return contact.language
    return study_languages[0] if study_languages else default


def clean_contact(
    name: str, email: str, phone: str, *, channel: str = "email", language: str = ""
) -> Contact:
    name, email, phone = (" ".join(value.split()) for value in (name, email, phone))
    if len(name) > 200:
        raise ValidationError(
            "contact-name", _("At most ${count} characters.", mapping={"count": 200})
        )
    if email and (len(email) > 254 or not EMAIL_PATTERN.match(email)):
        raise ValidationError("contact-email", _("Enter a valid e-mail address."))
    if phone and not (6 <= len(phone) <= 25 and all(c in "+0123456789 ().-/" for c in phone)):
        raise ValidationError("contact-phone", _("Enter a phone number."))
    if channel not in CHANNELS:
        raise ValidationError("contact-channel", _("Choose one of the offered channels."))
    if channel == "sms" and not phone:
        raise ValidationError(
            "contact-phone", _("Enter a phone number to reach the subject by text message.")
        )
    if language and language not in LANGUAGES:
        raise ValidationError("contact-language", _("Choose one of the offered languages."))
    return Contact(name=name, email=email.lower(), phone=phone, channel=channel, language=language)


def _associated(subject_id: int) -> bytes:
    return f"datacapt:subject:{subject_id}".encode()


def seal(registry: Registry, subject: Subject, contact: Contact, dbsession: Session) -> None:
    """Store ``contact`` for ``subject`` under their data key (or remove it when empty)."""
    existing = dbsession.get(SubjectContact, subject.id)
    if contact.empty:
        if existing is not None:
            dbsession.delete(existing)
        return
    plaintext = json.dumps(asdict(contact), ensure_ascii=False).encode()
    nonce, ciphertext = keys.seal_for_subject(
        dbsession, registry, subject.tenant_id, subject.id, plaintext, _associated(subject.id)
    )
    row = existing or SubjectContact(subject_id=subject.id, tenant_id=subject.tenant_id)
    row.key_id, row.nonce, row.ciphertext = None, nonce, ciphertext
    row.updated_at = datetime.now(UTC)
    dbsession.add(row)


def open_row(dbsession: Session, registry: Registry, row: SubjectContact) -> Contact:
    """The contact details of ``row`` (ContactUnreadable: shredded, or not theirs)."""
    plaintext = keys.open_for_subject(dbsession, registry, row, _associated(row.subject_id))
    return Contact(**json.loads(plaintext))


def open_logged(
    dbsession: Session,
    registry: Registry,
    row: SubjectContact,
    actor: Actor,
    *,
    purpose: str,
    action: str = "decrypt",
    fields: tuple[str, ...] = ("name", "email", "phone"),
) -> Contact:
    """The contact details of ``row``, their reading logged in the personal-data access log
    (who, which subject, which fields, why) before they are opened."""
    pii_access.log_reads(
        dbsession,
        actor,
        row.tenant_id,
        subject_id=row.subject_id,
        action=action,
        fields=fields,
        purpose=purpose,
    )
    return open_row(dbsession, registry, row)


def rekey(registry: Registry, dbsession: Session) -> int:
    """Re-seal every row still under a tenant-wide key under its subject's data key; the number
    of rows re-sealed."""
    count = 0
    for row in dbsession.scalars(
        select(SubjectContact)
        .where(SubjectContact.key_id.is_not(None))
        .order_by(SubjectContact.subject_id)
    ).all():
        subject = dbsession.get(Subject, row.subject_id)
        seal(registry, subject, open_row(dbsession, registry, row), dbsession)
        count += 1
    dbsession.flush()
    return count


def count_tenant_sealed(dbsession: Session) -> int:
    """Rows still under a tenant-wide key (``datacapt check`` asks for ``keys rekey``)."""
    return (
        dbsession.scalar(
            select(func.count())
            .select_from(SubjectContact)
            .where(SubjectContact.key_id.is_not(None))
        )
        or 0
    )
