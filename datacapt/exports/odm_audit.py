"""What an ODM export reads beside the values, for a batch of forms at a time: the signature
that covers each form now, and (for a Transactional file) each value change the audit trail
recorded on it. A batch is a few hundred forms, so memory stays bounded by the batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.models import AuditEvent, Signature, SignedForm, Site, User

#: The audit trail's action for a value saved, changed or cleared (see ``entry.services``).
VALUE_CHANGED = "entry.value_changed"
#: How the trail writes a missing-data code in place of a value.
MISSING_PREFIX = "missing:"


@dataclass(frozen=True)
class Signed:
    """The signature that covers a form: the latest one not broken since."""

    meaning: str
    signed_at: datetime
    signer: str  # e-mail
    site: str  # code


@dataclass(frozen=True)
class Change:
    """One value change: old and new as the trail holds them (text, ``missing:CODE`` or
    None for blank)."""

    event_id: int
    item_oid: str
    old: str | None
    new: str | None
    reason: str | None
    occurred_at: datetime
    actor: str | None  # e-mail; None for the system
    site: str | None  # code


def missing_code(audited: str | None) -> str | None:
    """The missing-data code of an audited value, if it is one."""
    if audited is not None and audited.startswith(MISSING_PREFIX):
        return audited.removeprefix(MISSING_PREFIX)
    return None


def signatures(dbsession: Session, instance_ids: Collection[int]) -> dict[int, Signed]:
    """Each form's covering signature, by form instance id; unsigned forms are absent."""
    rows = dbsession.execute(
        select(
            SignedForm.form_instance_id,
            Signature.meaning,
            Signature.signed_at,
            User.email,
            Site.code,
        )
        .join(Signature, Signature.id == SignedForm.signature_id)
        .join(User, User.id == Signature.signer_id)
        .join(Site, Site.id == Signature.site_id)
        .where(SignedForm.form_instance_id.in_(instance_ids), Signature.broken_at.is_(None))
        .order_by(Signature.signed_at, Signature.id)
    )
    return {row[0]: Signed(*row[1:]) for row in rows}


def value_changes(dbsession: Session, instance_ids: Collection[int]) -> dict[int, list[Change]]:
    """Each form's value changes in the order they happened, by form instance id."""
    rows = dbsession.execute(
        select(
            AuditEvent.entity_id,
            AuditEvent.id,
            AuditEvent.field,
            AuditEvent.old_value,
            AuditEvent.new_value,
            AuditEvent.reason,
            AuditEvent.occurred_at,
            User.email,
            Site.code,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(Site, Site.id == AuditEvent.site_id)
        .where(
            AuditEvent.entity_type == "form_instance",
            AuditEvent.entity_id.in_([audit.entity_key(i) for i in instance_ids]),
            AuditEvent.action == VALUE_CHANGED,
        )
        .order_by(AuditEvent.id)
    )
    found: dict[int, list[Change]] = defaultdict(list)
    for row in rows:
        found[int(row[0])].append(Change(*row[1:]))
    return found
