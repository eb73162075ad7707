"""Possible duplicates: an application whose applicant the repository may hold already (found
at submission by e-mail address or by names and birth date). Nothing is merged automatically,
since anyone can type someone's address: staff who see both persons link the application to the
one known, with a reason, and the copy registered from the application is crypto-shredded."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.i18n import _
from datacapt.models import Application, Person
from datacapt.repository import services as repository
from datacapt.validation import ValidationError


def sees(pii_sites: frozenset[int] | None, person: Person) -> bool:
    """Whether the user seeing personal data at ``pii_sites`` (None: all) sees ``person``'s."""
    return pii_sites is None or person.site_id in pii_sites


def link_duplicate(
    dbsession: Session,
    application: Application,
    reason: str,
    actor: Actor,
    *,
    pii_sites: frozenset[int] | None,
) -> Person:
    """The applicant is the possible duplicate, as staff checked: the application is theirs
    now, and the person registered from it, if nothing else holds them, is crypto-shredded.
    Audited with the reason; the person kept."""
    reason = reason.strip()
    kept = (
        dbsession.get(Person, application.duplicate_of_id)
        if application.duplicate_of_id is not None
        else None
    )
    if kept is None or kept.shredded_at is not None or not sees(pii_sites, kept):
        raise ValidationError("duplicate", _("This application has no possible duplicate."))
    if application.subject_id is not None:
        raise ValidationError("duplicate", _("An enrolled application keeps its person."))
    if not reason:
        raise ValidationError("duplicate_reason", _("Say why."))
    registered = dbsession.get(Person, application.person_id)
    assert registered is not None
    application.person_id = kept.id
    application.duplicate_of_id = None
    application.updated_at = datetime.now(UTC)
    dbsession.flush()
    held = dbsession.scalar(
        select(func.count(Application.id)).where(
            (Application.person_id == registered.id)
            | (Application.duplicate_of_id == registered.id)
        )
    )
    if not held and not repository.is_enrolled(dbsession, registered):
        repository.drop_duplicate(dbsession, actor, registered, kept, reason)
    audit.record(
        dbsession,
        actor,
        tenant_id=application.tenant_id,
        action="application.person_linked",
        entity_type="application",
        entity_id=application.id,
        study_id=application.study_id,
        site_id=application.site_id,
        field="person",
        old=registered.reference,
        new=kept.reference,
        reason=reason[:500],
    )
    return kept
