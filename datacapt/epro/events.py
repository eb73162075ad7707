"""What ePRO publishes for other capabilities to react to (:mod:`datacapt.reactions`)."""

from __future__ import annotations

from dataclasses import dataclass

from datacapt.models import EproOccurrence, Subject
from datacapt.reactions import Event


@dataclass(frozen=True)
class EproStatusChanged(Event):
    """An occurrence took its current status (sent, started, completed, missed)."""

    subject: Subject
    occurrence: EproOccurrence


@dataclass(frozen=True)
class EproSent(EproStatusChanged):
    """The subject was first sent a link to the questionnaire."""


@dataclass(frozen=True)
class EproCompleted(EproStatusChanged):
    """The subject submitted the questionnaire."""


@dataclass(frozen=True)
class EproMissed(EproStatusChanged):
    """The questionnaire's window closed before it was completed."""
