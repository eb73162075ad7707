"""Files in file items: taken only when their bytes are an allowed kind and not too large,
stored outside the web root under a random name with their SHA-256, found again for a form.

A file is received before its form's save is planned, so the save can refer to it; it belongs
to that save's transaction. If the transaction does not commit (the save refused, stale, or
failing), its row is rolled back and its bytes are deleted by the transaction's hooks: no file
of a failed save stays reachable, and a blob left by a crash has no row, so nothing names it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol
from urllib.parse import quote

from pyramid.i18n import TranslationString
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import FileResponse, Response
from pyramid.settings import aslist
from sqlalchemy import select
from sqlalchemy.orm import Session

from datacapt import audit
from datacapt.actor import Actor
from datacapt.config import PROJECT_DIR
from datacapt.i18n import _
from datacapt.models import FormInstance, Subject, UploadedFile
from datacapt.uploads.sniffing import HEAD_BYTES, KINDS, Kind, kind_of_name, sniffed

#: The largest file taken and the kinds allowed when the INI does not say.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_TYPES = ("pdf", "png", "jpeg", "txt", "csv")
MAX_NAME = 255
BLOCK = 1 << 20


@dataclass(frozen=True)
class UploadSettings:
    folder: Path
    max_bytes: int
    kinds: tuple[Kind, ...]


def upload_settings(registry: Registry) -> UploadSettings:
    """``datacapt.upload_dir`` (default var/uploads beside the code), ``datacapt.
    upload_max_bytes`` and ``datacapt.upload_types`` (names of :data:`KINDS`), read once."""
    found = registry.get("uploads.settings")
    if found is None:
        settings = registry.settings or {}
        folder = (settings.get("datacapt.upload_dir") or "").strip()
        limit = str(settings.get("datacapt.upload_max_bytes") or "").strip()
        names = aslist(settings.get("datacapt.upload_types") or "") or list(DEFAULT_TYPES)
        unknown = sorted(set(names) - set(KINDS))
        if unknown:
            raise ValueError(f"datacapt.upload_types: unknown {unknown}, known {sorted(KINDS)}")
        found = registry["uploads.settings"] = UploadSettings(
            Path(folder) if folder else PROJECT_DIR / "var" / "uploads",
            int(limit) if limit else DEFAULT_MAX_BYTES,
            tuple(KINDS[name] for name in names),
        )
    return found


@dataclass(frozen=True)
class Rules:
    """What a file field tells before anything is sent: the ``accept`` attribute (name endings),
    the same for people, and the largest size."""

    accept: str
    suffixes: str
    largest: str


def rules(registry: Registry) -> Rules:
    settings = upload_settings(registry)
    suffixes = [suffix for kind in settings.kinds for suffix in kind.suffixes]
    return Rules(",".join(suffixes), ", ".join(suffixes), readable_size(settings.max_bytes))


class Refused(Exception):
    """The file is not taken; ``message`` says why, for the field."""

    def __init__(self, message: TranslationString) -> None:
        super().__init__("upload refused")
        self.message = message


def readable_size(size: int) -> str:
    """A size as people read it: 812 bytes, 45 KB, 2.5 MB (units of 1024)."""
    if size < 1024:
        return f"{size} B"
    for unit in ("KB", "MB", "GB"):
        size_in = size / 1024
        if size_in < 1024 or unit == "GB":
            return f"{size_in:.1f} {unit}".replace(".0 ", " ")
        size = int(size_in)
    return f"{size} GB"


def _kind(settings: UploadSettings, head: bytes, file_name: str) -> Kind:
    allowed = ", ".join(suffix for kind in settings.kinds for suffix in kind.suffixes)
    if not head:
        raise Refused(_("This file is empty."))
    kind = sniffed(head, file_name)
    if kind is not None and kind in settings.kinds:
        return kind
    claimed = kind_of_name(file_name)
    if kind is None and claimed is not None and claimed in settings.kinds:
        raise Refused(
            _(
                "This file's content is not what its name says (${suffix}): it was not taken.",
                mapping={"suffix": PurePosixPath(file_name.lower()).suffix},
            )
        )
    raise Refused(
        _("Files of this type are not taken. Accepted: ${types}.", mapping={"types": allowed})
    )


def _path(settings: UploadSettings, storage_name: str) -> Path:
    return settings.folder / storage_name[:2] / storage_name


class StoredFile(Protocol):
    """A row naming stored bytes (a form's file, a message's attachment)."""

    file_name: str
    content_type: str
    storage_name: str


def path_of(registry: Registry, record: StoredFile) -> Path:
    """Where a file's bytes are: the configured folder, outside the web root."""
    return _path(upload_settings(registry), record.storage_name)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _forget_unless_committed(dbsession: Session, path: Path) -> None:
    """Delete ``path`` if the transaction aborts or fails to commit."""
    transaction = dbsession.info["transaction_manager"].get()
    transaction.addAfterAbortHook(_unlink, args=(path,))
    transaction.addAfterCommitHook(
        lambda committed, target: None if committed else _unlink(target), args=(path,)
    )


