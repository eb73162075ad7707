"""A kit's states: every pair of states tried against the one table, written out here by hand
so that a change to the table that opens a path shows up."""

from __future__ import annotations

import itertools

import pytest

from datacapt.kits.states import TRANSITIONS, TransitionRefused, check
from datacapt.models import KitState

T, R, A, L, X = (
    KitState.IN_TRANSFER,
    KitState.RECEIVED,
    KitState.AVAILABLE,
    KitState.ALLOCATED,
    KitState.INVALID,
)
#: from → {to: reason required}
EXPECTED = {
    T: {R: False, X: True},
    R: {A: False, X: True},
    A: {T: False, L: False, X: True},
    L: {A: True, X: True},
    X: {},
}


def test_the_table_is_the_one_written_here():
    assert {
        (old, new): reason for old, targets in EXPECTED.items() for new, reason in targets.items()
    } == TRANSITIONS


@pytest.mark.parametrize(("old", "new"), list(itertools.product(KitState, KitState)))
def test_every_pair_of_states(old, new):
    allowed = EXPECTED[old]
    if new not in allowed:
        with pytest.raises(TransitionRefused, match="not allowed"):
            check(old, new, "a reason")
        return
    check(old, new, "a reason")
    if allowed[new]:
        for missing in (None, "", "   "):
            with pytest.raises(TransitionRefused, match="needs a reason"):
                check(old, new, missing)
    else:
        check(old, new, None)


def test_invalid_is_for_ever_and_nothing_skips_receipt():
    assert not [new for (old, new) in TRANSITIONS if old is X]
    assert (T, A) not in TRANSITIONS and (T, L) not in TRANSITIONS and (R, L) not in TRANSITIONS
