"""Envelope encryption of personal data: a data key per person of the repository and per study
subject (for their contact and bank details), wrapped by the tenant's key-encryption key (KEK),
which a key service holds. Every data key is wrapped and unwrapped here, nowhere else.

* :class:`KeyService` is the KMS interface: it wraps and unwraps a data key under one generation
  of a tenant's KEK. :class:`LocalKeyService` derives each tenant's KEK (HKDF-SHA-256) from a
  master key of ``datacapt.repository_keys`` (``DATACAPT_REPOSITORY_KEYS``; the first one is
  current), the tenant id and the generation: tenants never share a KEK and the KEK never
  touches the database. A cloud KMS would implement the same two methods.
* :func:`rotate` starts a new KEK generation under the current master key and re-wraps every
  data key of the tenant (persons' and subjects') under it (the data itself is not
  re-encrypted); older generations are retired.
* :func:`shred` deletes a person's data key and their linked subjects'; :func:`shred_subject`
  one subject's: what they sealed is unreadable for good.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pyramid.registry import Registry
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datacapt import sealing
from datacapt.config import get_app_settings, parse_encryption_keys
from datacapt.models import (
    Person,
    PersonKey,
    PersonLink,
    RepositoryKek,
    SubjectBankAccount,
    SubjectContact,
    SubjectKey,
)

NONCE_BYTES = 12
DATA_KEY_BYTES = 32
REGISTRY_KEY = "datacapt.repository.key_service"


class Shredded(Exception):
    """The person's data key is gone (crypto-shredded): their personal data cannot be read."""


class KeyUnavailable(Exception):
    """The key service cannot unwrap this data key (unknown master key, or tampered with)."""


class KeyService(Protocol):
    def current_master(self) -> str: ...

    def wrap(
        self, tenant_id: int, generation: int, master_key_id: str, key: bytes, associated: bytes
    ) -> tuple[bytes, bytes]: ...

    def unwrap(
        self,
        tenant_id: int,
        generation: int,
        master_key_id: str,
        nonce: bytes,
        wrapped: bytes,
        associated: bytes,
    ) -> bytes: ...


