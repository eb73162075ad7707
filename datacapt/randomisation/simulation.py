"""Simulated trials, so a statistician can compare methods before go-live.

Each trial draws its subjects' factor levels from an RNG of its own (so every method meets the
same subjects) and each method draws arms from another (``seed/method/trial``): the same seed
always gives the same figures, and adding a method changes no other method's figures.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from datacapt.randomisation.methods import Arms, DesignError, Slot, blocks, efron, stratum_rng
from datacapt.randomisation.minimisation import MarginCounts, Minimisation, minimise

METHODS = ("simple", "block", "stratified", "efron", "minimisation")


@dataclass(frozen=True)
class Scenario:
    """What to simulate: arms, factors with their number of levels, trial size and count."""

    arms: Arms
    factors: tuple[tuple[str, int], ...]
    subjects: int
    trials: int
    seed: int
    block_sizes: tuple[int, ...] = ()
    efron_p: float = 2 / 3
    minimisation_p: float = 0.8
    measure: str = "range"

    def __post_init__(self) -> None:
        if self.subjects < 1 or self.trials < 1:
            raise DesignError("subjects and trials must be at least 1")
        if any(levels < 1 for _name, levels in self.factors):
            raise DesignError("every factor needs at least one level")
        if not self.block_sizes:
            total = self.arms.total
            object.__setattr__(self, "block_sizes", (2 * total, 4 * total))


@dataclass(frozen=True)
class Summary:
    """Final imbalances of one method over all trials: mean and max, overall, within each
    factor level (the margins minimisation balances) and within each stratum (all factors)."""

    method: str
    mean_overall: float
    max_overall: float
    mean_margins: float
    max_margins: float
    mean_strata: float
    max_strata: float


def spread(arms: Arms, counts: Mapping[str, int]) -> Fraction:
    """Imbalance between arms relative to the ratio: max − min of ``count / share`` (for 1:1,
    simply |nA − nB|), in whole numbers until the one division."""
    unit = math.lcm(*arms.ratio)
    adjusted = [
        counts.get(arm, 0) * (unit // share)
        for arm, share in zip(arms.names, arms.ratio, strict=True)
    ]
    return Fraction(max(adjusted) - min(adjusted), unit)


def _subjects(scenario: Scenario, trial: int) -> list[dict[str, str]]:
    rng = random.Random(f"{scenario.seed}/subjects/{trial}")
    return [
        {name: str(rng.randrange(levels)) for name, levels in scenario.factors}
        for _ in range(scenario.subjects)
    ]


def _stratum(levels: Mapping[str, str]) -> str:
    return "|".join(f"{name}={level}" for name, level in sorted(levels.items()))


def allocate(
    method: str, scenario: Scenario, subjects: Sequence[Mapping[str, str]], seed: str
) -> list[str]:
    """The arms ``method`` gives ``subjects`` in turn."""
    arms = scenario.arms
    rng = random.Random(seed)
    if method == "simple":
        return [arms.pick(rng) for _ in subjects]
    if method == "block":
        stream = blocks(rng, arms, scenario.block_sizes)
        return [next(stream).arm for _ in subjects]
    if method == "stratified":
        streams: dict[str, Iterator[Slot]] = {}
        result = []
        for levels in subjects:
            key = _stratum(levels)
            if key not in streams:
                streams[key] = blocks(stratum_rng(seed, key), arms, scenario.block_sizes)
            result.append(next(streams[key]).arm)
        return result
    if method == "efron":
        counts: Counter[str] = Counter()
        result = []
        for _ in subjects:
            arm = efron(rng, arms, counts, scenario.efron_p)
            counts[arm] += 1
            result.append(arm)
        return result
    if method == "minimisation":
        design = Minimisation(
            arms,
            tuple(name for name, _levels in scenario.factors),
            measure=scenario.measure,
            p=scenario.minimisation_p,
        )
        margins = MarginCounts()
        result = []
        for levels in subjects:
            arm = minimise(rng, design, margins, levels)
            margins.add(levels, arm)
            result.append(arm)
        return result
    raise DesignError(f"unknown method {method!r}: choose among {', '.join(METHODS)}")


def simulate(method: str, scenario: Scenario) -> Summary:
    """Run ``scenario.trials`` trials with ``method`` and summarise their final imbalances."""
    if method == "minimisation" and not scenario.factors:
        raise DesignError("minimisation needs at least one factor (--factors)")
    overall: list[Fraction] = []
    margins: list[Fraction] = []
    strata: list[Fraction] = []
    for trial in range(scenario.trials):
        subjects = _subjects(scenario, trial)
        arms = allocate(method, scenario, subjects, f"{scenario.seed}/{method}/{trial}")
        by_level: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        by_stratum: dict[str, Counter[str]] = defaultdict(Counter)
        for levels, arm in zip(subjects, arms, strict=True):
            for level in levels.items():
                by_level[level][arm] += 1
            by_stratum[_stratum(levels)][arm] += 1
        overall.append(spread(scenario.arms, Counter(arms)))
        margins.append(
            max((spread(scenario.arms, c) for c in by_level.values()), default=Fraction(0))
        )
        strata.append(max(spread(scenario.arms, c) for c in by_stratum.values()))

    def mean(values: list[Fraction]) -> float:
        return float(sum(values, Fraction(0)) / len(values))

    return Summary(
        method,
        mean(overall),
        float(max(overall)),
        mean(margins),
        float(max(margins)),
        mean(strata),
        float(max(strata)),
    )
