"""Zip files that give the same bytes for the same data: entries with a fixed time, streamed in
from files written beforehand."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

#: The entries' time: the zip format's epoch, whatever the day of the export.
ENTRY_TIME = (1980, 1, 1, 0, 0, 0)


def add(archive: zipfile.ZipFile, name: str, path: Path) -> None:
    info = zipfile.ZipInfo(name, ENTRY_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as sink:
        shutil.copyfileobj(source, sink)
