"""``datacapt randomisation simulate`` as a statistician runs it: no configuration file, one line
per method, the same figures for the same seed, one-line refusals with exit code 2."""

from __future__ import annotations

import re

import pytest

from datacapt.cli import main

SMALL = ["--subjects", "30", "--trials", "50"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["-c", "/nonexistent.ini", "randomisation", "simulate", *args])
    except SystemExit as usage:
        code = usage.code
    out, err = capsys.readouterr()
    return code, out, err


def figures(line: str) -> list[float]:
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?", line.split(maxsplit=1)[1])]


def test_one_line_per_method_and_the_same_seed_gives_the_same_figures(capsys):
    code, out, err = run(capsys, *SMALL, "--seed", "5")
    assert code == 0 and not err
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == [
        "simple",
        "block",
        "stratified",
        "efron",
        "minimisation",
    ]
    assert "50 trials of 30 subjects, arms A,B 1:1, factors site:4,sex:2, seed 5" in lines[0]
    assert run(capsys, *SMALL, "--seed", "5")[1] == out
    assert run(capsys, *SMALL, "--seed", "6")[1] != out


def test_a_method_alone_prints_the_figures_it_prints_among_others(capsys):
    everything = run(capsys, *SMALL)[1].splitlines()
    alone = run(capsys, *SMALL, "--method", "efron")[1].splitlines()
    assert len(alone) == 2
    assert figures(alone[1]) == figures(next(x for x in everything if x.startswith("efron")))


def test_stratified_blocks_keep_every_stratum_within_half_the_largest_block(capsys):
    _code, out, _err = run(
        capsys, *SMALL, "--method", "stratified", "--block-sizes", "2,4", "--factors", "sex:2"
    )
    _mean, max_overall, _ml, _mm, _ms, max_strata = figures(out.splitlines()[1])
    assert max_strata <= 2
    assert max_overall <= 4


def test_three_arms_with_an_unequal_ratio(capsys):
    code, out, _err = run(
        capsys, *SMALL, "--arms", "A,B,C", "--ratio", "2:1:1", "--method", "block,minimisation"
    )
    assert code == 0
    assert "arms A,B,C 2:1:1" in out
    assert len(out.splitlines()) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "coin"], "--method 'coin': choose among simple, block"),
        (["--arms", "A"], "a design needs at least two arms"),
        (["--arms", "A,B,C", "--ratio", "1:1"], "the ratio has 2 parts for 3 arms"),
        (["--ratio", "1:x"], "--ratio '1:x': write whole numbers"),
        (["--block-sizes", "3"], "block size 3 is not a multiple of 2"),
        (["--factors", "site"], "--factors 'site': write NAME:LEVELS"),
        (["--factors", "", "--method", "minimisation"], "minimisation needs at least one factor"),
        (["--subjects", "0"], "subjects and trials must be at least 1"),
        (["--p", "2", "--method", "minimisation"], "p must lie between 0 and 1"),
        (["--subjects", "many"], "argument --subjects: invalid int value"),
        (["--imbalance", "median"], "argument --imbalance: invalid choice"),
    ],
)
def test_bad_arguments_are_one_line_with_exit_code_2(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2 and not out
    assert err.count("\n") == 1 and message in err
