"""Date shifting for de-identified sets: every date of a subject moved by the same whole number
of days, so intervals within a subject hold and the real dates do not show.

A subject's offset is a keyed hash (HMAC-SHA-256 under a key derived from ``datacapt.secret``)
of the study and the subject: the same in every export of the study, different between studies,
and not to be guessed or recomputed without the secret. Offsets are never written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pyramid.registry import Registry

from datacapt.config import get_app_settings
from datacapt.ecrf.definition import Validation
from datacapt.exports.source import Catalogue, Column, FormRecord, StoredValue

#: Offsets fall within ±MAX_DAYS, never 0.
MAX_DAYS = 182


@lru_cache(maxsize=8)
def _key(secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"datacapt export date shift"
    ).derive(secret.encode())


def offset(registry: Registry, study_id: int, subject_id: int) -> int:
    """The subject's shift in days: 1 to MAX_DAYS, forward or back."""
    message = f"{study_id}\x1f{subject_id}".encode()
    digest = hmac.new(_key(get_app_settings(registry).secret), message, hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    days = 1 + number % MAX_DAYS
    return -days if digest[8] & 1 else days


def _partial(text: str, by: timedelta) -> str:
    """A partial date keeps its precision: the middle of its month or year is moved (a year
    alone therefore stays what it is: no offset takes its middle out of it)."""
    parts = text.split("-")
    if len(parts) == 3:
        return (date.fromisoformat(text) + by).isoformat()
    if len(parts) == 2:
        moved = date(int(parts[0]), int(parts[1]), 15) + by
        return f"{moved.year:04d}-{moved.month:02d}"
    return f"{(date(int(parts[0]), 7, 2) + by).year:04d}"


def shifted_text(column: Column, text: str, by: timedelta) -> str:
    """A dated item's canonical text moved by ``by`` (a date's, whole or partial, through
    :func:`_partial`); a text that is no date stays as it is."""
    validation = column.item.validation
    try:
        if validation is Validation.DATETIME:
            return (datetime.fromisoformat(text) + by).isoformat()
        return _partial(text, by)
    except ValueError:
        return text


def _moved(stored: StoredValue, column: Column, by: timedelta) -> StoredValue:
    text = stored.text
    if column.dated and text is not None:
        text = shifted_text(column, text, by)
    return StoredValue(
        text,
        stored.number,
        stored.day + by if stored.day is not None else None,
        stored.missing_code,
        stored.updated_at + by if stored.updated_at is not None else None,
        stored.updated_by,
    )


def shifter(
    registry: Registry, study_id: int, found: Catalogue
) -> Callable[[FormRecord], FormRecord]:
    """What moves a form's dates (its values and their change times) by its subject's offset."""
    columns = {column.item.oid: column for column in found.columns()}
    offsets: dict[int, timedelta] = {}

    def shift(record: FormRecord) -> FormRecord:
        assert record.subject_id is not None
        by = offsets.get(record.subject_id)
        if by is None:
            if len(offsets) > 1024:  # subjects come one after another: keep few
                offsets.clear()
            by = offsets[record.subject_id] = timedelta(
                days=offset(registry, study_id, record.subject_id)
            )
        values = {oid: _moved(v, columns[oid], by) for oid, v in record.values.items()}
        return replace(record, values=values)

    return shift
