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


def test_blind_index_normalisation_ignores_case_accents_and_spacing():
    from datacapt.repository.services import normalise

    assert normalise("  Éloïse   DUPONT-Mérieux ") == "eloise dupont-merieux"
    assert normalise("Łukasz") != normalise("Lukasz")  # Ł is a letter of its own, not L + mark
    assert normalise("Straße") == "strasse"
    assert normalise("") == ""


def test_person_details_are_checked_field_by_field():
    from datetime import date

    from datacapt.repository.services import clean
    from datacapt.validation import ValidationError

    today = date(2026, 12, 4)
    good = clean(
        {"first_name": " Ada ", "last_name": "Lovelace", "email": "ADA@Example.org"}, today
    )
    assert (good.first_name, good.email) == ("Ada", "ada@example.org")
    for values, field in [
        ({"last_name": "L"}, "first_name"),
        ({"first_name": "A", "last_name": "L", "birth_date": "2026-12-05"}, "birth_date"),
        ({"first_name": "A", "last_name": "L", "birth_date": "04/12/1950"}, "birth_date"),
        ({"first_name": "A", "last_name": "L", "phone": "call me"}, "phone"),
    ]:
        with pytest.raises(ValidationError) as refused:
            clean(values, today)
        assert refused.value.field == field