class LocalKeyService:
    """KEKs derived from master keys held in the settings (the environment in production)."""

    def __init__(self, masters: tuple[tuple[str, bytes], ...]) -> None:
        if not masters:
            raise ValueError("the repository needs at least one master key")
        self._masters = dict(masters)
        self._current = masters[0][0]

    def current_master(self) -> str:
        return self._current

    def _kek(self, tenant_id: int, generation: int, master_key_id: str) -> AESGCM:
        master = self._masters.get(master_key_id)
        if master is None:
            raise KeyUnavailable(f"no repository master key {master_key_id!r} configured")
        info = f"datacapt repository kek:{tenant_id}:{generation}".encode()
        kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)
        return AESGCM(kek)

    def wrap(
        self, tenant_id: int, generation: int, master_key_id: str, key: bytes, associated: bytes
    ) -> tuple[bytes, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        kek = self._kek(tenant_id, generation, master_key_id)
        return nonce, kek.encrypt(nonce, key, associated)

    def unwrap(
        self,
        tenant_id: int,
        generation: int,
        master_key_id: str,
        nonce: bytes,
        wrapped: bytes,
        associated: bytes,
    ) -> bytes:
        try:
            return self._kek(tenant_id, generation, master_key_id).decrypt(
                nonce, wrapped, associated
            )
        except InvalidTag:
            raise KeyUnavailable("the wrapped data key does not open") from None


def local_key_service(registry: Registry) -> LocalKeyService:
    raw = (registry.settings or {}).get("datacapt.repository_keys") or ""
    masters = parse_encryption_keys(raw) if raw.strip() else None
    return LocalKeyService(masters or get_app_settings(registry).encryption_keys)


def key_service(registry: Registry) -> KeyService:
    service = registry.get(REGISTRY_KEY)
    if service is None:
        service = registry[REGISTRY_KEY] = local_key_service(registry)
    return service


def _associated(person_id: int) -> bytes:
    return f"datacapt:person-key:{person_id}".encode()


def _subject_associated(subject_id: int) -> bytes:
    return f"datacapt:subject-key:{subject_id}".encode()


def current_generation(dbsession: Session, registry: Registry, tenant_id: int) -> RepositoryKek:
    """The tenant's KEK generation in use, started (generation 1) on first use."""
    row = dbsession.scalar(
        select(RepositoryKek)
        .where(RepositoryKek.tenant_id == tenant_id, RepositoryKek.retired_at.is_(None))
        .order_by(RepositoryKek.generation.desc())
        .limit(1)
    )
    if row is None:
        last = dbsession.scalar(
            select(func.max(RepositoryKek.generation)).where(RepositoryKek.tenant_id == tenant_id)
        )
        row = RepositoryKek(
            tenant_id=tenant_id,
            generation=(last or 0) + 1,
            master_key_id=key_service(registry).current_master(),
        )
        dbsession.add(row)
        dbsession.flush()
    return row


def new_data_key(dbsession: Session, registry: Registry, person: Person) -> bytes:
    """A fresh data key for ``person`` (flushed), stored wrapped; the plain key is returned."""
    key = AESGCM.generate_key(bit_length=8 * DATA_KEY_BYTES)
    generation, nonce, wrapped = _wrap(
        dbsession, registry, person.tenant_id, key, _associated(person.id)
    )
    dbsession.add(
        PersonKey(
            person_id=person.id,
            tenant_id=person.tenant_id,
            kek_generation=generation,
            nonce=nonce,
            wrapped=wrapped,
        )
    )
    dbsession.flush()
    return key


def _wrap(
    dbsession: Session, registry: Registry, tenant_id: int, key: bytes, associated: bytes
) -> tuple[int, bytes, bytes]:
    """``key`` wrapped under the tenant's current KEK: (generation, nonce, wrapped)."""
    kek = current_generation(dbsession, registry, tenant_id)
    nonce, wrapped = key_service(registry).wrap(
        tenant_id, kek.generation, kek.master_key_id, key, associated
    )
    return kek.generation, nonce, wrapped


def subject_data_key(
    dbsession: Session, registry: Registry, tenant_id: int, subject_id: int, *, create: bool
) -> bytes:
    """The data key of a study subject's contact and bank details, unwrapped: a fresh one
    (flushed) when they have none and ``create``; Shredded when they have none otherwise."""
    found = _subject_key(dbsession, registry, tenant_id, subject_id)
    if found is not None:
        return found
    if not create:
        raise Shredded(f"subject {subject_id} has no data key")
    key = AESGCM.generate_key(bit_length=8 * DATA_KEY_BYTES)
    generation, nonce, wrapped = _wrap(
        dbsession, registry, tenant_id, key, _subject_associated(subject_id)
    )
    row = SubjectKey(
        subject_id=subject_id,
        tenant_id=tenant_id,
        kek_generation=generation,
        nonce=nonce,
        wrapped=wrapped,
    )
    try:
        with dbsession.begin_nested():
            dbsession.add(row)
            dbsession.flush()
    except IntegrityError:  # a concurrent request gave the subject their key a moment ago
        found = _subject_key(dbsession, registry, tenant_id, subject_id)
        if found is None:
            raise
        return found
    return key


def _subject_key(
    dbsession: Session, registry: Registry, tenant_id: int, subject_id: int
) -> bytes | None:
    found = dbsession.execute(
        select(SubjectKey, RepositoryKek.master_key_id)
        .join(
            RepositoryKek,
            (RepositoryKek.tenant_id == SubjectKey.tenant_id)
            & (RepositoryKek.generation == SubjectKey.kek_generation),
        )
        .where(SubjectKey.subject_id == subject_id, SubjectKey.tenant_id == tenant_id)
    ).first()
    if found is None:
        return None
    row, master_key_id = found
    return key_service(registry).unwrap(
        tenant_id,
        row.kek_generation,
        master_key_id,
        row.nonce,
        row.wrapped,
        _subject_associated(subject_id),
    )


def data_keys(
    dbsession: Session, registry: Registry, persons: Sequence[Person]
) -> dict[int, bytes]:
    """The data keys of ``persons``, unwrapped, in one query (a shredded person is missing)."""
    if not persons:
        return {}
    tenant_ids = {person.tenant_id for person in persons}
    rows = dbsession.execute(
        select(PersonKey, RepositoryKek.master_key_id)
        .join(
            RepositoryKek,
            (RepositoryKek.tenant_id == PersonKey.tenant_id)
            & (RepositoryKek.generation == PersonKey.kek_generation),
        )
        .where(
            PersonKey.person_id.in_(sorted(person.id for person in persons)),
            PersonKey.tenant_id.in_(sorted(tenant_ids)),
        )
    ).all()
    service = key_service(registry)
    return {
        row.person_id: service.unwrap(
            row.tenant_id,
            row.kek_generation,
            master_key_id,
            row.nonce,
            row.wrapped,
            _associated(row.person_id),
        )
        for row, master_key_id in rows
    }


def data_key(dbsession: Session, registry: Registry, person: Person) -> bytes:
    """``person``'s data key, unwrapped; Shredded when it is gone."""
    found = data_keys(dbsession, registry, [person]).get(person.id)
    if found is None:
        raise Shredded(f"person {person.id} has no data key")
    return found


def seal(key: bytes, plaintext: bytes, associated: bytes) -> tuple[bytes, bytes]:
    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(key).encrypt(nonce, plaintext, associated)


def unseal(key: bytes, nonce: bytes, ciphertext: bytes, associated: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, associated)
    except InvalidTag:
        raise KeyUnavailable("the sealed value does not match its owner") from None


def seal_for_subject(
    dbsession: Session,
    registry: Registry,
    tenant_id: int,
    subject_id: int,
    plaintext: bytes,
    associated: bytes,
) -> tuple[bytes, bytes]:
    """``plaintext`` sealed under the subject's data key (made on first use): (nonce,
    ciphertext)."""
    key = subject_data_key(dbsession, registry, tenant_id, subject_id, create=True)
    return seal(key, plaintext, associated)


class SealedSubjectRow(Protocol):
    """A row of a subject's sealed details (contacts, bank details)."""

    tenant_id: int
    subject_id: int
    key_id: str | None
    nonce: bytes
    ciphertext: bytes


def open_for_subject(
    dbsession: Session, registry: Registry, row: SealedSubjectRow, associated: bytes
) -> bytes:
    """What ``row`` holds: under the subject's data key when its ``key_id`` is None, else under
    that tenant-wide key (a row sealed before subjects had data keys).
    sealing.Unreadable: shredded, or not theirs."""
    if row.key_id is not None:
        sealed = sealing.Sealed(row.key_id, row.nonce, row.ciphertext)
        return sealing.unseal(registry, sealed, associated)
    try:
        key = subject_data_key(dbsession, registry, row.tenant_id, row.subject_id, create=False)
        return unseal(key, row.nonce, row.ciphertext, associated)
    except (Shredded, KeyUnavailable) as error:
        raise sealing.Unreadable(str(error)) from None


def rotate(dbsession: Session, registry: Registry, tenant_id: int) -> tuple[int, int]:
    """A new KEK generation for the tenant under the current master key; every data key
    (persons' and subjects') re-wrapped under it, older generations retired. (new generation,
    data keys re-wrapped)."""
    service = key_service(registry)
    old = {
        row.generation: row
        for row in dbsession.scalars(
            select(RepositoryKek).where(RepositoryKek.tenant_id == tenant_id)
        )
    }
    new = RepositoryKek(
        tenant_id=tenant_id,
        generation=max(old, default=0) + 1,
        master_key_id=service.current_master(),
    )
    dbsession.add(new)
    dbsession.flush()
    count = 0
    wrapped_keys: list[tuple[PersonKey | SubjectKey, bytes]] = [
        (row, _associated(row.person_id))
        for row in dbsession.scalars(
            select(PersonKey).where(PersonKey.tenant_id == tenant_id).order_by(PersonKey.person_id)
        )
    ]
    wrapped_keys += [
        (row, _subject_associated(row.subject_id))
        for row in dbsession.scalars(
            select(SubjectKey)
            .where(SubjectKey.tenant_id == tenant_id)
            .order_by(SubjectKey.subject_id)
        )
    ]
    for row, associated in wrapped_keys:
        was = old[row.kek_generation]
        key = service.unwrap(
            tenant_id, was.generation, was.master_key_id, row.nonce, row.wrapped, associated
        )
        row.nonce, row.wrapped = service.wrap(
            tenant_id, new.generation, new.master_key_id, key, associated
        )
        row.kek_generation = new.generation
        count += 1
    dbsession.flush()
    now = datetime.now(UTC)
    for row in old.values():
        if row.retired_at is None:
            row.retired_at = now
    dbsession.flush()
    return new.generation, count


def shred(dbsession: Session, person: Person) -> bool:
    """Delete ``person``'s data key and what was sealed or indexed from their identity, and the
    contact details' keys of the study subjects they are linked to (their trial data stays);
    False when their key was gone already."""
    for subject_id in dbsession.scalars(
        select(PersonLink.subject_id).where(
            PersonLink.person_id == person.id, PersonLink.tenant_id == person.tenant_id
        )
    ).all():
        shred_subject(dbsession, person.tenant_id, subject_id)
    row = dbsession.get(PersonKey, person.id)
    if row is not None:
        dbsession.delete(row)
    person.nonce = person.ciphertext = None
    person.name_index = person.last_name_index = person.email_index = None
    person.name_birth_index = None
    if person.shredded_at is None:
        person.shredded_at = datetime.now(UTC)
    dbsession.flush()
    return row is not None


def shred_subject(dbsession: Session, tenant_id: int, subject_id: int) -> bool:
    """Delete a study subject's data key and the contact and bank details sealed under it: they
    are unreadable for good, wherever a copy is (a backup). Their trial data, payment orders,
    ledger and audit trail are under no such key and stay. False when the key was gone
    already."""
    row = dbsession.scalar(
        select(SubjectKey).where(
            SubjectKey.subject_id == subject_id, SubjectKey.tenant_id == tenant_id
        )
    )
    sealed = [
        dbsession.scalar(
            select(model).where(model.subject_id == subject_id, model.tenant_id == tenant_id)
        )
        for model in (SubjectContact, SubjectBankAccount)
    ]
    for found in (row, *sealed):
        if found is not None:
            dbsession.delete(found)
    dbsession.flush()
    return row is not None
