"""``bench.run`` pairs each scenario's rate with the ceiling's of the same round."""

from __future__ import annotations

import pytest

from bench.run import Figures, Row, main, rounds_row, table


def figures(name: str, rps: float, p95: float = 10.0) -> Figures:
    return Figures(name, int(rps * 30), 0, rps, p95 / 2, p95, p95 * 2)


def test_a_cost_is_the_ceilings_rate_of_its_round_over_the_scenarios():
    ceilings = [figures("bare", 3000), figures("bare", 2000), figures("bare", 2500)]
    runs = [figures("form", 300), figures("form", 250), figures("form", 200)]
    row = rounds_row(8, ceilings, runs)
    assert row.costs == (10.0, 8.0, 12.5)
    assert row.figures is runs[0]  # the round whose cost is the median


def test_the_table_gives_the_median_cost_and_each_rounds():
    ceilings = [figures("bare", 3000, p95=4), figures("bare", 2000, p95=6)]
    runs = [figures("form", 300), figures("form", 250)]
    mixed = Row(1000, figures("mixed workload, all requests", 90))
    lines = table(ceilings, 8, [rounds_row(8, ceilings, runs), mixed]).splitlines()
    bare, form, everyone = (line.split(" | ") for line in lines[2:])
    assert bare[4] == "2000"  # the ceiling's median round (the lower of two)
    assert bare[9] == "3000 req/s, 2000 req/s"
    assert form[8:10] == ["9.0", "10.0, 8.0"]
    assert form[11].rstrip(" |") == "1.7"  # p95 10 ms over the median ceiling's 6 ms
    assert everyone[8:10] == ["–", "–"]  # a rate set by think times has no cost


def test_no_rounds_is_refused_before_anything_is_served(capsys):
    with pytest.raises(SystemExit) as refused:
        main(["--rounds", "0"])
    assert refused.value.code == 2
    assert "--rounds: at least 1" in capsys.readouterr().err
