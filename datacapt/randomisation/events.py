"""What randomisation publishes for other capabilities (:mod:`datacapt.reactions`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyramid.i18n import TranslationString

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
class Revealed:
    """What another capability conceals like the arm (a kit's type), shown with it to the
    person unblinding: ``label`` and ``name`` say what it is, ``value`` what it was hiding."""

    label: TranslationString
    name: str
    value: str


@dataclass(frozen=True)
class SubjectUnblinded(Event):
    """A blinded person had a subject's arm revealed in an emergency (a mail to the study's
    administrators reacts to this). A capability concealing something that tells the arm adds
    it to ``revealed`` (and audits that it did): it is shown with the arm, on that screen
    only."""

    subject: Subject
    randomisation: Randomisation
    reason: str
    revealed: list[Revealed] = field(default_factory=list)
