"""``python -m bench.bounded_input``: what a hostile pattern, number or e-mail costs, in process.

Python's backtracking ``re`` (what patterns ran with before) beside RE2 (``datacapt.patterns``),
and the number and e-mail paths of ``parse_value``. Figures are printed, never asserted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from datacapt.design.interchange.redcap import markdown_text
from datacapt.ecrf.definition import Item, ItemType, Validation
from datacapt.ecrf.values import EMAIL, parse_value
from datacapt.patterns import MAX_MATCHED, matches


def timed(operation: Callable[[], object], repeat: int = 1) -> float:
    """Milliseconds per call, the best of ``repeat``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        operation()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def text_item(validation: Validation, **options: object) -> Item:
    return Item(
        oid="I.X", name="x", type=ItemType.TEXT, label={"en": "X"}, validation=validation, **options
    )


def main() -> None:
    evil = re.compile("(a+)+b")
    print("(a+)+b against 'a' * n + '!'")
    for n in (18, 20, 22):
        text = "a" * n + "!"
        print(f"  python re   n={n:5}  {timed(lambda t=text: evil.fullmatch(t)):10.1f} ms")
    for n in (27, MAX_MATCHED - 1):
        text = "a" * n + "!"
        took = timed(lambda t=text: matches("(a+)+b", t), 100)
        print(f"  re2         n={n:5}  {took:10.3f} ms")
    item = text_item(Validation.REGEX, pattern="(a+)+b", max_length=20000)
    took = timed(lambda: parse_value(item, ["a" * 19_999 + "!"]), 100)
    print(f"  parse_value of 20,000 characters (refused by length): {took:.3f} ms")

    address = "a" * 60 + "@" + "b." * 1970
    python_email = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
    print(f"e-mail pattern, {len(address)} characters")
    print(f"  python re   {timed(lambda: python_email.match(address + ' '), 3):10.1f} ms")
    cut = address[: MAX_MATCHED - 1] + " "
    print(f"  re2 on {len(cut)} {timed(lambda: matches(EMAIL, cut), 100):10.3f} ms")
    email = text_item(Validation.EMAIL)
    print(f"  parse_value {timed(lambda: parse_value(email, [address]), 100):10.3f} ms (by length)")

    number = text_item(Validation.NUMBER)
    for typed in ("1E+150000000", "1E+1000000", "9" * 3999, "1_000"):
        parsed = parse_value(number, [typed])
        took = timed(lambda t=typed: parse_value(number, [t]), 100)
        print(f"number {typed[:14]:14}  {took:8.3f} ms  refused: {parsed.error is not None}")

    for unit in ("<a ", "<!--"):
        cell = "<b>x</b>" + unit * 8000
        took = timed(lambda c=cell: markdown_text(c), 3)
        print(f"REDCap label of {len(cell)} characters, {unit!r} repeated: {took:8.1f} ms")


if __name__ == "__main__":
    main()
