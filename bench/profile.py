"""``python -m bench.profile -c bench/bench.ini --as EMAIL PATH``: where one request's time goes.

Signs in through the login form (in process, WebTest), requests PATH a few times, then prints
the SQL statements one request runs, the wall and CPU time of a request (with ``--batches``:
the median batch and the fastest, the least disturbed on a shared machine), and a cProfile of
it (sorted by cumulative time) with its number of Python function calls per request, which
does not depend on the machine's load. With
``--save``, PATH is a form and each request saves it with new values for all its items, as the
save scenario does.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import webtest
from pyramid.paster import get_app
from sqlalchemy import event

import datacapt
from bench.design import item_kind, new_values
from bench.generate import PASSWORD
from datacapt.cli.bootstrap import load_environment
from datacapt.db import transaction_scope
from datacapt.ecrf.definition import form_items
from datacapt.ecrf.versions import published_design
from datacapt.studies.services import find_study, find_tenant

LOCK = re.compile(r'name="lock" value="(\d*)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("-c", "--config", default="bench/bench.ini")
    parser.add_argument("--as", dest="email", required=True)
    parser.add_argument("--times", type=int, default=20)
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument(
        "--batches",
        type=int,
        default=1,
        help="time this many batches of --times requests: the median, and the fastest batch"
        " (on a shared machine the least disturbed)",
    )
    parser.add_argument("--save", action="store_true", help="save the form PATH names")
    parser.add_argument(
        "--sort",
        default="cumulative",
        help="order of the profile's lines: cumulative, or tottime (each function's own time)",
    )
    parser.add_argument(
        "--areas",
        action="store_true",
        help="also group the profile's own time and calls by area (package, templates, library)",
    )
    parser.add_argument("path")
    args = parser.parse_args(argv)
    load_environment(args.config)  # logging, and the same checks of the settings
    app = webtest.TestApp(get_app(args.config), extra_environ={"HTTP_HOST": "127.0.0.1"})
    form = app.get("/login").forms["login-form"]
    form["email"], form["password"] = args.email, PASSWORD
    assert form.submit().status_int == 303, "sign-in refused"
    request = saving(app, args.path) if args.save else lambda: app.get(args.path)
    request()  # warm: templates compiled, design parsed
    statements: list[str] = []
    engine = app.app.registry["db.engine"]

    def listener(*arguments: Any) -> None:
        statements.append(arguments[2])

    event.listen(engine, "before_cursor_execute", listener)
    request()
    event.remove(engine, "before_cursor_execute", listener)  # not in the timings and profile
    print(f"{len(statements)} SQL statements:")
    for statement in statements:
        print("  ", " ".join(statement.split())[:160])
    walls, cpus = [], []
    for _ in range(args.batches):
        began, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.times):
            request()
        walls.append((time.perf_counter() - began) / args.times * 1000)
        cpus.append((time.process_time() - cpu) / args.times * 1000)
    print(
        f"{statistics.median(walls):.1f} ms per request,"
        f" {statistics.median(cpus):.1f} ms of this process's CPU (the database's aside)"
        + (f"; fastest batch {min(cpus):.1f} ms of CPU" if args.batches > 1 else "")
    )
    began = time.perf_counter()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.times):
        request()
    profile.disable()
    calls = pstats.Stats(profile).total_calls
    print(
        f"{(time.perf_counter() - began) / args.times * 1000:.1f} ms per request (profiled),"
        f" {calls / args.times:.0f} Python function calls per request"
    )
    pstats.Stats(profile, stream=sys.stdout).sort_stats(args.sort).print_stats(args.lines)
    if args.areas:
        print_areas(pstats.Stats(profile), args.times)
    return 0


#: The project's own packages by the folder they are loaded from (whatever the checkout's name).
PACKAGES = {
    "datacapt": f"{Path(datacapt.__file__).resolve().parent}/",
    "bench": f"{Path(__file__).resolve().parent}/",
}


def area(filename: str) -> str:
    """Where a profiled function lives: a package of the project, its templates, or a library
    (``webtest`` and ``bench`` are the client's side, not the server's)."""
    if filename.endswith((".jinja2", ".html")):
        return "templates"
    if filename.startswith("<sqlalchemy"):
        return "sqlalchemy"
    for root, folder in PACKAGES.items():
        if filename.startswith(folder):
            rest = filename[len(folder) :].split("/")
            return f"{root}.{rest[0].removesuffix('.py')}" if len(rest) > 1 else root
    parts = filename.split("/")
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    return "python"


def print_areas(stats: pstats.Stats, times: int) -> None:
    """Own time and calls per request by area, the largest first; a built-in function (``len``,
    ``isinstance``, a C method) counts in the area of the code that called it."""
    totals: dict[str, list[float]] = {}

    def add(name: str, calls: float, own: float) -> None:
        total = totals.setdefault(name, [0, 0.0])
        total[0] += calls
        total[1] += own

    for (filename, _line, _name), (_cc, calls, own, _cum, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if filename != "~":
            add(area(filename), calls, own)
            continue
        for (caller, _l, _n), (_ccc, caller_calls, caller_own, _ct) in callers.items():
            add(area(caller), caller_calls, caller_own)
    print(f"{'area':<24}{'calls':>8}{'own ms':>9}   per request; built-ins in their caller's area")
    for name, (calls, own) in sorted(totals.items(), key=lambda entry: -entry[1][1]):
        print(f"{name:<24}{calls / times:>8.0f}{own / times * 1000:>9.2f}")


def saving(app: webtest.TestApp, path: str) -> Callable[[], Any]:
    """One save of the form at ``path`` per call, with new values for every item."""
    tenant_slug, study_code, *_rest, form_name = path.strip("/").split("/")
    with transaction_scope(app.app.registry) as dbsession:
        tenant = find_tenant(dbsession, tenant_slug)
        study = find_study(dbsession, tenant, study_code) if tenant else None
        design = published_design(dbsession, study) if study else None
        form = design.definition.form(form_name) if design else None
        if form is None:
            raise SystemExit(f"no form at {path}")
        items = [{"name": item.name, "kind": item_kind(item)} for item in form_items(form)]
    rng = random.Random(7)
    page = app.get(path).text
    state = {"lock": LOCK.search(page).group(1), "csrf": CSRF.search(page).group(1)}
    signed_in = dict(app.cookies)

    def save() -> Any:
        data = new_values(items, rng) | {"csrf_token": state["csrf"], "lock": state["lock"]}
        response = app.post(path + "@@save", data, status=[303, 409])
        for name, value in signed_in.items():  # each save's "Saved." unread, as under load
            app.set_cookie(name, value)
        if response.status_int == 409:  # a first save raises the lock twice (SDV status)
            state["lock"] = LOCK.search(app.get(path).text).group(1)
            return save()
        state["lock"] = str(int(state["lock"] or 0) + 1)
        return response

    save()  # a first save of a form may raise its lock twice: the next one finds out
    save()
    return save


if __name__ == "__main__":
    sys.exit(main())
