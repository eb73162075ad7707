"""What eConsent publishes for other capabilities to react to (:mod:`datacapt.reactions`):
ePRO stops a withdrawn subject's questionnaires, automations start or stop their work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from datacapt.models import ConsentRecord
from datacapt.reactions import Event

#: Declared order of the reactions to a withdrawal: ePRO first (automations, at their own
#: later order, then see the questionnaires already stopped).
EPRO_ORDER = 10


@dataclass(frozen=True)
class ConsentEvent(Event):
    record: ConsentRecord


@dataclass(frozen=True)
class ConsentSigned(ConsentEvent):
    """The investigator countersigned: the record is complete (``signed``)."""


@dataclass(frozen=True)
class ConsentRejected(ConsentEvent):
    """The investigator refused to countersign (``rejected``); ``reason`` says why."""

    reason: str


@dataclass(frozen=True)
class ConsentWithdrawn(ConsentEvent):
    """The subject withdrew on ``on`` from ``scope`` (a subset of :data:`SCOPES`); what was
    collected before stays."""

    on: date
    scope: tuple[str, ...]


#: What a withdrawal may cover.
TREATMENT, FOLLOW_UP, FURTHER_DATA, SAMPLES = "treatment", "follow_up", "further_data", "samples"
SCOPES = (TREATMENT, FOLLOW_UP, FURTHER_DATA, SAMPLES)
