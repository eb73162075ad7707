"""Serving an application with the production gunicorn settings for the length of a scenario."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"


@contextmanager
def serving(target: list[str], port: int, workers: int, probe: str = "/") -> Iterator[str]:
    """Run gunicorn on ``target`` (``["--paste", "x.ini"]`` or ``["module:app"]``) at
    127.0.0.1:``port``; yields the base URL once it answers, stops it afterwards."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    environment = os.environ | {
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
    }
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn with our own arguments
        [str(gunicorn), *target, "-c", str(GUNICORN_CONF), "--log-level", "warning"],
        cwd=ROOT,
        env=environment,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base + probe, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5)  # noqa: S310 - loopback only
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within 60 s")
