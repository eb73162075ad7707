"""``python -m bench.exports -c bench/bench.ini``: every export format of the generated study,
each as the operator runs it (``datacapt export`` in a process of its own), with its wall time
its CPU time (which a busy machine does not inflate as it does the wall time) and the peak
resident memory of that process, beside the bare ceiling of the same run: the
same values read by ``psql``'s ``COPY … TO STDOUT`` into nothing, which no export can beat.

``--formats csv,sas`` runs some only. Nothing is asserted; the figures go in bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from datacapt.cli.bootstrap import load_environment
from datacapt.exports.options import ExportFormat
from datacapt.exports.services import SUFFIXES

ROOT = Path(__file__).resolve().parent.parent
#: The long values joined as every export joins them: what the ceiling reads.
CEILING_SQL = """
COPY (
  SELECT subject.label, site.code, form_instance.visit, form_instance.visit_repeat,
         form_instance.form, form_instance.repeat, item_value.item_oid, item_value.value,
         item_value.missing_code, item_value.updated_at
  FROM form_instance
  JOIN subject ON subject.id = form_instance.subject_id
  JOIN site ON site.id = form_instance.site_id
  JOIN study ON study.id = form_instance.study_id
  JOIN tenant ON tenant.id = study.tenant_id
  LEFT JOIN item_value ON item_value.form_instance_id = form_instance.id
  WHERE tenant.slug = '{tenant}' AND study.code = '{study}'
  ORDER BY subject.label, form_instance.visit_instance_id, form_instance.form,
           form_instance.repeat, form_instance.id, item_value.id
) TO STDOUT
"""


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    cpu_seconds: float
    peak_mb: float
    size_mb: float | None
    said: str


def measured(name: str, command: list[str], output: Path | None) -> Run:
    """Run ``command`` to its end: its wall time and the peak RSS of its process (``wait4``)."""
    with tempfile.TemporaryFile() as said_file:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - our own command with our own arguments
            command, cwd=ROOT, stdout=said_file, stderr=subprocess.STDOUT
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        said_file.seek(0)
        said = said_file.read().decode(errors="replace").strip()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed: {said[-2000:]}")
    size = output.stat().st_size / 1e6 if output is not None else None
    cpu = usage.ru_utime + usage.ru_stime
    last = said.splitlines()[-1] if said else ""
    return Run(name, seconds, cpu, usage.ru_maxrss / 1024, size, last)


def ceiling(config: str, tenant: str, study: str) -> Run:
    env = load_environment(config)
    url = make_url(env.registry.settings["sqlalchemy.url"])
    command = ["psql", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
    command += ["-U", url.username or "postgres", "-d", url.database or "", "-q", "-o", "/dev/null"]
    command += ["-c", " ".join(CEILING_SQL.format(tenant=tenant, study=study).split())]
    return measured("bare ceiling: psql COPY of the values", command, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", default="bench/bench.ini")
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--study", default="big")
    parser.add_argument("--formats", default=",".join(f.value for f in ExportFormat))
    args = parser.parse_args(argv)
    runs = [ceiling(args.config, args.tenant, args.study)]
    print(f"{runs[0].name}: {runs[0].seconds:.1f} s", flush=True)
    datacapt = str(Path(sys.executable).with_name("datacapt"))
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as folder:
        for name in args.formats.split(","):
            kind = ExportFormat(name)
            output = Path(folder) / f"export-{kind.value}{SUFFIXES[kind]}"
            command = [datacapt, "-c", args.config, "export", args.tenant, args.study]
            command += ["--format", kind.value, "-o", str(output)]
            run = measured(kind.value, command, output)
            runs.append(run)
            print(f"{kind.value}: {run.seconds:.1f} s, {run.peak_mb:.0f} MB", flush=True)
            output.unlink()
    print()
    print("| export | wall s | × ceiling | CPU s of the process | peak RSS MB | file MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for run in runs:
        size = f"{run.size_mb:.1f}" if run.size_mb is not None else "–"
        ratio = run.seconds / runs[0].seconds
        print(
            f"| {run.name} | {run.seconds:.1f} | {ratio:.1f} | {run.cpu_seconds:.1f} "
            f"| {run.peak_mb:.0f} | {size} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
