"""Pocock–Simon minimisation over a seeded RNG.

For a new subject with one level per factor, each arm is tried in turn: the subject is added to
that arm, and for every factor the counts of earlier subjects *at the subject's level* are divided
by each arm's share of the ratio and measured by the chosen imbalance; the weighted sum over
factors is that arm's score. The arms with the lowest score are preferred and the subject goes to
one of them with probability ``p`` (see :func:`methods.biased_pick` for the draw and ties).

Imbalance of the ratio-adjusted counts ``x``: ``range`` max − min; ``variance`` the population
variance; ``sd`` its square root; ``max`` the largest distance from their mean. Range, variance and
max are exact fractions, so ties are exact; ``sd`` is a float compared within 1e-9.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from datacapt.randomisation.methods import Arms, DesignError, biased_pick, least

MEASURES = ("range", "variance", "sd", "max")


def _scaled_imbalance(measure: str, values: Sequence[int]) -> int | float:
    """The imbalance of ``values`` (ratio-adjusted counts multiplied by a common whole
    number, so the arithmetic stays in integers) times :func:`_scale`."""
    if measure == "range":
        return max(values) - min(values)
    total, arms = sum(values), len(values)
    if measure == "max":
        return max(abs(arms * value - total) for value in values)
    squares = sum((arms * value - total) ** 2 for value in values)
    return math.sqrt(squares) if measure == "sd" else squares


def _scale(measure: str, arms: int, unit: int) -> Fraction | float:
    """What :func:`_scaled_imbalance` is multiplied by, for counts multiplied by ``unit``."""
    if measure == "range":
        return Fraction(unit)
    if measure == "max":
        return Fraction(arms * unit)
    if measure == "variance":
        return Fraction(arms**3 * unit**2)
    return arms**1.5 * unit


@dataclass(frozen=True)
class Minimisation:
    """A minimisation design: arms and ratio, factors with their weights, measure and ``p``."""

    arms: Arms
    factors: tuple[str, ...]
    weights: tuple[Fraction, ...] = ()
    measure: str = "range"
    p: float = 0.8

    def __post_init__(self) -> None:
        if not self.factors:
            raise DesignError("minimisation needs at least one factor")
        if not self.weights:
            object.__setattr__(self, "weights", (Fraction(1),) * len(self.factors))
        object.__setattr__(self, "weights", tuple(Fraction(w) for w in self.weights))
        if len(self.weights) != len(self.factors):
            raise DesignError(f"{len(self.weights)} weights for {len(self.factors)} factors")
        if any(weight < 0 for weight in self.weights):
            raise DesignError("factor weights cannot be negative")
        if self.measure not in MEASURES:
            raise DesignError(
                f"unknown imbalance {self.measure!r}: choose one of {', '.join(MEASURES)}"
            )
        if not 0 <= self.p <= 1:
            raise DesignError("p must lie between 0 and 1")


@dataclass
class MarginCounts:
    """How many subjects of each factor level went to each arm (the minimisation's memory)."""

    by_level: dict[tuple[str, str], dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    def add(self, levels: Mapping[str, str], arm: str) -> None:
        for factor, level in levels.items():
            self.by_level[factor, level][arm] += 1

    @classmethod
    def of(cls, history: Sequence[tuple[Mapping[str, str], str]]) -> MarginCounts:
        counts = cls()
        for levels, arm in history:
            counts.add(levels, arm)
        return counts


def scores(
    design: Minimisation, counts: MarginCounts, levels: Mapping[str, str]
) -> dict[str, Fraction | float]:
    """Each arm's weighted imbalance were the subject given to it."""
    arms = design.arms
    missing = [factor for factor in design.factors if factor not in levels]
    if missing:
        raise DesignError(f"no level given for factor {missing[0]!r}")
    unit = math.lcm(*arms.ratio)
    units = [unit // share for share in arms.ratio]
    weights = [int(w) if w.denominator == 1 else w for w in design.weights]
    at_levels = [
        [counts.by_level.get((factor, levels[factor]), {}).get(arm, 0) for arm in arms.names]
        for factor in design.factors
    ]
    scale = _scale(design.measure, len(arms.names), unit)
    result: dict[str, Fraction | float] = {}
    for index, candidate in enumerate(arms.names):
        total: int | float | Fraction = 0
        for weight, at_level in zip(weights, at_levels, strict=True):
            adjusted = [
                (count + (arm == index)) * share_unit
                for arm, (count, share_unit) in enumerate(zip(at_level, units, strict=True))
            ]
            total += weight * _scaled_imbalance(design.measure, adjusted)
        result[candidate] = total / scale
    return result


def minimise(
    rng: random.Random, design: Minimisation, counts: MarginCounts, levels: Mapping[str, str]
) -> str:
    """The arm for a subject with ``levels``, given the counts of the subjects before."""
    return biased_pick(
        rng, design.arms, least(design.arms, scores(design, counts, levels)), design.p
    )
