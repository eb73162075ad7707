"""``python -m bench.profile -c bench/bench.ini --as EMAIL PATH``: where one request's time goes.

Signs in through the login form (in process, WebTest), requests PATH a few times, then prints
the SQL statements one request runs and a cProfile of it (sorted by cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time

import webtest
from pyramid.paster import get_app
from sqlalchemy import event

from bench.generate import PASSWORD
from datacapt.cli.bootstrap import load_environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("-c", "--config", default="bench/bench.ini")
    parser.add_argument("--as", dest="email", required=True)
    parser.add_argument("--times", type=int, default=20)
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("path")
    args = parser.parse_args(argv)
    load_environment(args.config)  # logging, and the same checks of the settings
    app = webtest.TestApp(get_app(args.config), extra_environ={"HTTP_HOST": "127.0.0.1"})
    form = app.get("/login").forms["login-form"]
    form["email"], form["password"] = args.email, PASSWORD
    assert form.submit().status_int == 303, "sign-in refused"
    app.get(args.path)  # warm: templates compiled, design parsed
    statements: list[str] = []
    engine = app.app.registry["db.engine"]
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    app.get(args.path)
    print(f"{len(statements)} SQL statements:")
    for statement in statements:
        print("  ", " ".join(statement.split())[:160])
    began = time.perf_counter()
    for _ in range(args.times):
        app.get(args.path)
    print(f"{(time.perf_counter() - began) / args.times * 1000:.1f} ms per request")
    began = time.perf_counter()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.times):
        app.get(args.path)
    profile.disable()
    print(f"{(time.perf_counter() - began) / args.times * 1000:.1f} ms per request (profiled)")
    pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(args.lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
