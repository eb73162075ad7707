"""Sealing secrets at rest with AES-256-GCM under the configured keys.

The first key of ``datacapt.encryption_keys`` seals; every configured key opens, so keys can be
rotated by putting a new one first and re-sealing. The caller binds each ciphertext to its owner
with associated data, so a sealed value copied onto another row does not open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pyramid.registry import Registry

from datacapt.config import get_app_settings

NONCE_BYTES = 12


class Unreadable(Exception):
    """The ciphertext does not open: unknown key, wrong owner, or tampered with."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes


def seal(registry: Registry, plaintext: bytes, associated: bytes) -> Sealed:
    key_id, key = get_app_settings(registry).encryption_keys[0]
    nonce = os.urandom(NONCE_BYTES)
    return Sealed(key_id, nonce, AESGCM(key).encrypt(nonce, plaintext, associated))


def unseal(registry: Registry, sealed: Sealed, associated: bytes) -> bytes:
    key = dict(get_app_settings(registry).encryption_keys).get(sealed.key_id)
    if key is None:
        raise Unreadable(f"no key {sealed.key_id!r} configured")
    try:
        return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, associated)
    except InvalidTag:
        raise Unreadable("the sealed value does not match its owner") from None


def current_key_id(registry: Registry) -> str:
    return get_app_settings(registry).encryption_keys[0][0]
