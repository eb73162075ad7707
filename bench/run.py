"""``python -m bench.run -c bench/bench.ini``: the ceiling and every scenario in one go, one table.

The database must hold a generated study (``python -m bench.generate``). The bare view and the
app are served side by side by gunicorn with the production settings (``gunicorn.conf.py``, the
one not measured idle), locust drives them headless from this machine, and each scenario is given
beside the ceiling measured in the same round. ``--scenarios form,save`` runs some only (the
ceiling is always measured). With ``--rounds 3`` the ceiling and the single scenarios run in
turn three times: a shared machine's speed drifts by a fifth from one minute to the next, so a
cost is the ceiling's rate of a round over the scenario's rate of the same round, and the table
gives each round's and their median.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import requests
from sqlalchemy import exists, select

from bench.design import item_kind
from bench.generate import PASSWORD, coordinator_email, monitor_email
from bench.server import ROOT, serving
from datacapt.cli.bootstrap import load_environment
from datacapt.db import transaction_scope
from datacapt.ecrf.definition import form_items
from datacapt.ecrf.versions import published_design
from datacapt.models import (
    Site,
    StudyRoleAssignment,
    StudyRoleSite,
    Subject,
    User,
    VisitInstance,
)
from datacapt.studies.services import find_study, find_tenant

Item = TypeVar("Item")

SCENARIOS = ("form", "save", "dashboard", "dashboard-filtered", "mixed")
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SUBJECTS_PER_ACCOUNT = 300
CSRF = re.compile(r"X-CSRF-Token\W+([0-9a-f]{20,})")


# --- what the simulated users use ------------------------------------------------------------


def sign_in(base: str, email: str) -> dict[str, str]:
    """A session signed in through the login form: its cookie and CSRF token."""
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError("no CSRF token on the login page")
    signed = http.post(
        f"{base}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        allow_redirects=False,
        timeout=30,
    )
    if signed.status_code != 303:
        raise RuntimeError(f"sign-in of {email} answered {signed.status_code}")
    home = http.get(f"{base}/", timeout=30)
    fresh = CSRF.search(home.text)
    if fresh is None:
        raise RuntimeError("no CSRF token after sign-in")
    return {
        "cookie": f"datacapt_session={http.cookies['datacapt_session']}",
        "csrf": fresh.group(1),
    }


def make_plan(registry: Any, tenant_slug: str, study_code: str, base: str) -> dict[str, Any]:
    """Accounts signed in, the subjects each coordinator may open, forms never entered to save."""
    with transaction_scope(registry) as dbsession:
        tenant = find_tenant(dbsession, tenant_slug)
        study = find_study(dbsession, tenant, study_code) if tenant else None
        if study is None:
            raise SystemExit(f"no study {tenant_slug}/{study_code}: run python -m bench.generate")
        definition = published_design(dbsession, study).definition
        visits = definition.schedule.visits
        forms = {form.name: form for form in definition.forms}
        last = visits[-1]
        not_there = ~exists().where(
            VisitInstance.subject_id == Subject.id, VisitInstance.visit == last.name
        )
        coordinators = []
        number = 1
        while True:
            user = dbsession.scalar(
                select(User).where(User.email == coordinator_email(tenant_slug, number))
            )
            if user is None:
                break
            site_ids = list(
                dbsession.scalars(
                    select(StudyRoleSite.site_id)
                    .join(
                        StudyRoleAssignment, StudyRoleAssignment.id == StudyRoleSite.study_role_id
                    )
                    .where(StudyRoleAssignment.user_id == user.id)
                )
            )
            at_sites = select(Subject.label).where(
                Subject.study_id == study.id, Subject.site_id.in_(site_ids)
            )
            coordinators.append(
                {
                    "email": user.email,
                    "sites": list(
                        dbsession.scalars(select(Site.code).where(Site.id.in_(site_ids)))
                    ),
                    "subjects": list(
                        dbsession.scalars(at_sites.order_by(Subject.id).limit(SUBJECTS_PER_ACCOUNT))
                    ),
                    "targets": [
                        {"subject": label, "visit": last.name}
                        for label in dbsession.scalars(
                            at_sites.where(not_there).order_by(Subject.id.desc()).limit(120)
                        )
                    ],
                }
            )
            number += 1
        monitors = [
            {"email": monitor_email(tenant_slug, n)}
            for n in range(1, 6)
            if dbsession.scalar(select(User.id).where(User.email == monitor_email(tenant_slug, n)))
        ]
        sites = list(dbsession.scalars(select(Site.code).where(Site.study_id == study.id)))
    for account in (*coordinators, *monitors):
        account.update(sign_in(base, account["email"]))
    return {
        "tenant": tenant_slug,
        "study": study_code,
        "sites": sites,
        "coordinators": coordinators,
        "monitors": monitors,
        "read_visit": visits[0].name,
        "read_forms": visits[0].forms,
        "save_form": last.forms[0],
        "mixed_form": last.forms[1],
        "items": [
            {"name": item.name, "kind": item_kind(item)}
            for item in form_items(forms[last.forms[0]])
        ],
    }


# --- running locust ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


def locust(
    scenario: str,
    base: str,
    plan_path: str,
    users: int,
    seconds: int,
    out: Path,
    arrival: str = "spread",
    round_number: int = 1,
) -> list[Figures]:
    """One headless locust run; the figures of each request name and of all together (its CSV
    files named by scenario and round, kept apart with ``--keep``)."""
    prefix = out / f"{scenario}-{round_number}"
    environment = os.environ | {
        "BENCH_SCENARIO": scenario,
        "BENCH_ARRIVAL": arrival,
        "BENCH_PLAN": plan_path,
        "PYTHONPATH": str(ROOT),  # the locustfile imports bench.design
    }
    subprocess.run(  # noqa: S603 - our locust, our arguments
        [
            str(Path(sys.executable).with_name("locust")),
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--host",
            base,
            "-u",
            str(users),
            "-r",
            str(max(1, users // 10)),
            "-t",
            f"{seconds}s",
            "--stop-timeout",
            "10",
            "--csv",
            str(prefix),
            "--csv-full-history",  # the history's percentiles of the last 10 s, not cumulated
            "--only-summary",
            "--loglevel",
            "ERROR",
        ],
        env=environment,
        check=False,
        stdout=subprocess.DEVNULL,
    )
    with open(f"{prefix}_stats.csv", encoding="utf-8") as stats:
        return [
            Figures(
                row["Name"],
                int(row["Request Count"]),
                int(row["Failure Count"]),
                float(row["Requests/s"]),
                float(row["50%"]),
                float(row["95%"]),
                float(row["99%"]),
            )
            for row in csv.DictReader(stats)
        ]


def measured(figures: list[Figures], mixed: bool) -> list[Figures]:
    """What a scenario reports: its requests (not the set-up ones), and for the mixed workload
    every kind of request and all of them together."""
    named = [f for f in figures if f.name != "Aggregated" and not f.name.startswith("setup:")]
    if not mixed:
        return named
    total = next(f for f in figures if f.name == "Aggregated")
    return [*named, Figures("mixed workload, all requests", *_values(total))]


def _values(figures: Figures) -> tuple[int, int, float, float, float, float]:
    return (
        figures.requests,
        figures.failures,
        figures.rps,
        figures.p50,
        figures.p95,
        figures.p99,
    )


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A line of the table: a scenario's figures (its median round's for the single ones) and,
    but for the mixed workload, its cost in each round: the ceiling's rate that round over its."""

    users: int
    figures: Figures
    costs: tuple[float, ...] = ()


