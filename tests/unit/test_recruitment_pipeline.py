"""The pipeline's moves, pair by pair: forward one step at a time up to enrolment, screen-failed
or withdrawn from any step before it, nothing out of a final state, nothing backwards."""

from __future__ import annotations

import itertools

import pytest

from datacapt.models import ApplicationState
from datacapt.recruitment import pipeline

S = ApplicationState
ALLOWED = {
    (S.APPLIED, S.PRESCREENED),
    (S.PRESCREENED, S.CONTACTED),
    (S.CONTACTED, S.SCREENING_BOOKED),
    (S.SCREENING_BOOKED, S.ENROLLED),
    *(
        (start, end)
        for start in (S.APPLIED, S.PRESCREENED, S.CONTACTED, S.SCREENING_BOOKED)
        for end in (S.SCREEN_FAILED, S.WITHDRAWN)
    ),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_each_pair(current, target):
    assert pipeline.may_move(current, target) is ((current, target) in ALLOWED)


@pytest.mark.parametrize("final", [S.ENROLLED, S.SCREEN_FAILED, S.WITHDRAWN])
def test_final_states_go_nowhere(final):
    assert pipeline.next_states(final) == []


def test_next_states_follow_the_pipeline_order():
    assert pipeline.next_states(S.CONTACTED) == [S.SCREENING_BOOKED, S.SCREEN_FAILED, S.WITHDRAWN]


def test_every_state_has_a_label():
    assert set(pipeline.LABELS) == set(S)
