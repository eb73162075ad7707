"""The JSON text a save's batches of rows travel in to PostgreSQL (``datacapt.json_text``):
PostgreSQL reads the values back, so what matters is that each one reads back as it was."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from datacapt.json_text import json_text


def test_rows_read_back_as_they_were():
    rows = [
        {"id": 7, "value": "Zażółć “gęślą” jaźń ☃", "missing_code": None, "seq": 2**62},
        {"id": 8, "value": 'a "quoted"\\ line\nbreak\ttab \x01 \u2028', "old": ""},
    ]
    text = json_text(rows)
    assert isinstance(text, str)
    assert json.loads(text) == rows


def test_typed_copies_are_written_as_their_columns_read_them():
    text = json_text(
        [{"value_number": Decimal("73.50"), "value_date": date(2026, 12, 3)}], default=str
    )
    assert json.loads(text) == [{"value_number": "73.50", "value_date": "2026-12-03"}]


def test_a_value_it_cannot_write_is_refused_not_mangled():
    with pytest.raises(TypeError):
        json_text([{"value_number": Decimal("1.5")}])
