"""Randomisation methods: pure functions over a seeded ``random.Random``.

Nothing here touches the database: a list is a function of (design, seed), an adaptive choice a
function of (design, counts so far, RNG). The same inputs always give the same arms, which is what
lets a statistician re-create a list, a simulation be repeated, and a test check every rule.

Arms are given with a ratio (``("A", "B", "C")`` with ``(3, 1, 1)``); "balanced" always means
balanced *relative to the ratio*: counts are divided by each arm's share before comparing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction


class DesignError(ValueError):
    """A design that cannot produce a fair sequence (the message says which rule it breaks)."""


@dataclass(frozen=True)
class Arms:
    """The arms of a design and their allocation ratio."""

    names: tuple[str, ...]
    ratio: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.names) < 2:
            raise DesignError("a design needs at least two arms")
        if len(set(self.names)) != len(self.names):
            raise DesignError("arm names must differ")
        if len(self.ratio) != len(self.names):
            raise DesignError(f"the ratio has {len(self.ratio)} parts for {len(self.names)} arms")
        if any(part < 1 for part in self.ratio):
            raise DesignError("every part of the ratio must be a whole number of at least 1")

    @classmethod
    def of(cls, names: Sequence[str], ratio: Sequence[int] | None = None) -> Arms:
        return cls(tuple(names), tuple(ratio) if ratio is not None else (1,) * len(names))

    @property
    def total(self) -> int:
        return sum(self.ratio)

    def share(self, arm: str) -> int:
        return self.ratio[self.names.index(arm)]

    def pick(self, rng: random.Random, among: Sequence[str] | None = None) -> str:
        """One arm drawn with probability proportional to the ratio (one ``rng.random()``)."""
        candidates = list(among) if among is not None else list(self.names)
        return rng.choices(candidates, weights=[self.share(arm) for arm in candidates])[0]


def simple(rng: random.Random, arms: Arms, length: int) -> list[str]:
    """Each subject drawn independently with the ratio's probabilities."""
    return [arms.pick(rng) for _ in range(length)]


def check_block_sizes(arms: Arms, sizes: Sequence[int]) -> tuple[int, ...]:
    """The block sizes, refused unless each is a positive multiple of the ratio's sum (only
    then does every complete block hold the exact ratio)."""
    if not sizes:
        raise DesignError("give at least one block size")
    wrong = [size for size in sizes if size < 1 or size % arms.total]
    if wrong:
        raise DesignError(
            f"block size {wrong[0]} is not a multiple of {arms.total}, the sum of the ratio "
            + ":".join(map(str, arms.ratio))
        )
    return tuple(sizes)


@dataclass(frozen=True)
class Slot:
    """One place in a block list: the arm, and the block it belongs to (numbered from 1)."""

    arm: str
    block: int
    block_size: int


def blocks(rng: random.Random, arms: Arms, sizes: Sequence[int]) -> Iterator[Slot]:
    """Permuted blocks, endless: each block's size drawn uniformly from ``sizes`` (one size
    gives fixed blocks), holding each arm ``size / sum(ratio) * share`` times, shuffled."""
    sizes = check_block_sizes(arms, sizes)
    number = 0
    while True:
        number += 1
        size = sizes[0] if len(sizes) == 1 else rng.choice(sizes)
        repeat = size // arms.total
        content = [
            arm
            for arm, share in zip(arms.names, arms.ratio, strict=True)
            for _ in range(share * repeat)
        ]
        rng.shuffle(content)
        for arm in content:
            yield Slot(arm, number, size)


def block_list(rng: random.Random, arms: Arms, sizes: Sequence[int], length: int) -> list[Slot]:
    """The first ``length`` slots of a permuted-block sequence."""
    stream = blocks(rng, arms, sizes)
    return [next(stream) for _ in range(length)]


def stratum_rng(seed: int | str, stratum: str) -> random.Random:
    """The RNG of one stratum, derived from the design's seed and the stratum's key alone, so a
    stratum's sequence never depends on which other strata exist or how fast they fill."""
    return random.Random(f"{seed}/{stratum}")


def stratified_block_lists(
    seed: int | str, arms: Arms, sizes: Sequence[int], strata: Sequence[str], length: int
) -> dict[str, list[Slot]]:
    """One independent permuted-block list of ``length`` slots per stratum."""
    return {
        stratum: block_list(stratum_rng(seed, stratum), arms, sizes, length) for stratum in strata
    }


def efron(rng: random.Random, arms: Arms, counts: dict[str, int], p: float = 2 / 3) -> str:
    """Efron's biased coin, generalised to any ratio and number of arms.

    The arms furthest behind (least ``count / share``) are preferred: with probability ``p`` the
    subject goes to one of them, otherwise to one of the others (each group drawn by ratio).
    When all arms are level the draw is simply by ratio. Two RNG calls when there is a
    preference, one when there is none.
    """
    behind = least(arms, {arm: Fraction(counts.get(arm, 0), arms.share(arm)) for arm in arms.names})
    return biased_pick(rng, arms, behind, p)


def least(arms: Arms, scores: dict[str, Fraction | float]) -> list[str]:
    lowest = min(scores.values())
    return [arm for arm in arms.names if _same(scores[arm], lowest)]


def _same(a: Fraction | float, b: Fraction | float) -> bool:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a == b
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)), abs(float(b)))


def biased_pick(rng: random.Random, arms: Arms, preferred: list[str], p: float) -> str:
    """The documented tie and preference rule shared by Efron and minimisation: if every arm is
    preferred, draw by ratio; otherwise one ``rng.random()`` decides (below ``p``: the preferred
    group), then a ratio-weighted draw within the chosen group breaks ties."""
    if len(preferred) == len(arms.names):
        return arms.pick(rng)
    if rng.random() < p:
        return arms.pick(rng, preferred)
    return arms.pick(rng, [arm for arm in arms.names if arm not in preferred])
