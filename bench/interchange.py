"""``python -m bench.interchange``: design imports at the size where quadratic work shows.

Generates a REDCap data dictionary of 1,000 fields over 20 forms, ten of them drop-downs of
10,000 codes each (issue 15's target: imported in ≤ 5 s and ≤ 200 MB), then runs what an operator
runs, each in a process of its own against a throw-away SQLite database: ``datacapt study
import`` of the dictionary, ``datacapt study export --format odm`` of that draft, and ``datacapt
study import`` of that ODM file. Each step's wall time, CPU time and peak resident memory are
printed. ``--fields``, ``--lists`` and ``--codes`` change the size. Nothing is asserted; the
figures go in bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
from pathlib import Path

from bench.exports import Run, measured
from datacapt.design.interchange.redcap import HEADER

TENANT, STUDY = "bench", "imports"
FORMS = 20


def dictionary(fields: int, lists: int, codes: int) -> bytes:
    """A dictionary of ``fields`` fields, the first ``lists`` of them drop-downs of ``codes``
    codes; the others cycle through text, integer, date and notes."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    kinds = (("text", ""), ("text", "integer"), ("text", "date_dmy"), ("notes", ""))
    for number in range(fields):
        form = f"form_{number * FORMS // fields + 1:02d}"  # in order, as REDCap writes them
        row = dict.fromkeys(HEADER, "")
        row["Variable / Field Name"] = f"field_{number:04d}"
        row["Form Name"] = form
        row["Field Label"] = f"Question {number} of the generated dictionary"
        if number < lists:
            row["Field Type"] = "dropdown"
            row["Choices, Calculations, OR Slider Labels"] = " | ".join(
                f"{code}, Answer {code} of list {number}" for code in range(1, codes + 1)
            )
        else:
            row["Field Type"], row["Text Validation Type OR Show Slider Number"] = kinds[
                number % len(kinds)
            ]
        writer.writerow(row.values())
    return out.getvalue().encode("utf-8")


def datacapt(*arguments: str) -> list[str]:
    return [str(Path(sys.executable).with_name("datacapt")), "-c", "development.ini", *arguments]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.interchange", description=__doc__)
    parser.add_argument("--fields", type=int, default=1000)
    parser.add_argument("--lists", type=int, default=10)
    parser.add_argument("--codes", type=int, default=10_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        os.environ["DATACAPT_DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite'}"
        for step in (("db", "upgrade"), ("tenant", "create", TENANT, "Bench")):
            measured(" ".join(step), datacapt(*step), None)
        measured("study", datacapt("study", "create", TENANT, STUDY, "Imports"), None)
        redcap, odm = work / "dictionary.csv", work / "design-odm.xml"
        redcap.write_bytes(dictionary(args.fields, args.lists, args.codes))
        print(
            f"dictionary: {args.fields} fields, {args.lists} lists of {args.codes} codes, "
            f"{redcap.stat().st_size / 1e6:.1f} MB"
        )
        runs = [
            measured(
                "import REDCap dictionary",
                datacapt("study", "import", "--format", "redcap", TENANT, STUDY, str(redcap)),
                None,
            ),
            measured(
                "export ODM",
                datacapt(
                    "study",
                    "export",
                    "--format",
                    "odm",
                    "--version",
                    "1",
                    "-o",
                    str(odm),
                    TENANT,
                    STUDY,
                ),
                odm,
            ),
            measured(
                "import ODM",
                datacapt("study", "import", "--format", "odm", TENANT, STUDY, str(odm)),
                None,
            ),
        ]
    report(runs)
    return 0


def report(runs: list[Run]) -> None:
    print(f"{'step':<26} {'wall s':>7} {'CPU s':>7} {'peak MB':>8} {'file MB':>8}")
    for run in runs:
        size = f"{run.size_mb:.1f}" if run.size_mb is not None else ""
        print(
            f"{run.name:<26} {run.seconds:7.1f} {run.cpu_seconds:7.1f} {run.peak_mb:8.0f} {size:>8}"
        )


if __name__ == "__main__":
    sys.exit(main())
