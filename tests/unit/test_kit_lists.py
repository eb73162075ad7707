"""Reading a kit list: whole or not at all, every refusal with its line; dates in ISO 8601 or
as spreadsheet dates; a blank expiry taken from the catalogue's batch."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from datacapt.kits.lists import KitListRefused, read_kit_list

KNOWN = {
    "types": {"KA", "KP"},
    "sites": {"par01"},
    "existing": {"OLD-1"},
    "batch_expiry": {("KA", "B9"): date(2029, 1, 31)},
}


def read(text: str, name: str = "kits.csv"):
    return read_kit_list(text.encode(), name, **KNOWN)


def test_a_good_list():
    rows = read(
        "Location,Number,Type,Batch,Expiry\n"
        "depot,K1,KA,B1,2028-02-29\n"
        ",K2,KP,B1,2028-03-01\n"
        "\n"
        "par01,K3,KA,B9,\n"
    )
    assert [(r.line, r.number, r.type, r.expiry, r.location) for r in rows] == [
        (2, "K1", "KA", date(2028, 2, 29), None),
        (3, "K2", "KP", date(2028, 3, 1), None),
        (5, "K3", "KA", date(2029, 1, 31), "par01"),
    ]


def test_every_bad_line_is_named_and_nothing_is_kept():
    with pytest.raises(KitListRefused) as refused:
        read(
            "number,type,batch,expiry,location\n"
            "K1,KA,B1,2028-01-01,depot\n"
            ",KA,B1,2028-01-01,depot\n"
            "K1,KZ,B1,2028-01-01,depot\n"
            "K4,KA,,2028-02-30,depot\n"
            "OLD-1,KA,B2,,lyo01\n"
        )
    assert [error.line for error in refused.value.errors] == [3, 4, 4, 5, 5, 6, 6, 6]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("", 1),
        ("number,type,batch,expiry\nK1,KA,B1,2028-01-01\n", 1),
        ("number,type,batch,expiry,location\n", 2),
    ],
)
def test_an_empty_or_incomplete_file(text, line):
    with pytest.raises(KitListRefused) as refused:
        read(text)
    assert refused.value.errors[0].line == line


def test_a_workbook_with_spreadsheet_dates():
    book = Workbook()
    book.active.append(["number", "type", "batch", "expiry", "location"])
    book.active.append(["K1", "KA", "B1", datetime(2030, 5, 1), "par01"])
    data = io.BytesIO()
    book.save(data)
    rows = read_kit_list(data.getvalue(), "kits.xlsx", **KNOWN)
    assert [(r.number, r.expiry, r.location) for r in rows] == [("K1", date(2030, 5, 1), "par01")]
    with pytest.raises(KitListRefused):
        read_kit_list(b"not a workbook", "kits.xlsx", **KNOWN)


@given(st.lists(st.booleans(), min_size=1, max_size=20))
def test_one_bad_row_refuses_the_whole_file(bad_rows):
    lines = ["number,type,batch,expiry,location"]
    for index, bad in enumerate(bad_rows):
        lines.append(f"K{index},{'KX' if bad else 'KA'},B1,2028-01-01,depot")
    text = "\n".join(lines) + "\n"
    if any(bad_rows):
        with pytest.raises(KitListRefused) as refused:
            read(text)
        assert [e.line for e in refused.value.errors] == [
            index + 2 for index, bad in enumerate(bad_rows) if bad
        ]
    else:
        assert len(read(text)) == len(bad_rows)
