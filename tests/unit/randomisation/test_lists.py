"""Reading a randomisation list file: any separator Excel writes, a byte-order mark, the header
in any order and case; every bad line named, and a file with one refused whole."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from datacapt.randomisation.lists import ListRefused, ListRow, read_list

ARMS = {"A", "B"}


def refusals(data: bytes, name: str = "list.csv", stratified: bool = False):
    with pytest.raises(ListRefused) as refused:
        read_list(data, name, ARMS, stratified)
    return [(error.line, error.message.interpolate()) for error in refused.value.errors]


@pytest.mark.parametrize(
    "data",
    [
        b"number,arm\n1,A\n2,B\n",
        b"\xef\xbb\xbfARM;Number\r\nA;1\r\nB;2\r\n",
        b"arm\tnumber\nA\t1\n\nB\t2\n",
    ],
)
def test_separators_bom_and_header_order(data):
    assert read_list(data, "list.csv", ARMS, False) == [
        ListRow(2, "1", "A", ""),
        ListRow(3 if b"\n\n" not in data else 4, "2", "B", ""),
    ]


def test_an_xlsx_list_with_numbers_as_numbers():
    workbook = Workbook()
    workbook.active.append(["Number", "Arm", "Stratum"])
    workbook.active.append([1001, "B", "site=par01"])
    data = io.BytesIO()
    workbook.save(data)
    assert read_list(data.getvalue(), "LIST.XLSX", ARMS, True) == [
        ListRow(2, "1001", "B", "site=par01")
    ]


def test_every_bad_line_is_named():
    data = "number,arm,stratum\n1,A,\n1,B,\n,C,\n" + "x" * 41 + ",A,\n"
    assert refusals(data.encode(), stratified=True) == [
        (2, "The stratum is empty."),
        (3, "Number 1 is already on line 2."),
        (3, "The stratum is empty."),
        (4, "The randomisation number is empty."),
        (4, "Unknown arm “C”: use one of A, B."),
        (4, "The stratum is empty."),
        (5, "The randomisation number is longer than 40."),
        (5, "The stratum is empty."),
    ]


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"", "list.csv", [(1, "The file is empty.")]),
        (b"number\n1\n", "list.csv", [(1, "Missing column: arm.")]),
        (b"number,arm\n", "list.csv", [(2, "The file has no rows.")]),
        (b"number,arm\n1,\xe9\n", "list.csv", [(0, "The file is not UTF-8 text.")]),
        (b"PK\x03\x04 not really", "list.xlsx", [(0, "The file is not an XLSX workbook.")]),
    ],
)
def test_files_that_cannot_be_a_list(data, name, expected):
    assert refusals(data, name) == expected
