"""JSON written by orjson, where the standard library's encoder costs a save most: the batch of
rows sent to PostgreSQL as one parameter (an audited save's 50 events, its 50 changed values:
~15 µs for fifty rows where the standard library takes ~200 µs), and the canonical text each
audit event is hashed over (50 a save, millions a verification).

The canonical text is evidence: it must stay byte for byte what the standard library wrote when
the events were hashed. For what an event's hashed fields hold (text, integers, null) orjson
writes exactly that (``tests/unit/test_audit_hash.py`` checks every code point and arbitrary
events against the standard library, and pinned hashes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson


def json_text(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """``value`` as JSON text; ``default`` turns what orjson cannot write (a ``Decimal``) into
    what it can, as :func:`json.dumps`'s ``default`` does."""
    return orjson.dumps(value, default=default).decode()


def canonical_json(value: Any) -> bytes:
    """``value`` as ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` writes it,
    UTF-8 encoded, for text (no lone surrogate), integers within 64 bits and null: what the
    audit chain hashes. Anything else it cannot write raises :class:`TypeError`."""
    return orjson.dumps(value)
