"""The header times of SAS XPORT, SPSS and Stata files set to the snapshot's, read back by
pyreadstat; a file without a time where its format puts one is refused, not altered."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas
import pyreadstat
import pytest

from datacapt.exports.deterministic import UnexpectedHeader, set_header_time

MOMENT = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
FRAME = pandas.DataFrame({"AGE": [31.0, 47.0], "SITE": ["par01", "ber01"]})
WRITERS = {
    ".xpt": lambda path: pyreadstat.write_xport(FRAME, path, file_format_version=5),
    ".sav": lambda path: pyreadstat.write_sav(FRAME, path),
    ".dta": lambda path: pyreadstat.write_dta(FRAME, path, version=14),
}
READERS = {".xpt": pyreadstat.read_xport, ".sav": pyreadstat.read_sav, ".dta": pyreadstat.read_dta}


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_the_header_time_is_the_snapshot_and_the_data_is_untouched(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    WRITERS[suffix](path)
    set_header_time(path, MOMENT)
    frame, meta = READERS[suffix](str(path))
    expected = MOMENT.replace(tzinfo=None, second=0 if suffix == ".dta" else 6)
    assert meta.creation_time == expected
    assert meta.modification_time == expected
    assert frame.equals(FRAME)
    again = tmp_path / f"again{suffix}"
    WRITERS[suffix](again)
    set_header_time(again, MOMENT)
    assert again.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_a_header_without_its_time_is_refused(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    path.write_bytes(b"x" * 600)
    with pytest.raises(UnexpectedHeader):
        set_header_time(path, MOMENT)
    assert path.read_bytes() == b"x" * 600
