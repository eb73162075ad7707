"""Subjects' bank details (IBAN and account holder): checked, sealed with AES-256-GCM bound to
the subject's row (as contact details are, :mod:`datacapt.subjects.contacts`), and shown masked.

The IBAN is checked with schwifty: the ISO 13616 mod-97 check digits, the length and structure
of its country's BBAN. Only the masked hint (``FR76 •••• •••• 1234``) is kept in the clear, so
lists and orders never open the details; opening them is for the holders of ``VIEW_PII`` (each
time recorded in the audit trail, without the details) and for the bank file of an order.

The sealed row moves as it is into the PII repository when that exists: the associated data
names the subject and the purpose, so it opens only for that subject's bank details.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from pyramid.registry import Registry
from schwifty import BIC, IBAN
from schwifty.exceptions import InvalidLength, SchwiftyException
from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt import sealing
from datacapt.i18n import _
from datacapt.models import Subject, SubjectBankAccount
from datacapt.validation import ValidationError

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
    plaintext = json.dumps(asdict(details), ensure_ascii=False).encode()
    sealed = sealing.seal(registry, plaintext, _associated(subject.id))
    row = dbsession.get(SubjectBankAccount, subject.id) or SubjectBankAccount(
        subject_id=subject.id, tenant_id=subject.tenant_id
    )
    row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
    row.masked = mask(details.iban)
    row.updated_at = datetime.now(UTC)
    dbsession.add(row)


def open_row(registry: Registry, row: SubjectBankAccount) -> BankDetails:
    sealed = sealing.Sealed(row.key_id, row.nonce, row.ciphertext)
    return BankDetails(**json.loads(sealing.unseal(registry, sealed, _associated(row.subject_id))))


def rekey(registry: Registry, dbsession: Session) -> int:
    """Re-seal every subject's bank details not under the current key; how many were."""
    current = sealing.current_key_id(registry)
    count = 0
    for row in dbsession.scalars(
        select(SubjectBankAccount).where(SubjectBankAccount.key_id != current)
    ):
        subject = dbsession.get(Subject, row.subject_id)
        seal(registry, subject, open_row(registry, row), dbsession)
        count += 1
    return count
