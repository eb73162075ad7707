"""``bench.profile --areas`` names where each profiled function lives."""

from __future__ import annotations

import cProfile
import io
import pstats
from contextlib import redirect_stdout
from pathlib import Path

import datacapt
from bench.profile import area, print_areas


def test_a_function_is_placed_in_its_package_its_library_or_the_templates():
    project = Path(datacapt.__file__).resolve().parent
    assert area(str(project / "ecrf" / "runtime.py")) == "datacapt.ecrf"
    assert area(str(project / "db.py")) == "datacapt"
    assert area(str(project.parent / "tests" / "unit" / "test_db.py")) == "python"
    assert area("/venv/lib/python3.11/site-packages/sqlalchemy/orm/loading.py") == "sqlalchemy"
    assert area("/venv/lib/python3.11/site-packages/datacapt/ecrf/runtime.py") == "datacapt"
    assert area("<sqlalchemy generated _go() wrapper for Session.commit>") == "sqlalchemy"
    assert area("/src/templates/ecrf/_form.jinja2") == "templates"
    assert area("/usr/lib/python3.11/urllib/parse.py") == "python"


def counting(words: list[str]) -> int:
    return sum(len(word) for word in words)


def test_built_in_calls_count_in_their_callers_area():
    profile = cProfile.Profile()
    profile.enable()
    counting(["word"] * 100)
    profile.disable()
    printed = io.StringIO()
    with redirect_stdout(printed):
        print_areas(pstats.Stats(profile), times=1)
    rows = {line.split()[0]: line.split()[1:] for line in printed.getvalue().splitlines()[1:]}
    assert "~" not in rows
    assert int(rows["python"][0]) >= 200  # the generator's steps and the 100 calls of len
