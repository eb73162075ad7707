"""``datacapt randomisation simulate``: simulated trials to choose a randomisation design before
go-live. Pure computation: it reads no database and needs no configuration file."""

from __future__ import annotations

import argparse
from typing import Any

from datacapt.cli.bootstrap import CommandError, action_group
from datacapt.randomisation.methods import Arms, DesignError
from datacapt.randomisation.simulation import METHODS, Scenario, simulate


def _ratio(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(":"))
    except ValueError:
        raise CommandError(f"--ratio {text!r}: write whole numbers such as 2:1") from None


def _factors(text: str) -> tuple[tuple[str, int], ...]:
    factors = []
    for part in filter(None, text.split(",")):
        name, _, levels = part.partition(":")
        if not name or not levels.isdigit() or int(levels) < 1:
            raise CommandError(f"--factors {part!r}: write NAME:LEVELS such as sex:2")
        factors.append((name, int(levels)))
    if len({name for name, _levels in factors}) != len(factors):
        raise CommandError("--factors: each factor once")
    return tuple(factors)


def _sizes(text: str) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise CommandError(f"--block-sizes {text!r}: write whole numbers such as 4,6") from None


def simulate_command(_env: Any, args: argparse.Namespace) -> int:
    methods = [name.strip() for name in args.method.split(",")]
    unknown = [name for name in methods if name not in METHODS]
    if unknown:
        raise CommandError(f"--method {unknown[0]!r}: choose among {', '.join(METHODS)}")
    names = [name.strip() for name in args.arms.split(",")]
    try:
        arms = Arms.of(names, _ratio(args.ratio) if args.ratio else None)
        scenario = Scenario(
            arms,
            _factors(args.factors),
            subjects=args.subjects,
            trials=args.trials,
            seed=args.seed,
            block_sizes=_sizes(args.block_sizes),
            minimisation_p=args.p,
            measure=args.imbalance,
        )
        summaries = [simulate(method, scenario) for method in methods]
    except DesignError as error:
        raise CommandError(str(error)) from None
    ratio = ":".join(map(str, arms.ratio))
    print(
        f"{scenario.trials} trials of {scenario.subjects} subjects, arms {','.join(arms.names)} "
        f"{ratio}, factors {args.factors or '(none)'}, seed {scenario.seed}; "
        "final imbalance max−min of count/ratio, mean / max over trials"
    )
    width = max(len(method) for method in methods)
    for summary in summaries:
        print(
            f"{summary.method:<{width}}  overall {summary.mean_overall:.2f} / "
            f"{summary.max_overall:g}  factor levels {summary.mean_margins:.2f} / "
            f"{summary.max_margins:g}  strata {summary.mean_strata:.2f} / {summary.max_strata:g}"
        )
    return 0


def add_parsers(commands: Any) -> None:
    actions = action_group(commands, "randomisation", "randomisation designs")
    simulate_parser = actions.add_parser(
        "simulate",
        help="compare methods on simulated trials (mean and max final imbalance)",
    )
    simulate_parser.add_argument(
        "--method",
        default=",".join(METHODS),
        help=f"one or more of {', '.join(METHODS)}, comma-separated (default: all)",
    )
    simulate_parser.add_argument("--arms", default="A,B", help="arm names (default: A,B)")
    simulate_parser.add_argument("--ratio", default="", help="allocation ratio (default 1:1…)")
    simulate_parser.add_argument(
        "--factors",
        default="site:4,sex:2",
        help="stratification factors NAME:LEVELS (default: site:4,sex:2)",
    )
    simulate_parser.add_argument("--subjects", type=int, default=100, help="per trial")
    simulate_parser.add_argument("--trials", type=int, default=1000, help="number of trials")
    simulate_parser.add_argument("--seed", type=int, default=1, help="same seed, same figures")
    simulate_parser.add_argument(
        "--block-sizes", default="", help="block sizes (default: 2 and 4 times the ratio's sum)"
    )
    simulate_parser.add_argument(
        "--p", type=float, default=0.8, help="minimisation: probability of the preferred arm"
    )
    simulate_parser.add_argument(
        "--imbalance",
        default="range",
        choices=("range", "variance", "sd", "max"),
        help="minimisation's imbalance measure",
    )
    simulate_parser.set_defaults(handler=simulate_command, environment=False)
