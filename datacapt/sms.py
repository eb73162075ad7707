"""Text messages to subjects, through a provider interface chosen by ``datacapt.sms``.

* ``console`` (the default): the message is logged, its number masked but for its last two
  digits and its links replaced by ``<link>`` (a link carries a token that opens a subject's
  questionnaires);
* ``file``: each message is written as a JSON file (``to``, ``body``, ``sent_at`` in ISO 8601)
  into ``datacapt.sms_directory``, for development and the tests.

Like mail, a message leaves only once the transaction that asked for it commits
(:func:`send_sms_in`). What a message says is the caller's business, with one rule: a text
message carries no health information, only study-neutral words and a link.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from pyramid.config import Configurator
from pyramid.registry import Registry
from sqlalchemy.orm import Session

from datacapt.config import ConfigurationError

log = logging.getLogger(__name__)

BACKEND_KEY = "datacapt.sms.backend"
LINK = re.compile(r"https?://\S+")


class SmsBackend(Protocol):
    def send(self, to: str, body: str) -> None: ...


def masked(number: str) -> str:
    """``number`` with every digit but the last two hidden."""
    digits = [c for c in number if c.isdigit()]
    return "•" * max(len(digits) - 2, 0) + "".join(digits[-2:])


class ConsoleSms:
    """Logs each message: the number's last two digits, the words without their links."""

    def send(self, to: str, body: str) -> None:
        log.info("SMS to %s: %s", masked(to), LINK.sub("<link>", body))


class FileSms:
    """Writes each message to a folder, one JSON file per message (never half a file)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def send(self, to: str, body: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        name = f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.json"
        partial = self.directory / f".{name}"
        record = {"to": to, "body": body, "sent_at": now.isoformat()}
        partial.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, self.directory / name)


def make_backend(settings: dict[str, str]) -> SmsBackend:
    kind = (settings.get("datacapt.sms") or "console").strip()
    if kind == "console":
        return ConsoleSms()
    if kind == "file":
        folder = (settings.get("datacapt.sms_directory") or "").strip()
        if not folder:
            raise ConfigurationError("datacapt.sms = file needs datacapt.sms_directory")
        return FileSms(folder)
    raise ConfigurationError(f"datacapt.sms: unknown backend {kind!r} (console or file)")


def backend(registry: Registry) -> SmsBackend:
    return registry[BACKEND_KEY]


def send_sms_in(dbsession: Session, *, to: str, body: str) -> None:
    """Send ``body`` to ``to`` once ``dbsession``'s transaction commits (never if it aborts)."""
    registry: Registry = dbsession.info["registry"]
    manager = dbsession.info["transaction_manager"]

    def after_commit(succeeded: bool) -> None:
        if succeeded:
            backend(registry).send(to, body)

    manager.get().addAfterCommitHook(after_commit)


def includeme(config: Configurator) -> None:
    config.registry[BACKEND_KEY] = make_backend(config.registry.settings)
