"""The pipeline an application moves through, as a table: applied → pre-screened → contacted →
screening booked → enrolled; screen-failed or withdrawn from any step before enrolment. Enrolled,
screen-failed and withdrawn are final."""

from __future__ import annotations

from datacapt.i18n import _
from datacapt.models import ApplicationState

S = ApplicationState
_ENDINGS = frozenset({S.SCREEN_FAILED, S.WITHDRAWN})

#: Where each state may go next.
MOVES: dict[ApplicationState, frozenset[ApplicationState]] = {
    S.APPLIED: frozenset({S.PRESCREENED}) | _ENDINGS,
    S.PRESCREENED: frozenset({S.CONTACTED}) | _ENDINGS,
    S.CONTACTED: frozenset({S.SCREENING_BOOKED}) | _ENDINGS,
    S.SCREENING_BOOKED: frozenset({S.ENROLLED}) | _ENDINGS,
    S.ENROLLED: frozenset(),
    S.SCREEN_FAILED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

LABELS = {
    S.APPLIED: _("Applied"),
    S.PRESCREENED: _("Pre-screened"),
    S.CONTACTED: _("Contacted"),
    S.SCREENING_BOOKED: _("Screening booked"),
    S.ENROLLED: _("Enrolled"),
    S.SCREEN_FAILED: _("Screen-failed"),
    S.WITHDRAWN: _("Withdrawn"),
}


def may_move(current: ApplicationState, target: ApplicationState) -> bool:
    return target in MOVES[current]


def next_states(current: ApplicationState) -> list[ApplicationState]:
    """The moves from ``current``, in the pipeline's order."""
    return [state for state in ApplicationState if state in MOVES[current]]
