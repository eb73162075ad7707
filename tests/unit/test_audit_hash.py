"""An audit event's canonical text and hash are evidence: they must never change for the same
event, however they are computed (pinned values computed before the batch path was optimised)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datacapt import audit
from datacapt.json_text import canonical_json

AT = datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)
#: The standard library's encoder, which wrote the canonical text of the events hashed before.
STANDARD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _event(**extra):
    fields = {
        "tenant_id": 3,
        "actor_id": 11,
        "study_id": 5,
        "site_id": 8,
        "subject_id": 42,
        "action": "entry.value_changed",
        "entity_type": "form_instance",
        "entity_id": 77,
        "field": "IT.WEIGHT",
        "old": "72.5",
        "new": "Zoë \x00 «73»",
        "reason": "typo",
        "request_id": "r" * 32,
        "ip": "192.0.2.1",
    }
    return audit.chained_row("subject:42", 9, "a" * 64, AT, **(fields | extra))


def test_the_hash_of_a_value_change_is_pinned():
    row = _event()
    assert row["new_value"] == "Zoë \\u0000 «73»"
    assert row["entity_id"] == "77"
    assert audit.canonical(audit.AuditEvent(**row)) == (
        '{"chain":"subject:42","seq":9,"occurred_at":"2026-03-01T12:30:45.123456Z",'
        '"tenant_id":3,"actor_id":11,"study_id":5,"site_id":8,"subject_id":42,'
        '"action":"entry.value_changed","entity_type":"form_instance","entity_id":"77",'
        '"field":"IT.WEIGHT","old_value":"72.5","new_value":"Zoë \\\\u0000 «73»",'
        '"reason":"typo","request_id":"' + "r" * 32 + '","ip":"192.0.2.1"}'
    )
    assert row["hash"] == PINNED["value"]


def test_the_hash_of_other_shapes_is_pinned():
    """Values that are not text (JSON, sorted), blanks, the fields hashed only when set, a
    stamp given by the caller, a legacy chain hashed as a number."""
    structured = _event(old=None, new={"b": [1, 2], "a": "é"}, reason=None, on_behalf_of_id=4)
    assert structured["new_value"] == '{"a": "é", "b": [1, 2]}'
    assert structured["hash"] == PINNED["structured"]
    stamped = _event(by_subject_id=42, stamp="2026-03-01T12:30:45.123456Z")
    assert stamped["hash"] == PINNED["stamped"]
    legacy = audit.chained_row(
        "7", 1, audit.GENESIS, AT, tenant_id=7, action="a", entity_type="thing", entity_id="v2"
    )
    assert legacy["hash"] == PINNED["legacy"]


PINNED = {
    "value": "546b90fae9387609c1eeee97e1ad7197b844eeadfb34c11a380238d62ffab2c2",
    "structured": "a08c8845899a5f490749bafde74d7fcfa73aad1c5d21f5d3865a19e06816fd84",
    "stamped": "dbd1f365fda06ff42bb02392dd795a495ce98706b43bec1897ccf53ad903fdc2",
    "legacy": "149c9cd21f9dc96e6d0c88a42605dd0231bb4073e2fe425b2a077eef75fe938d",
}


def test_the_canonical_text_is_what_json_writes_for_every_character():
    """The chain's text is written by orjson and was by the standard library: every code point
    (surrogates, which neither writes to UTF-8, aside) written the same, escapes included."""
    for start in range(0, 0x110000, 0x1000):
        text = "".join(
            chr(code) for code in range(start, start + 0x1000) if not 0xD800 <= code <= 0xDFFF
        )
        value = {"new_value": text, "seq": 1}
        assert canonical_json(value) == STANDARD(value).encode()


_SCALARS = (
    st.none()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text(max_size=12), _SCALARS | st.lists(_SCALARS, max_size=4), max_size=22)
)
def test_an_event_s_canonical_text_is_what_json_writes(value):
    """An event's fields, and a checkpoint's (its heads: lists of a chain, a number, a hash)."""
    assert canonical_json(value) == STANDARD(value).encode()


def test_a_value_the_chain_never_holds_is_refused():
    with pytest.raises(TypeError):
        canonical_json({"seq": 2**64})
