"""Split-body (side-by-side) allocation: pure functions over a seeded ``random.Random``.

Dermatology and cosmetics studies compare products on zones of one subject (left and right
cheek, forearm sites A–D). Each subject receives every product once, one per zone, in an order
the list decides; balance means that, over each complete block of subjects, every product is
applied to every zone equally often, so a zone's effect cannot pass for a product's.

- :func:`latin_squares`: each block is a random Latin square of ``k`` rows (subjects) × ``k``
  columns (zones): every product exactly once in every zone per block of ``k`` subjects. The
  square is the cyclic one with its rows, columns and symbols permuted at random.
- :func:`permutation_blocks`: each block holds every one of the ``k!`` orders once, shuffled:
  every product ``(k-1)!`` times in every zone per block (and every order equally often).

As with the arms' lists, a list is a function of (products, seed) alone.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from datacapt.randomisation.methods import DesignError

#: ``k!`` orders per block: 5 products make blocks of 120 subjects, more would never complete.
MAX_PERMUTED = 5
LATIN_SQUARE = "latin_square"
PERMUTATIONS = "permutations"


@dataclass(frozen=True)
class Allocation:
    """One subject's place: the product of each zone (in zone order) and its block."""

    products: tuple[str, ...]
    block: int
    block_size: int

    @property
    def arm(self) -> str:
        """How a list slot stores it: the products' codes joined by commas."""
        return ",".join(self.products)


def check(products: Sequence[str], zones: int, method: str) -> tuple[str, ...]:
    """The products, refused unless there are as many as zones, at least two, all distinct."""
    if len(products) < 2:
        raise DesignError("a split-body design needs at least two products")
    if len(set(products)) != len(products):
        raise DesignError("product codes must differ")
    if len(products) != zones:
        raise DesignError("give as many zones as products")
    if method == PERMUTATIONS and len(products) > MAX_PERMUTED:
        raise DesignError("at most 5 products for blocks of every order")
    return tuple(products)


def latin_square(rng: random.Random, size: int) -> list[list[int]]:
    """A random ``size`` × ``size`` Latin square over ``range(size)``: the cyclic square with
    its rows, its columns and its symbols each permuted by ``rng``."""
    rows, columns, symbols = list(range(size)), list(range(size)), list(range(size))
    rng.shuffle(rows)
    rng.shuffle(columns)
    rng.shuffle(symbols)
    return [[symbols[(row + column) % size] for column in columns] for row in rows]


def latin_squares(rng: random.Random, products: Sequence[str]) -> Iterator[Allocation]:
    """Endless blocks of ``k`` subjects, each block a fresh random Latin square."""
    size = len(products)
    number = 0
    while True:
        number += 1
        for row in latin_square(rng, size):
            yield Allocation(tuple(products[symbol] for symbol in row), number, size)


def permutation_blocks(rng: random.Random, products: Sequence[str]) -> Iterator[Allocation]:
    """Endless blocks of ``k!`` subjects: every order of the products once, shuffled."""
    orders = list(itertools.permutations(products))
    number = 0
    while True:
        number += 1
        block = list(orders)
        rng.shuffle(block)
        for order in block:
            yield Allocation(tuple(order), number, len(orders))


def block_size(method: str, products: int) -> int:
    return products if method == LATIN_SQUARE else math.factorial(products)


def allocation_list(
    rng: random.Random, method: str, products: Sequence[str], zones: int, length: int
) -> list[Allocation]:
    """The first ``length`` places of a split-body list (``method``: :data:`LATIN_SQUARE` or
    :data:`PERMUTATIONS`)."""
    products = check(products, zones, method)
    if method == LATIN_SQUARE:
        stream = latin_squares(rng, products)
    elif method == PERMUTATIONS:
        stream = permutation_blocks(rng, products)
    else:
        raise DesignError(f"unknown split-body method {method!r}")
    return [next(stream) for _ in range(length)]
