"""Subjects' bank details (IBAN and account holder): checked, sealed with AES-256-GCM under the
subject's own data key (as contact details are, :mod:`datacapt.subjects.contacts`), wrapped by
the tenant's key-encryption key (:mod:`datacapt.repository.keys`), and shown masked.

The IBAN is checked with schwifty: the ISO 13616 mod-97 check digits, the length and structure
of its country's BBAN. Only the masked hint (``FR76 •••• •••• 1234``) is kept in the clear, so
lists and orders never open the details; opening them is for the holders of ``VIEW_PII`` and for
the bank file of an order, each time logged in the personal-data access log (without the
details).

The associated data names the subject and the purpose, so a row opens only for that subject's
bank details. Rotating the tenant's KEK re-wraps the data key; shredding the subject deletes it
and the row: the details are unreadable for good, the orders and the ledger stay. A row sealed
under a tenant-wide key (before subjects had data keys) still opens, and :func:`rekey` (run by
``datacapt db upgrade``) moves it under the data key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from pyramid.registry import Registry
from schwifty import BIC, IBAN
from schwifty.exceptions import InvalidLength, SchwiftyException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacapt import pii_access, sealing
from datacapt.actor import Actor
from datacapt.i18n import _
from datacapt.models import Subject, SubjectBankAccount
from datacapt.repository import keys
from datacapt.validation import ValidationError

#: The bank details do not open: unknown or shredded key, or tampered with.
BankUnreadable = sealing.Unreadable
#: Why bank details are read, in the personal-data access log.
PURPOSE = "payment"
FIELDS = ("iban", "holder")

MASK = "••••"
MAX_HOLDER = 70  # SEPA's Nm


@dataclass(frozen=True)
class BankDetails:
    iban: str  # compact, upper case: FR7630006000011234567890189
    holder: str

    @property
    def formatted(self) -> str:
        return " ".join(self.iban[i : i + 4] for i in range(0, len(self.iban), 4))


def clean_iban(text: str, field: str = "iban") -> str:
    """The IBAN in compact form, or a :class:`ValidationError` saying what is wrong."""
    raw = "".join(text.split()).upper()
    if not raw:
        raise ValidationError(field, _("Enter the IBAN."))
    if len(raw) > 34 or not raw.isascii() or not raw.isalnum():
        raise ValidationError(field, _("An IBAN has letters and digits only, 34 at most."))
    try:
        return IBAN(raw).compact
    except InvalidLength:
        raise ValidationError(
            field, _("The IBAN does not have the length of its country's IBANs.")
        ) from None
    except SchwiftyException:
        raise ValidationError(
            field, _("This IBAN is not valid: check the country code and the digits.")
        ) from None


def clean_bic(text: str, field: str = "bic") -> str:
    raw = "".join(text.split()).upper()
    if not raw:
        return ""
    try:
        return BIC(raw).compact
    except SchwiftyException:
        raise ValidationError(field, _("Enter a BIC of 8 or 11 characters.")) from None


def in_sepa_zone(iban: str) -> bool:
    return IBAN(iban).in_sepa_zone


def clean_holder(text: str, field: str = "holder") -> str:
    holder = " ".join(text.split())
    if not holder:
        raise ValidationError(field, _("Enter the account holder's name."))
    if len(holder) > MAX_HOLDER:
        raise ValidationError(
            field, _("At most ${count} characters.", mapping={"count": MAX_HOLDER})
        )
    return holder


def clean(iban: str, holder: str) -> BankDetails:
    return BankDetails(clean_iban(iban), clean_holder(holder))


def mask(iban: str) -> str:
    """``FR76 •••• •••• 1234``: country and check digits, the last four characters."""
    return f"{iban[:4]} {MASK} {MASK} {iban[-4:]}"


def _associated(subject_id: int) -> bytes:
    return f"datacapt:subject:{subject_id}:bank-account".encode()


def seal(registry: Registry, subject: Subject, details: BankDetails, dbsession: Session) -> None:
    """Store ``details`` for ``subject`` under their data key."""
    plaintext = json.dumps(asdict(details), ensure_ascii=False).encode()
    nonce, ciphertext = keys.seal_for_subject(
        dbsession, registry, subject.tenant_id, subject.id, plaintext, _associated(subject.id)
    )
    row = dbsession.get(SubjectBankAccount, subject.id) or SubjectBankAccount(
        subject_id=subject.id, tenant_id=subject.tenant_id
    )
    row.key_id, row.nonce, row.ciphertext = None, nonce, ciphertext
    row.masked = mask(details.iban)
    row.updated_at = datetime.now(UTC)
    dbsession.add(row)


def open_row(dbsession: Session, registry: Registry, row: SubjectBankAccount) -> BankDetails:
    """The bank details of ``row`` (BankUnreadable: shredded, or not theirs)."""
    plaintext = keys.open_for_subject(dbsession, registry, row, _associated(row.subject_id))
    return BankDetails(**json.loads(plaintext))


def open_logged(
    dbsession: Session,
    registry: Registry,
    row: SubjectBankAccount,
    actor: Actor,
    *,
    action: str,
) -> BankDetails:
    """The bank details of ``row``, their reading logged in the personal-data access log (who,
    which subject, why) before they are opened."""
    pii_access.log_reads(
        dbsession,
        actor,
        row.tenant_id,
        subject_id=row.subject_id,
        action=action,
        fields=FIELDS,
        purpose=PURPOSE,
    )
    return open_row(dbsession, registry, row)


def rekey(registry: Registry, dbsession: Session) -> int:
    """Re-seal every row still under a tenant-wide key under its subject's data key; the number
    of rows re-sealed."""
    count = 0
    for row in dbsession.scalars(
        select(SubjectBankAccount)
        .where(SubjectBankAccount.key_id.is_not(None))
        .order_by(SubjectBankAccount.subject_id)
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
            .select_from(SubjectBankAccount)
            .where(SubjectBankAccount.key_id.is_not(None))
        )
        or 0
    )
