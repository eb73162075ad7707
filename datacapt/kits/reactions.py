"""What supplies do when another capability acts."""

from __future__ import annotations

from datacapt.i18n import _
from datacapt.kits import services
from datacapt.models import Study
from datacapt.randomisation.events import (
    RandomisationMarkedInError,
    Revealed,
    SubjectRandomised,
    SubjectUnblinded,
)


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


def reveal_on_unblinding(event: SubjectUnblinded) -> None:
    """A kit's type tells the arm: the person unblinding sees the subject's kits' types with
    it (the unblinding's own check let them), audited by kit number, never by type."""
    event.revealed.extend(
        Revealed(_("Kit type"), kit.number, f"{kind.code} — {kind.name}")
        for kit, kind in services.reveal_kit_types(
            event.dbsession, event.subject, event.randomisation, event.reason, event.actor
        )
    )
