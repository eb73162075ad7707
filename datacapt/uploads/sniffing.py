"""What a file is, read from its first bytes, never from its name or the browser's word.

A small explicit table: each kind has its signature (or, for text, a test of the bytes) and the
name endings it may carry. A file is taken only when its bytes are one of the kinds the study's
server allows and its name ends as that kind's names do, so a ``.pdf`` that is not a PDF, or a
PDF named ``.png``, is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

#: Bytes read to tell a file's kind.
HEAD_BYTES = 4096
#: Control characters other than tab, line feed, form feed and carriage return: not text.
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13}


@dataclass(frozen=True)
class Kind:
    name: str  # what the settings call it (datacapt.upload_types)
    content_type: str
    suffixes: tuple[str, ...]
    #: Shown in the browser (images); every other kind is downloaded as an attachment.
    inline: bool = False


KINDS = {
    "pdf": Kind("pdf", "application/pdf", (".pdf",)),
    "png": Kind("png", "image/png", (".png",), inline=True),
    "jpeg": Kind("jpeg", "image/jpeg", (".jpg", ".jpeg"), inline=True),
    "txt": Kind("txt", "text/plain; charset=utf-8", (".txt",)),
    "csv": Kind("csv", "text/csv; charset=utf-8", (".csv",)),
}
SIGNATURES = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
)


def _is_text(head: bytes) -> bool:
    """UTF-8 (a character cut at the end of ``head`` allowed) without control characters."""
    if any(byte in _CONTROL for byte in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(head) - 3 and error.reason == "unexpected end of data"
    return True


def sniffed(head: bytes, file_name: str) -> Kind | None:
    """The kind of a file starting with ``head`` and named ``file_name``, when its bytes and its
    name agree; None otherwise (an unknown kind, or a name that lies about the bytes)."""
    suffix = PurePosixPath(file_name.lower()).suffix
    for signature, name in SIGNATURES:
        if head.startswith(signature):
            kind = KINDS[name]
            return kind if suffix in kind.suffixes else None
    if head and _is_text(head):
        for name in ("txt", "csv"):
            if suffix in KINDS[name].suffixes:
                return KINDS[name]
    return None


def kind_of_name(file_name: str) -> Kind | None:
    """The kind a file's name claims (to say what was expected when the bytes disagree)."""
    suffix = PurePosixPath(file_name.lower()).suffix
    return next((kind for kind in KINDS.values() if suffix in kind.suffixes), None)
