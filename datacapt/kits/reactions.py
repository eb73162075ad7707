"""What supplies do when another capability acts."""

from __future__ import annotations

from datacapt.kits import services
from datacapt.models import Study
from datacapt.randomisation.events import RandomisationMarkedInError, SubjectRandomised


def allocate_on_randomisation(event: SubjectRandomised) -> None:
    """A subject just randomised receives the kit mapped to its arm "at randomisation", if the
    study maps one and the site has one (never refusing the randomisation itself)."""
    study = event.dbsession.get(Study, event.subject.study_id)
    if study is not None:
        services.allocate_at_randomisation(event.dbsession, study, event.subject, event.actor)


def set_aside_on_error(event: RandomisationMarkedInError) -> None:
    """The kits a randomisation marked in error brought the subject are set aside."""
    services.set_aside_for_error(
        event.dbsession,
        event.subject,
        event.randomisation,
        event.randomisation.error_reason or "",
        event.actor,
    )
