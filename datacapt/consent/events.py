"""What consent publishes (:mod:`datacapt.reactions`): a subject signed, or refused, a consent
document. ``consent_id`` names the signature (or refusal) record; ``document`` the document's
code (e.g. ``main-icf``), never its text."""

from __future__ import annotations

from dataclasses import dataclass

from datacapt.models import Subject
from datacapt.reactions import Event


@dataclass(frozen=True)
class ConsentEvent(Event):
    subject: Subject
    consent_id: int
    document: str


@dataclass(frozen=True)
class ConsentSigned(ConsentEvent):
    """The subject signed the document."""


@dataclass(frozen=True)
class ConsentRejected(ConsentEvent):
    """The subject refused to sign the document."""
