"""Pocock–Simon minimisation: hand-checkable cases as tables, a naive second implementation on
random sequences, and simulated trials against block and simple randomisation."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datacapt.randomisation.methods import Arms, DesignError
from datacapt.randomisation.minimisation import MarginCounts, Minimisation, minimise, scores
from datacapt.randomisation.simulation import Scenario, simulate

# (arms, ratio, factors, weights, measure, earlier subjects [(levels, arm)], new subject, arm)
# With p = 1 the preferred arm is certain whenever there is a single one.
CASES = [
    # One F already in A: a new F goes to B.
    (
        "AB",
        (1, 1),
        ("sex",),
        (1,),
        "range",
        [({"sex": "F"}, "A")],
        {"sex": "F"},
        "B",
    ),
    # A new M does not care about the F in A: nothing at level M, so any arm (checked below).
    # Three arms by range: A and B hold one F each, C none -> C.
    (
        "ABC",
        (1, 1, 1),
        ("sex",),
        (1,),
        "range",
        [({"sex": "F"}, "A"), ({"sex": "F"}, "B")],
        {"sex": "F"},
        "C",
    ),
    # 3:1:1: three in A and one in B are level with a ratio-adjusted 1, 1, 0 -> C.
    (
        "ABC",
        (3, 1, 1),
        ("sex",),
        (1,),
        "range",
        [({"sex": "F"}, "A")] * 3 + [({"sex": "F"}, "B")],
        {"sex": "F"},
        "C",
    ),
    # 3:1:1 with nobody yet: A's share is 3, so one in A costs a third of one in B or C.
    ("ABC", (3, 1, 1), ("sex",), (1,), "range", [], {"sex": "F"}, "A"),
    # Weights decide between factors that disagree: sex wants B, age wants A.
    (
        "AB",
        (1, 1),
        ("sex", "age"),
        (1, 0),
        "range",
        [({"sex": "F", "age": "old"}, "A"), ({"sex": "M", "age": "young"}, "B")],
        {"sex": "F", "age": "young"},
        "B",
    ),
    (
        "AB",
        (1, 1),
        ("sex", "age"),
        (0, 1),
        "range",
        [({"sex": "F", "age": "old"}, "A"), ({"sex": "M", "age": "young"}, "B")],
        {"sex": "F", "age": "young"},
        "A",
    ),
    # Two factors agree on B; the other measures choose as range does.
    *[
        (
            "AB",
            (1, 1),
            ("sex", "site"),
            (1, 1),
            measure,
            [({"sex": "F", "site": "1"}, "A"), ({"sex": "F", "site": "2"}, "A")],
            {"sex": "F", "site": "1"},
            "B",
        )
        for measure in ("variance", "sd", "max")
    ],
    # Variance against range on three arms: site 1 holds (2, 0, 0), sex F (0, 2, 1).
    # Range scores A 3+2=5, B 2+3=5, C 2+2=4 -> C; variance A 24/9+14/9, B 14/9+24/9, C 14/9+6/9.
    (
        "ABC",
        (1, 1, 1),
        ("site", "sex"),
        (1, 1),
        "variance",
        [({"site": "1", "sex": "M"}, "A")] * 2
        + [({"site": "2", "sex": "F"}, "B")] * 2
        + [({"site": "2", "sex": "F"}, "C")],
        {"site": "1", "sex": "F"},
        "C",
    ),
]


@pytest.mark.parametrize(
    ("names", "ratio", "factors", "weights", "measure", "history", "levels", "expected"), CASES
)
def test_hand_checked_cases(names, ratio, factors, weights, measure, history, levels, expected):
    design = Minimisation(Arms.of(list(names), ratio), factors, weights, measure, p=1)
    counts = MarginCounts.of(history)
    assert {minimise(random.Random(seed), design, counts, levels) for seed in range(20)} == {
        expected
    }


def test_scores_of_the_first_case_by_hand():
    design = Minimisation(Arms.of(["A", "B"]), ("sex",))
    assert scores(design, MarginCounts.of([({"sex": "F"}, "A")]), {"sex": "F"}) == {
        "A": 2,
        "B": 0,
    }


def test_ties_are_drawn_by_the_seeded_rng_weighted_by_the_ratio():
    """A new M meets nobody at its level: every arm ties, so the draw is by ratio alone."""
    design = Minimisation(Arms.of(["A", "B"], [1, 1]), ("sex",), p=1)
    counts = MarginCounts.of([({"sex": "F"}, "A")])
    picks = [minimise(random.Random(seed), design, counts, {"sex": "M"}) for seed in range(200)]
    assert 70 < picks.count("A") < 130
    assert picks == [minimise(random.Random(s), design, counts, {"sex": "M"}) for s in range(200)]


def test_p_below_one_sometimes_sends_the_subject_to_the_other_arm():
    design = Minimisation(Arms.of(["A", "B"]), ("sex",), p=0.8)
    counts = MarginCounts.of([({"sex": "F"}, "A")])
    rng = random.Random(5)
    picks = [minimise(rng, design, counts, {"sex": "F"}) for _ in range(5000)]
    assert 3800 < picks.count("B") < 4200


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"factors": ()}, "at least one factor"),
        ({"weights": (1, 2)}, "2 weights for 1 factors"),
        ({"weights": (-1,)}, "cannot be negative"),
        ({"measure": "median"}, "unknown imbalance 'median'"),
        ({"p": 1.5}, "between 0 and 1"),
    ],
)
def test_bad_designs_are_refused(kwargs, message):
    arguments = {"arms": Arms.of(["A", "B"]), "factors": ("sex",)} | kwargs
    with pytest.raises(DesignError, match=message):
        Minimisation(**arguments)


def test_a_subject_without_a_level_for_a_factor_is_refused():
    design = Minimisation(Arms.of(["A", "B"]), ("sex", "site"))
    with pytest.raises(DesignError, match="no level given for factor 'site'"):
        minimise(random.Random(1), design, MarginCounts(), {"sex": "F"})


def naive_minimise(rng, names, ratio, factors, weights, measure, p, history, levels):
    """The same rule written from its definition, recounting the whole history every time."""
    totals = {}
    for candidate in names:
        total = 0
        for factor, weight in zip(factors, weights, strict=True):
            x = []
            for arm, share in zip(names, ratio, strict=True):
                n = sum(
                    1 for past, given in history if given == arm and past[factor] == levels[factor]
                )
                if arm == candidate:
                    n += 1
                x.append(Fraction(n, share))
            mean = sum(x) / len(x)
            variance = sum((v - mean) ** 2 for v in x) / len(x)
            d = {
                "range": max(x) - min(x),
                "variance": variance,
                "sd": math.sqrt(variance),
                "max": max(abs(v - mean) for v in x),
            }[measure]
            total += Fraction(weight) * d if measure != "sd" else weight * d
        totals[candidate] = total
    low = min(totals.values())
    best = [a for a in names if math.isclose(totals[a], low, rel_tol=1e-9, abs_tol=1e-9)]
    share = dict(zip(names, ratio, strict=True))
    if len(best) < len(names):
        group = best if rng.random() < p else [a for a in names if a not in best]
    else:
        group = list(names)
    return rng.choices(group, weights=[share[a] for a in group])[0]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32),
    st.sampled_from([((1, 1)), ((2, 1)), ((1, 1, 1)), ((3, 1, 1))]),
    st.sampled_from(["range", "variance", "sd", "max"]),
    st.lists(st.integers(0, 3), min_size=2, max_size=2),
    st.floats(0.5, 1.0),
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1)), min_size=1, max_size=40),
)
def test_agrees_with_a_naive_implementation(seed, ratio, measure, weights, p, subjects):
    names = [chr(ord("A") + i) for i in range(len(ratio))]
    factors = ("site", "sex")
    design = Minimisation(Arms.of(names, ratio), factors, tuple(weights), measure, p)
    fast, slow = random.Random(seed), random.Random(seed)
    counts = MarginCounts()
    history = []
    for site, sex in subjects:
        levels = {"site": str(site), "sex": str(sex)}
        arm = minimise(fast, design, counts, levels)
        assert arm == naive_minimise(
            slow, names, ratio, factors, weights, measure, p, history, levels
        )
        counts.add(levels, arm)
        history.append((levels, arm))


def test_over_a_thousand_trials_minimisation_balances_better_than_blocks_and_chance():
    """Within the factors' levels (what it balances) minimisation beats unstratified blocks and
    chance; overall it beats chance (blocks, by construction, win overall)."""
    scenario = Scenario(
        Arms.of(["A", "B"]), (("site", 4), ("sex", 2)), subjects=21, trials=1000, seed=11
    )
    chance, block, minimised = (simulate(m, scenario) for m in ("simple", "block", "minimisation"))
    assert minimised.mean_margins < block.mean_margins < chance.mean_margins
    assert minimised.max_margins < block.max_margins
    assert block.mean_overall < minimised.mean_overall < chance.mean_overall
