"""Subjects' one-click opt-out of appointment mail: each mail to a subject carries its own
secret address (only the token's hash is stored); using any of them stops every later
mail to that subject, appointments' and every other
(:func:`datacapt.subjects.contacts.contact_stopped`)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.models import Subject, SubjectMailLink


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(dbsession: Session, subject: Subject) -> str:
    token = secrets.token_urlsafe(32)
    dbsession.add(
        SubjectMailLink(
            tenant_id=subject.tenant_id, subject_id=subject.id, token_hash=_hashed(token)
        )
    )
    return token


def link_of(dbsession: Session, token: str) -> SubjectMailLink | None:
    return dbsession.scalar(
        select(SubjectMailLink).where(SubjectMailLink.token_hash == _hashed(token[:100]))
    )


def opt_out(dbsession: Session, link: SubjectMailLink, now: datetime, actor: Actor) -> None:
    """Record the opt-out (once; a second click changes nothing); audited as the subject's."""
    if link.opted_out_at is not None:
        return
    link.opted_out_at = now
    subject = dbsession.get_one(Subject, link.subject_id)
    audit.record_subject(
        dbsession,
        actor,
        subject,
        action="subject.appointment_mail_opted_out",
        entity_type="subject_mail_link",
        entity_id=link.id,
        field="appointment_mail",
        old=True,
        new=False,
    )
