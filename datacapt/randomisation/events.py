"""What randomisation publishes for other capabilities (:mod:`datacapt.reactions`)."""

from __future__ import annotations

from dataclasses import dataclass

from datacapt.models import Randomisation, Subject
from datacapt.reactions import Event


@dataclass(frozen=True)
class SubjectRandomised(Event):
    """A subject was randomised (flushed, in the same transaction). A reaction that is not
    allowed to see the arm must not read ``randomisation.arm``."""

    subject: Subject
    randomisation: Randomisation


@dataclass(frozen=True)
class RandomisationMarkedInError(Event):
    """A randomisation was marked in error: it no longer counts in the balance."""

    subject: Subject
    randomisation: Randomisation


@dataclass(frozen=True)
class SubjectUnblinded(Event):
    """A blinded person had a subject's arm revealed in an emergency (a mail to the study's
    administrators would react to this)."""

    subject: Subject
    randomisation: Randomisation
    reason: str
