"""The repository's key service: each tenant and generation has its own KEK, a wrapped data
key opens only under the KEK and owner that wrapped it, and a retired master still opens."""

from __future__ import annotations

import os

import pytest

from datacapt.repository.keys import KeyUnavailable, LocalKeyService, seal, unseal

A, B = os.urandom(32), os.urandom(32)


def test_wrap_unwrap_round_trip():
    service = LocalKeyService((("m1", A),))
    key = os.urandom(32)
    nonce, wrapped = service.wrap(1, 1, "m1", key, b"person:7")
    assert wrapped != key and key not in wrapped
    assert service.unwrap(1, 1, "m1", nonce, wrapped, b"person:7") == key


@pytest.mark.parametrize(
    ("tenant", "generation", "owner"),
    [(2, 1, b"person:7"), (1, 2, b"person:7"), (1, 1, b"person:8")],
)
def test_a_wrapped_key_opens_only_for_its_tenant_generation_and_owner(tenant, generation, owner):
    service = LocalKeyService((("m1", A),))
    nonce, wrapped = service.wrap(1, 1, "m1", os.urandom(32), b"person:7")
    with pytest.raises(KeyUnavailable):
        service.unwrap(tenant, generation, "m1", nonce, wrapped, owner)


def test_rotation_of_the_master_keeps_older_wrapped_keys_readable():
    old = LocalKeyService((("m1", A),))
    key = os.urandom(32)
    nonce, wrapped = old.wrap(1, 1, "m1", key, b"p")
    rotated = LocalKeyService((("m2", B), ("m1", A)))
    assert rotated.current_master() == "m2"
    assert rotated.unwrap(1, 1, "m1", nonce, wrapped, b"p") == key
    with pytest.raises(KeyUnavailable):
        LocalKeyService((("m2", B),)).unwrap(1, 1, "m1", nonce, wrapped, b"p")


def test_sealed_data_opens_only_with_its_key_and_owner():
    key = os.urandom(32)
    nonce, sealed = seal(key, b"Jane Doe", b"person:1")
    assert b"Jane" not in sealed
    assert unseal(key, nonce, sealed, b"person:1") == b"Jane Doe"
    with pytest.raises(KeyUnavailable):
        unseal(os.urandom(32), nonce, sealed, b"person:1")
    with pytest.raises(KeyUnavailable):
        unseal(key, nonce, sealed, b"person:2")


def test_no_master_key_no_service():
    with pytest.raises(ValueError, match="master key"):
        LocalKeyService(())