def rounds_row(users: int, ceilings: list[Figures], runs: list[Figures]) -> Row:
    """One scenario's rounds as a line: each round's cost beside the ceiling of that round, and
    the figures of the round whose cost is the median."""
    costs = tuple(c.rps / f.rps if f.rps else 0.0 for c, f in zip(ceilings, runs, strict=True))
    _cost, middle = _median(list(zip(costs, runs, strict=True)), key=lambda pair: pair[0])
    return Row(users, middle, costs)


def _median(items: Sequence[Item], key: Callable[[Item], float]) -> Item:
    """The item whose ``key`` is the median (the lower of the two middle ones when even)."""
    return sorted(items, key=key)[(len(items) - 1) // 2]


def table(ceilings: list[Figures], users: int, rows: list[Row]) -> str:
    """Markdown: each line's figures, its cost in bare requests (ceiling req/s ÷ req/s in the
    same round, the median of the rounds and each round's; not for the mixed workload, whose
    rate is set by think times) and its latencies as multiples of the bare view's (the
    ceiling's median round)."""
    ceiling = _median(ceilings, key=lambda figures: figures.rps)

    def ratio(value: float, bare: float) -> str:
        return f"{value / bare:.1f}" if value and bare else "–"

    lines = [
        "| scenario | users | requests | errors | req/s | p50 ms | p95 ms | p99 ms "
        "| cost × bare | each round | p50 × bare | p95 × bare |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    bare = (Row(users, ceiling, (1.0,)), ", ".join(f"{c.rps:.0f} req/s" for c in ceilings))
    others = [(row, ", ".join(f"{c:.1f}" for c in row.costs) or "–") for row in rows]
    for row, each in [bare, *others]:
        f = row.figures
        cost = f"{statistics.median(row.costs):.1f}" if row.costs else "–"
        lines.append(
            f"| {f.name} | {row.users} | {f.requests} | {f.failures} | {f.rps:.0f} | {f.p50:.0f} "
            f"| {f.p95:.0f} | {f.p99:.0f} | {cost} | {each} | {ratio(f.p50, ceiling.p50)} "
            f"| {ratio(f.p95, ceiling.p95)} |"
        )
    return "\n".join(lines)


def commit() -> str:
    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "unknown"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--config", default=str(ROOT / "bench" / "bench.ini"))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--study", default="big")
    parser.add_argument("--users", type=int, default=8, help="concurrent users per scenario")
    parser.add_argument("--seconds", type=int, default=30, help="length of each scenario")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="run the ceiling and the single scenarios in turn this many times (costs paired"
        " by round)",
    )
    parser.add_argument("--mixed-users", type=int, default=1000)
    parser.add_argument("--mixed-seconds", type=int, default=120)
    parser.add_argument(
        "--mixed-arrival",
        choices=("spread", "burst"),
        default="spread",
        help="the mixed workload's people start at a random point of their think time (spread), "
        "or each with a task as soon as spawned, 100 a second (burst)",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--port", type=int, default=6602, help="the app's; the ceiling's is -1")
    parser.add_argument(
        "--keep",
        metavar="FOLDER",
        help="keep locust's CSV files there (the last 10 s every second: *_stats_history.csv)",
    )
    args = parser.parse_args(argv)
    chosen = [name for name in args.scenarios.split(",") if name]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.rounds < 1:
        parser.error("--rounds: at least 1 (each cost needs a ceiling measured in its round)")
    config = str(Path(args.config).resolve())
    began = datetime.now(UTC)
    loads = [load_average()]
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    folder = nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory(prefix="bench-")
    with folder as scratch, ExitStack() as servers:
        out = Path(scratch)
        plan_path = str(out / "plan.json")
        bare = servers.enter_context(
            serving(["bench.ceiling:app"], args.port - 1, args.workers, "/hello")
        )
        single = [name for name in chosen if name != "mixed"]
        base = ""
        if chosen:
            env = load_environment(config)
            base = servers.enter_context(
                serving(["--paste", config], args.port, args.workers, "/login")
            )
            servers.callback(env.registry["db.engine"].dispose)
            plan = make_plan(env.registry, args.tenant, args.study, base)
            Path(plan_path).write_text(json.dumps(plan), encoding="utf-8")
        ceilings: list[Figures] = []
        runs: dict[str, list[list[Figures]]] = {name: [] for name in single}
        for number in range(1, args.rounds + 1):
            ceilings += measured(
                locust(
                    "ceiling", bare, plan_path, args.users, args.seconds, out, round_number=number
                ),
                False,
            )
            for scenario in single:
                figures = locust(
                    scenario, base, plan_path, args.users, args.seconds, out, round_number=number
                )
                runs[scenario].append(measured(figures, False))
                loads.append(load_average())
        rows = [
            rounds_row(args.users, ceilings, [run[index] for run in runs[scenario]])
            for scenario in single
            for index in range(len(runs[scenario][0]))
        ]
        if "mixed" in chosen:
            figures = locust(
                "mixed",
                base,
                plan_path,
                args.mixed_users,
                args.mixed_seconds,
                out,
                args.mixed_arrival,
            )
            rows += [Row(args.mixed_users, f) for f in measured(figures, True)]
            loads.append(load_average())
    print(
        f"{began:%Y-%m-%d %H:%M} UTC, commit {commit()}, {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}), {args.workers} gunicorn sync workers, "
        f"PostgreSQL; load average (1/5/15 min) before and after each scenario: "
        + " → ".join(loads)
    )
    print(
        f"ceiling and single scenarios: {args.users} users without think time, {args.seconds} s,"
        f" {args.rounds} round(s) in turn"
    )
    if "mixed" in chosen:
        print(f"mixed workload: {args.mixed_users} users, {args.mixed_arrival} arrival")
    print(table(ceilings, args.users, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
