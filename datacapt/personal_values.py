"""Values of items flagged as personal data: sealed at rest, fingerprinted, opened on reading.

A personal-data item's value is never stored in plain text: ``item_value.value`` and its typed
copies stay NULL and the value is sealed with AES-256-GCM (:mod:`datacapt.sealing`), bound to
the subject, the form instance and the item, so a ciphertext copied onto another row does not
open. Beside it a keyed fingerprint (HMAC-SHA-256 under a key derived from ``datacapt.secret``,
bound to the tenant and the item) answers equality (the same value elsewhere, duplicates)
without opening anything.

The audit trail gets a token instead of the value: ``pii:<fingerprint>:<key id>:<sealed>``.
Its fingerprint shows whether the value changed; its sealed part opens only for viewers holding
``VIEW_PII``. Audit events are immutable, so their tokens stay under the key that sealed them:
keep every key ever used (the README says so for every sealed secret).

Values are sealed at the one place they are written (:func:`stored_columns`) and opened at the
places rows are loaded (:func:`open_rows`, :func:`open_value`): everything after works on the
plain value in memory only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pyramid.registry import Registry
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from datacapt import sealing
from datacapt.config import get_app_settings
from datacapt.models import FormInstance, ItemValue

#: What an audit value of a personal-data item starts with (older events hold only the
#: fingerprint: ``pii:<16 hex>``).
AUDIT_PREFIX = "pii:"
SEALED_COLUMNS = ("sealed_key_id", "sealed_nonce", "sealed_value", "value_fingerprint")
REKEY_BATCH = 500


@dataclass(frozen=True)
class Owner:
    """Where a value belongs: what its ciphertext and fingerprint are bound to."""

    tenant_id: int
    subject_id: int
    form_instance_id: int
    item_oid: str

    @property
    def associated(self) -> bytes:
        return _associated(self.subject_id, self.form_instance_id, self.item_oid)


def _associated(subject_id: int, form_instance_id: int, item_oid: str) -> bytes:
    return f"datacapt:item-value:{subject_id}:{form_instance_id}:{item_oid}".encode()


def keys(registry: Registry | None) -> Registry:
    """The registry holding the keys; personal data cannot be handled without it."""
    if registry is None:
        raise RuntimeError("personal data needs the app's registry (its encryption keys)")
    return registry


def registry_of(dbsession: Session) -> Registry:
    """The registry of a session made by :func:`datacapt.db.get_tm_session`."""
    return keys(dbsession.info.get("registry"))


@lru_cache(maxsize=8)
def _fingerprint_key(secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"datacapt item fingerprint"
    ).derive(secret.encode())


def fingerprint(registry: Registry, tenant_id: int, item_oid: str, value: str) -> str:
    """The keyed fingerprint of ``value`` of item ``item_oid`` in tenant ``tenant_id``."""
    key = _fingerprint_key(get_app_settings(registry).secret)
    message = f"{tenant_id}\x1f{item_oid}\x1f{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def stored_columns(registry: Registry, owner: Owner, value: str | None) -> dict[str, Any]:
    """The ``item_value`` columns holding ``value`` of a personal-data item: sealed, never
    plain (``value`` NULL)."""
    if value is None:
        return {"value": None, **dict.fromkeys(SEALED_COLUMNS)}
    sealed = sealing.seal(registry, value.encode(), owner.associated)
    return {
        "value": None,
        "sealed_key_id": sealed.key_id,
        "sealed_nonce": sealed.nonce,
        "sealed_value": sealed.ciphertext,
        "value_fingerprint": fingerprint(registry, owner.tenant_id, owner.item_oid, value),
    }


def open_value(registry: Registry, subject_id: int, row: Any) -> str | None:
    """The plain value of a row (an ItemValue or a row with the same columns)."""
    if row.sealed_value is None:
        return row.value
    sealed = sealing.Sealed(row.sealed_key_id, row.sealed_nonce, row.sealed_value)
    associated = _associated(subject_id, row.form_instance_id, row.item_oid)
    return sealing.unseal(registry, sealed, associated).decode()


def open_rows(dbsession: Session, subject_ids: dict[int, int], rows: Iterable[ItemValue]) -> None:
    """Put the plain value of every sealed row in ``row.value``, in memory only (the row is not
    marked changed, so nothing plain is ever flushed); ``subject_ids``: form instance id →
    subject id."""
    registry = None
    for row in rows:
        if row.sealed_value is not None and row.value is None:
            if registry is None:
                registry = registry_of(dbsession)
            plain = open_value(registry, subject_ids[row.form_instance_id], row)
            set_committed_value(row, "value", plain)


def audited(registry: Registry, owner: Owner, value: str | None) -> str | None:
    """What the audit trail records for a personal-data value: fingerprint and sealed value."""
    if value is None:
        return None
    associated = b"datacapt:audit:" + owner.associated
    sealed = sealing.seal(registry, value.encode(), associated)
    packed = base64.urlsafe_b64encode(sealed.nonce + sealed.ciphertext).decode()
    short = fingerprint(registry, owner.tenant_id, owner.item_oid, value)[:16]
    return f"{AUDIT_PREFIX}{short}:{sealed.key_id}:{packed}"


def is_audited(text: str | None) -> bool:
    return text is not None and text.startswith(AUDIT_PREFIX)


def open_audited(
    registry: Registry, text: str, subject_id: int, form_instance_id: int, item_oid: str
) -> str | None:
    """The plain value behind an audit token; None when the event kept only a fingerprint
    (events written before values were sealed) or the token does not open."""
    parts = text[len(AUDIT_PREFIX) :].split(":", 2)
    if len(parts) != 3:
        return None
    _short, key_id, packed = parts
    try:
        raw = base64.urlsafe_b64decode(packed)
    except (ValueError, binascii.Error):
        return None
    nonce, ciphertext = raw[: sealing.NONCE_BYTES], raw[sealing.NONCE_BYTES :]
    associated = b"datacapt:audit:" + _associated(subject_id, form_instance_id, item_oid)
    try:
        plain = sealing.unseal(registry, sealing.Sealed(key_id, nonce, ciphertext), associated)
    except sealing.Unreadable:
        return None
    return plain.decode()


def same_value(
    dbsession: Session, study_id: int, tenant_id: int, item_oid: str, value: str
) -> list[int]:
    """The form instances of the study holding ``value`` for the personal-data item
    ``item_oid``, found by fingerprint (nothing is opened): duplicate detection."""
    registry = registry_of(dbsession)
    return list(
        dbsession.scalars(
            select(ItemValue.form_instance_id)
            .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
            .where(
                FormInstance.study_id == study_id,
                ItemValue.item_oid == item_oid,
                ItemValue.value_fingerprint == fingerprint(registry, tenant_id, item_oid, value),
            )
            .order_by(ItemValue.form_instance_id)
        )
    )


def reseal(
    dbsession: Session, registry: Registry, rows: list[tuple[ItemValue, int]], plain: list[str]
) -> None:
    """Write ``plain`` values sealed under the current key onto ``rows`` (row, subject id)."""
    updates = []
    for (row, subject_id), value in zip(rows, plain, strict=True):
        owner = Owner(row.tenant_id, subject_id, row.form_instance_id, row.item_oid)
        updates.append(
            {
                "id": row.id,
                **stored_columns(registry, owner, value),
                "value_number": None,
                "value_date": None,
            }
        )
    if updates:
        dbsession.execute(update(ItemValue), updates)


def rekey(registry: Registry, dbsession: Session) -> int:
    """Re-seal every value still under an older key; the number re-sealed."""
    current = sealing.current_key_id(registry)
    count = 0
    while True:
        found = dbsession.execute(
            select(ItemValue, FormInstance.subject_id)
            .join(FormInstance, FormInstance.id == ItemValue.form_instance_id)
            .where(ItemValue.sealed_value.is_not(None), ItemValue.sealed_key_id != current)
            .order_by(ItemValue.id)
            .limit(REKEY_BATCH)
        ).all()
        if not found:
            return count
        rows = [(row, subject_id) for row, subject_id in found]
        plain = [open_value(registry, subject_id, row) or "" for row, subject_id in rows]
        reseal(dbsession, registry, rows, plain)
        dbsession.expire_all()
        count += len(rows)
