"""Split-body lists: every product on every zone equally often over each complete block, each
subject given every product once, and the same seed giving the same allocation."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datacapt.randomisation.methods import DesignError
from datacapt.randomisation.split_body import (
    LATIN_SQUARE,
    PERMUTATIONS,
    allocation_list,
    latin_square,
)

METHODS = st.sampled_from([LATIN_SQUARE, PERMUTATIONS])


def products(count: int) -> list[str]:
    return [f"P{number}" for number in range(1, count + 1)]


@settings(max_examples=80, deadline=None)
@given(METHODS, st.integers(2, 4), st.integers(0, 2**32), st.integers(1, 80))
def test_every_product_is_on_every_zone_equally_often_in_each_complete_block(
    method, count, seed, length
):
    names = products(count)
    places = allocation_list(random.Random(seed), method, names, count, length)
    size = count if method == LATIN_SQUARE else math.factorial(count)
    assert all(place.block_size == size for place in places)
    blocks: dict[int, list] = {}
    for place in places:
        assert sorted(place.products) == names  # every product once per subject
        blocks.setdefault(place.block, []).append(place)
    for members in blocks.values():
        if len(members) < size:
            continue  # the last block may be incomplete
        assert len(members) == size
        per_zone = size // count
        for zone in range(count):
            assert Counter(place.products[zone] for place in members) == dict.fromkeys(
                names, per_zone
            )


@pytest.mark.parametrize("method", [LATIN_SQUARE, PERMUTATIONS])
def test_the_same_seed_gives_the_same_allocation_and_another_seed_another(method):
    first = allocation_list(random.Random(7), method, products(3), 3, 60)
    again = allocation_list(random.Random(7), method, products(3), 3, 60)
    other = allocation_list(random.Random(8), method, products(3), 3, 60)
    assert [place.arm for place in first] == [place.arm for place in again]
    assert [place.arm for place in first] != [place.arm for place in other]


def test_a_latin_square_by_hand():
    """Every row and every column of the square holds each symbol exactly once."""
    square = latin_square(random.Random(3), 4)
    for row in square:
        assert sorted(row) == [0, 1, 2, 3]
    for column in zip(*square, strict=True):
        assert sorted(column) == [0, 1, 2, 3]


def test_permutation_blocks_hold_every_order_once():
    places = allocation_list(random.Random(1), PERMUTATIONS, ["L", "R", "C"], 3, 6)
    assert sorted(place.products for place in places) == sorted(
        [
            ("L", "R", "C"),
            ("L", "C", "R"),
            ("R", "L", "C"),
            ("R", "C", "L"),
            ("C", "L", "R"),
            ("C", "R", "L"),
        ]
    )
    assert places[0].arm.count(",") == 2


def test_two_products_on_left_and_right_alternate_sides_within_each_pair():
    places = allocation_list(random.Random(11), LATIN_SQUARE, ["A", "B"], 2, 10)
    for first, second in zip(places[::2], places[1::2], strict=True):
        assert {first.arm, second.arm} == {"A,B", "B,A"}


@pytest.mark.parametrize(
    ("names", "zones", "method", "message"),
    [
        (["A"], 1, LATIN_SQUARE, "at least two products"),
        (["A", "A"], 2, LATIN_SQUARE, "must differ"),
        (["A", "B", "C"], 2, LATIN_SQUARE, "as many zones as products"),
        (products(6), 6, PERMUTATIONS, "at most 5"),
        (["A", "B"], 2, "coin", "unknown split-body method"),
    ],
)
def test_a_design_that_cannot_balance_is_refused(names, zones, method, message):
    with pytest.raises(DesignError, match=message):
        allocation_list(random.Random(1), method, names, zones, 4)