def _write(source: BinaryIO, head: bytes, target: Path, limit: int) -> tuple[int, str]:
    """``head`` then the rest of ``source`` into ``target``; its size and SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    try:
        with target.open("xb") as out:
            for block in (head, *iter(lambda: source.read(BLOCK), b"")):
                size += len(block)
                if size > limit:
                    raise Refused(
                        _(
                            "This file is larger than ${size}: it was not taken.",
                            mapping={"size": readable_size(limit)},
                        )
                    )
                digest.update(block)
                out.write(block)
    except Refused:
        target.unlink(missing_ok=True)
        raise
    return size, digest.hexdigest()


@dataclass(frozen=True)
class Stored:
    """A file taken by the rules: its bytes written, to be named by a row of the caller's."""

    file_name: str
    content_type: str
    size: int
    sha256: str
    storage_name: str


def store(dbsession: Session, registry: Registry, source: BinaryIO, file_name: str) -> Stored:
    """Check one file (not empty, an allowed kind read from its bytes, not too large) and write
    it under a random name; its bytes go if this transaction does not commit. Raises Refused,
    having kept nothing. The one place every capability's files pass through."""
    settings = upload_settings(registry)
    name = PurePosixPath(file_name.replace("\\", "/")).name[:MAX_NAME] or "file"
    head = source.read(HEAD_BYTES)
    kind = _kind(settings, head, name)
    storage_name = secrets.token_hex(32)
    target = _path(settings, storage_name)
    size, sha256 = _write(source, head, target, settings.max_bytes)
    _forget_unless_committed(dbsession, target)
    return Stored(name, kind.content_type, size, sha256, storage_name)


def receive(
    dbsession: Session,
    registry: Registry,
    subject: Subject,
    item_oid: str,
    *,
    source: BinaryIO,
    file_name: str,
    uploaded_by_id: int | None,
) -> UploadedFile:
    """Check and store one file sent for ``item_oid`` of a form of ``subject``; its row (not
    yet given to a form instance: :func:`settle` does). Raises Refused, having kept nothing."""
    stored = store(dbsession, registry, source, file_name)
    record = UploadedFile(
        tenant_id=subject.tenant_id,
        study_id=subject.study_id,
        subject_id=subject.id,
        item_oid=item_oid,
        file_name=stored.file_name,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        storage_name=stored.storage_name,
        uploaded_by_id=uploaded_by_id,
    )
    dbsession.add(record)
    dbsession.flush()
    return record


def settle(
    dbsession: Session,
    registry: Registry,
    received: Iterable[UploadedFile],
    instance: FormInstance | None,
    saved: dict[str, str | None],
    actor: Actor,
) -> None:
    """After a save: the files it received that are now their item's value (``saved``: the
    values the save changed, by item OID) belong to the form ``instance``, each with an audit
    event holding its SHA-256 (so the hash chain vouches for the bytes, not only for the row
    naming them); any other (its item hidden by branching, say) is dropped, bytes too."""
    for record in received:
        if instance is not None and saved.get(record.item_oid) == str(record.id):
            record.form_instance_id = instance.id
            audit.record(
                dbsession,
                actor,
                tenant_id=instance.tenant_id,
                study_id=instance.study_id,
                site_id=instance.site_id,
                subject_id=instance.subject_id,
                action="entry.file_received",
                entity_type="uploaded_file",
                entity_id=record.id,
                field=record.item_oid,
                new=record.sha256,
            )
        else:
            dbsession.delete(record)
            transaction = dbsession.info["transaction_manager"].get()
            transaction.addAfterCommitHook(
                lambda _committed, target: _unlink(target), args=(path_of(registry, record),)
            )
    dbsession.flush()


def files_of(
    dbsession: Session, instance: FormInstance | None, values: Iterable[str | None]
) -> dict[str, UploadedFile]:
    """The files of the form ``instance`` that ``values`` (item values, as text) name, by
    value; one query, none when no value names a file."""
    ids = {int(value) for value in values if value and value.isascii() and value.isdigit()}
    if instance is None or not ids:
        return {}
    rows = dbsession.scalars(
        select(UploadedFile).where(
            UploadedFile.form_instance_id == instance.id, UploadedFile.id.in_(sorted(ids))
        )
    )
    return {str(row.id): row for row in rows}


def kind_of(record: StoredFile) -> Kind | None:
    return next((k for k in KINDS.values() if k.content_type == record.content_type), None)


#: A file served from the study's own origin must never run as a page of it.
SANDBOX = "sandbox; default-src 'none'"


def _disposition(kind: str, file_name: str) -> str:
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in file_name
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def file_response(request: Request, record: StoredFile, *, view: bool) -> Response | None:
    """The stored bytes of ``record`` as a download (an image shown in the browser when
    ``view``), sandboxed and never cached; None when the bytes are gone. Every capability's
    files are served so, after its own permission check and audit."""
    path = path_of(request.registry, record)
    if not path.is_file():
        return None
    kind = kind_of(record)
    inline = kind is not None and kind.inline and view
    response = FileResponse(str(path), request=request, content_type=record.content_type)
    response.content_disposition = _disposition(
        "inline" if inline else "attachment", record.file_name
    )
    response.headers["Content-Security-Policy"] = SANDBOX
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "no-store"
    return response


def described(dbsession: Session, study_id: int) -> dict[str, str]:
    """What exports write for the file values of a study, by value: the file's name and its
    SHA-256, never its bytes. One query for the whole export."""
    rows = dbsession.execute(
        select(UploadedFile.id, UploadedFile.file_name, UploadedFile.sha256).where(
            UploadedFile.study_id == study_id, UploadedFile.form_instance_id.is_not(None)
        )
    )
    return {str(row.id): f"{row.file_name} sha256:{row.sha256}" for row in rows}
