"""What a file is comes from its bytes, and its name must agree; the settings' defaults suit a
first run with nothing configured."""

from __future__ import annotations

import pytest
from pyramid.registry import Registry

from datacapt.config import PROJECT_DIR
from datacapt.uploads.services import readable_size, upload_settings
from datacapt.uploads.sniffing import sniffed


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (b"%PDF-1.7\n", "report.PDF", "pdf"),
        (b"\x89PNG\r\n\x1a\n....", "trace.png", "png"),
        (b"\xff\xd8\xff\xe0..JFIF", "photo.jpg", "jpeg"),
        (b"\xff\xd8\xff\xe1", "photo.jpeg", "jpeg"),
        (b"QTc;420\nHR;61\n", "ecg.csv", "csv"),
        ("Pression arterielle élevée\n".encode(), "notes.txt", "txt"),
        ("é".encode()[:1], "cut.txt", "txt"),  # a character cut by the head's end
        (b"plain words", "report.pdf", None),
        (b"%PDF-1.7\n", "report.png", None),
        (b"\x89PNG\r\n\x1a\n", "trace.txt", None),
        (b"MZ\x90\x00", "tool.txt", None),
        (b"\xff\xfe\x00t\x00e", "utf16.txt", None),
        (b"text", "script.html", None),
        (b"", "empty.txt", None),
    ],
)
def test_a_kind_is_read_from_the_bytes_and_the_name_must_agree(head, name, expected):
    kind = sniffed(head, name)
    assert (kind.name if kind else None) == expected


def test_defaults_serve_a_first_run_without_settings():
    registry = Registry("test")
    registry.settings = {}
    settings = upload_settings(registry)
    assert settings.folder == PROJECT_DIR / "var" / "uploads"
    assert settings.max_bytes == 10 * 1024 * 1024
    assert [kind.name for kind in settings.kinds] == ["pdf", "png", "jpeg", "txt", "csv"]


def test_a_kind_the_server_does_not_know_is_a_configuration_error():
    registry = Registry("test")
    registry.settings = {"datacapt.upload_types": "pdf exe"}
    with pytest.raises(ValueError, match="exe"):
        upload_settings(registry)


def test_sizes_read_as_people_read_them():
    assert [readable_size(n) for n in (812, 65536, 2621440)] == ["812 B", "64 KB", "2.5 MB"]
