"""The same bytes for the same snapshot: the times that files carry in their headers set to the
export's snapshot time instead of the clock's, so a retried export equals its first run.

ReadStat (under pyreadstat) stamps each SAS XPORT, SPSS and Stata file with the time it was
written and pyreadstat offers no option to choose it, so the header fields are rewritten in
place: their positions are fixed by each format's specification, and each field is checked to
hold a time of the expected shape before it is overwritten (a ReadStat that wrote otherwise
fails the export loudly rather than giving other bytes). Times are written in UTC.
"""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime
from pathlib import Path

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

#: SAS XPORT v5 (SAS TS-140): ``ddMMMyy:hh:mm:ss`` in the library header's second and third
#: 80-byte records (created, modified) and in the member header's (records 6 and 7).
XPORT_FIELDS = (144, 160, 464, 480)
XPORT_TIME = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
#: SPSS .sav: the file header's ``creation_date`` (``dd Mmm yy``) then ``creation_time``.
SAV_DATE_AT = 4 + 60 + 4 * 5 + 8
SAV_TIME = re.compile(rb"[ \d]\d [A-Za-z]{3} \d\d\d\d:\d\d:\d\d")
#: Stata 118: ``<timestamp>`` then a length byte and ``dd Mon yyyy hh:mm`` after the label.
DTA_TIME = re.compile(rb"[ \d]\d [A-Za-z]{3} \d{4} \d\d:\d\d")


class UnexpectedHeader(ValueError):
    """A header without a time where the format puts it."""


def snapshot_second(moment: datetime) -> datetime:
    """``moment`` in UTC to the second: what every header can hold."""
    return moment.astimezone(UTC).replace(microsecond=0)


def _patch(data: bytearray, at: int, old: re.Pattern[bytes], new: bytes, path: Path) -> None:
    if not old.fullmatch(bytes(data[at : at + len(new)])):
        raise UnexpectedHeader(f"{path.name}: no header time at byte {at}")
    data[at : at + len(new)] = new


def _xport(data: bytearray, moment: datetime, path: Path) -> None:
    stamp = f"{moment:%d}{MONTHS[moment.month - 1]}{moment:%y:%H:%M:%S}".encode()
    for at in XPORT_FIELDS:
        _patch(data, at, XPORT_TIME, stamp, path)


def _sav(data: bytearray, moment: datetime, path: Path) -> None:
    month = MONTHS[moment.month - 1].title()
    stamp = f"{moment:%d} {month} {moment:%y%H:%M:%S}".encode()
    _patch(data, SAV_DATE_AT, SAV_TIME, stamp, path)


def _dta(data: bytearray, moment: datetime, path: Path) -> None:
    order = "<" if data.find(b"<byteorder>LSF</byteorder>") >= 0 else ">"
    label = data.find(b"<label>")
    if label < 0:
        raise UnexpectedHeader(f"{path.name}: no <label> in the header")
    (length,) = struct.unpack_from(f"{order}H", data, label + len(b"<label>"))
    end = label + len(b"<label>") + 2 + length
    opening = b"</label><timestamp>"
    if data[end : end + len(opening)] != opening or data[end + len(opening)] != 17:
        raise UnexpectedHeader(f"{path.name}: no 17-byte <timestamp> after the label")
    month = MONTHS[moment.month - 1].title()
    stamp = f"{moment:%d} {month} {moment:%Y %H:%M}".encode()
    _patch(data, end + len(opening) + 1, DTA_TIME, stamp, path)


PATCHES = {".xpt": _xport, ".sav": _sav, ".dta": _dta}


def set_header_time(path: Path, moment: datetime) -> None:
    """Rewrite the creation (and modification) time in the header of the ``.xpt``, ``.sav`` or
    ``.dta`` file at ``path`` to ``moment`` (in UTC). Only the header is read and written."""
    patch = PATCHES[path.suffix]
    with path.open("r+b") as handle:
        head = bytearray(handle.read(4096))
        patch(head, snapshot_second(moment), path)
        handle.seek(0)
        handle.write(head)
