"""What the subjects' capability publishes for others to react to (:mod:`datacapt.reactions`)."""

from __future__ import annotations

from dataclasses import dataclass

from datacapt.models import Subject, SubjectStatus
from datacapt.reactions import Event


@dataclass(frozen=True)
class SubjectStatusChanged(Event):
    """``subject`` moved from ``old`` to its current status (flushed, audited as
    ``audit_event_id``: the change's own identity)."""

    subject: Subject
    old: SubjectStatus
    audit_event_id: int
