"""Lists and adaptive methods: every complete block holds the exact ratio, strata never see each
other, Efron leans towards the arm behind, and the same seed gives the same sequence."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datacapt.randomisation.methods import (
    Arms,
    DesignError,
    block_list,
    check_block_sizes,
    efron,
    simple,
    stratified_block_lists,
)

ratios = st.lists(st.integers(1, 3), min_size=2, max_size=4)


@st.composite
def block_designs(draw):
    ratio = draw(ratios)
    arms = Arms.of([chr(ord("A") + i) for i in range(len(ratio))], ratio)
    multiples = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True))
    return arms, [m * arms.total for m in multiples]


@settings(max_examples=60, deadline=None)
@given(block_designs(), st.integers(0, 2**32), st.integers(1, 120))
def test_every_complete_block_holds_the_exact_ratio(design, seed, length):
    arms, sizes = design
    slots = block_list(random.Random(seed), arms, sizes, length)
    by_block: dict[int, list] = {}
    for slot in slots:
        by_block.setdefault(slot.block, []).append(slot)
    for block in by_block.values():
        size = block[0].block_size
        assert size in sizes
        if len(block) == size:
            counts = Counter(slot.arm for slot in block)
            assert [counts[arm] * arms.total for arm in arms.names] == [
                share * size for share in arms.ratio
            ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from([2, 4, 6, 8]), min_size=1, max_size=3, unique=True),
    st.integers(0, 2**32),
    st.lists(st.sampled_from(["s1", "s2", "s3"]), min_size=1, max_size=80),
)
def test_within_every_stratum_the_imbalance_never_passes_half_the_largest_block(
    sizes, seed, arrivals
):
    arms = Arms.of(["A", "B"])
    lists = stratified_block_lists(seed, arms, sizes, ["s1", "s2", "s3"], len(arrivals))
    taken = Counter()
    counts = {stratum: Counter() for stratum in lists}
    for stratum in arrivals:
        counts[stratum][lists[stratum][taken[stratum]].arm] += 1
        taken[stratum] += 1
        assert abs(counts[stratum]["A"] - counts[stratum]["B"]) <= max(sizes) // 2


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.sets(st.sampled_from(["x", "y", "z", "w"]), min_size=1))
def test_a_stratum_sequence_does_not_depend_on_the_other_strata(seed, others):
    arms = Arms.of(["A", "B", "C"], [2, 1, 1])
    alone = stratified_block_lists(seed, arms, [4, 8], ["site-1"], 30)
    among = stratified_block_lists(seed, arms, [4, 8], sorted(others | {"site-1"}), 30)
    assert alone["site-1"] == among["site-1"]


def test_strata_get_different_sequences():
    lists = stratified_block_lists(7, Arms.of(["A", "B"]), [4], ["m", "f"], 40)
    assert [s.arm for s in lists["m"]] != [s.arm for s in lists["f"]]


@pytest.mark.parametrize(
    ("ratio", "sizes", "message"),
    [
        ((1, 1), [3], "block size 3 is not a multiple of 2, the sum of the ratio 1:1"),
        ((2, 1), [6, 4], "block size 4 is not a multiple of 3, the sum of the ratio 2:1"),
        ((1, 1), [], "give at least one block size"),
        ((1, 1), [0], "block size 0 is not a multiple of 2"),
    ],
)
def test_block_sizes_off_the_ratio_are_refused(ratio, sizes, message):
    with pytest.raises(DesignError, match=message):
        check_block_sizes(Arms.of(["A", "B"], ratio), sizes)


@pytest.mark.parametrize(
    ("names", "ratio", "message"),
    [
        (["A"], None, "at least two arms"),
        (["A", "A"], None, "must differ"),
        (["A", "B"], [1, 1, 1], "3 parts for 2 arms"),
        (["A", "B"], [1, 0], "at least 1"),
    ],
)
def test_bad_arms_are_refused(names, ratio, message):
    with pytest.raises(DesignError, match=message):
        Arms.of(names, ratio)


def test_simple_follows_the_ratio_and_the_seed():
    arms = Arms.of(["A", "B", "C"], [3, 1, 1])
    drawn = Counter(simple(random.Random(1), arms, 5000))
    assert 2800 < drawn["A"] < 3200 and 850 < drawn["B"] < 1150
    assert simple(random.Random(1), arms, 50) == simple(random.Random(1), arms, 50)
    assert simple(random.Random(1), arms, 50) != simple(random.Random(2), arms, 50)


def test_efron_prefers_the_arm_behind_with_probability_p():
    arms = Arms.of(["A", "B"])
    rng = random.Random(3)
    picks = Counter(efron(rng, arms, {"A": 5, "B": 3}, p=2 / 3) for _ in range(6000))
    assert 3800 < picks["B"] < 4200
    assert {efron(rng, arms, {"A": 5, "B": 3}, p=1) for _ in range(50)} == {"B"}


def test_efron_measures_behind_relative_to_the_ratio():
    """2:1 with A=4, B=2 is level: no preference, so both arms come up."""
    arms = Arms.of(["A", "B"], [2, 1])
    rng = random.Random(4)
    assert {efron(rng, arms, {"A": 4, "B": 2}, p=1) for _ in range(60)} == {"A", "B"}
    assert {efron(rng, arms, {"A": 4, "B": 1}, p=1) for _ in range(60)} == {"B"}
